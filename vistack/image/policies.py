"""Glance's policy rules, with its secure-RBAC defaults, overridable in policy.yaml.

Targets carry `target.owner` (the image's project) and `target.visibility`; the rule names are
Glance's own (`get_image`, `publicize_image`, …) so an operator's existing policy file applies.
"""

from __future__ import annotations

from vistack.common.policy import RuleDefault

_OWNER_MEMBER = "rule:admin_required or (role:member and project_id:%(target.owner)s)"
_OWNER_READER = "rule:cloud_reader or (role:reader and project_id:%(target.owner)s)"
_ANY_READER = "rule:cloud_reader or role:reader"
_ANY_MEMBER = "rule:admin_required or role:member"


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(f"image:{name}", check, description)


IMAGE_RULES: tuple[RuleDefault, ...] = (
    _rule("add_image", _ANY_MEMBER, "Create an image (owned by the caller's project)."),
    _rule("get_image", _ANY_READER, "Show an image the caller can see."),
    _rule("get_images", _ANY_READER, "List images."),
    _rule("modify_image", _OWNER_MEMBER, "Update an image."),
    _rule("delete_image", _OWNER_MEMBER, "Delete an image."),
    _rule("publicize_image", "rule:admin_required", "Make an image public."),
    _rule("communitize_image", _OWNER_MEMBER, "Make an image community-visible."),
    _rule("set_image_owner", "rule:admin_required", "Create or move an image for a project."),
    _rule("upload_image", _OWNER_MEMBER, "Upload image data."),
    _rule("download_image", _ANY_READER, "Download image data."),
    _rule("stage_image", _OWNER_MEMBER, "Stage image data for import."),
    _rule("import_image", _OWNER_MEMBER, "Import staged or copied image data."),
    _rule("copy_image", "rule:admin_required", "Copy an image to further stores."),
    _rule("delete_image_location", "rule:admin_required", "Delete an image from one store."),
    _rule("deactivate", _OWNER_MEMBER, "Deactivate an image (its owner or an admin)."),
    _rule("reactivate", _OWNER_MEMBER, "Reactivate an image (its owner or an admin)."),
    _rule("add_member", _OWNER_MEMBER, "Share an image with a project."),
    _rule("delete_member", _OWNER_MEMBER, "Stop sharing an image with a project."),
    _rule("get_member", _ANY_READER, "Show an image membership."),
    _rule("get_members", _ANY_READER, "List an image's members."),
    _rule(
        "modify_member",
        "rule:admin_required or (role:member and project_id:%(target.member_id)s)",
        "Accept or reject an image shared with the caller's project.",
    ),
    _rule("get_stores", _ANY_READER, "List the image stores."),
    _rule("get_stores_detail", "rule:admin_required", "Show store details and capacity."),
    _rule("get_usage", _ANY_READER, "Show the caller's project's image quota usage."),
    _rule("get_metadef_namespaces", _ANY_READER, "List metadata definition namespaces."),
    _rule("get_metadef_namespace", _ANY_READER, "Show a metadata definition namespace."),
    _rule("modify_metadef", "rule:admin_required", "Create, update or delete metadefs."),
    # Glance's per-operation metadef rules. Reads are open to any reader (a private namespace
    # stays hidden from other projects whatever these say); writes defer to `modify_metadef`,
    # so one override opens or closes the whole catalogue and each rule can still be set alone.
    *(
        _rule(name, _ANY_READER, description)
        for name, description in (
            ("get_metadef_objects", "List the objects of a metadef namespace."),
            ("get_metadef_object", "Show a metadef object."),
            ("get_metadef_properties", "List the property definitions of a namespace."),
            ("get_metadef_property", "Show a metadef property definition."),
            ("get_metadef_tags", "List the tags of a metadef namespace."),
            ("get_metadef_tag", "Show a metadef tag."),
            ("list_metadef_resource_types", "List the metadef resource types."),
            ("get_metadef_resource_type", "List a namespace's resource type associations."),
        )
    ),
    *(
        _rule(name, "rule:image:modify_metadef", description)
        for name, description in (
            ("add_metadef_namespace", "Create a metadef namespace."),
            ("modify_metadef_namespace", "Update a metadef namespace."),
            ("delete_metadef_namespace", "Delete a namespace, or all its objects or properties."),
            ("add_metadef_object", "Create a metadef object."),
            ("modify_metadef_object", "Update a metadef object."),
            ("delete_metadef_object", "Delete a metadef object."),
            ("add_metadef_property", "Create a metadef property definition."),
            ("modify_metadef_property", "Update a metadef property definition."),
            ("remove_metadef_property", "Delete a metadef property definition."),
            ("add_metadef_tag", "Create a metadef tag."),
            ("add_metadef_tags", "Create, or replace, a namespace's tags."),
            ("modify_metadef_tag", "Rename a metadef tag."),
            ("delete_metadef_tag", "Delete a metadef tag."),
            ("delete_metadef_tags", "Delete all of a namespace's tags."),
            ("add_metadef_resource_type_association", "Associate a namespace with a type."),
            ("remove_metadef_resource_type_association", "Dissociate a namespace from a type."),
        )
    ),
)
