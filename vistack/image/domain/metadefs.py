"""Metadata definitions (metadefs): a catalogue of the metadata keys resources understand.

A namespace groups property definitions (JSON-schema fragments for one key each), objects
(named groups of such properties), tags, and the resource types it applies to. Nothing here
stores metadata *values*: Horizon reads the catalogue to build its "Update Metadata" forms, and
the values land on the image or flavor through their own APIs.

Rules, as Glance applies them:

- a private namespace is seen only by its owner project and administrators; to anyone else it
  does not exist (404), so names cannot be probed;
- policy is checked after the namespace is found, because a rule may depend on its owner;
  changing the catalogue is admin-only by default, reading it is open to any reader;
- a protected namespace cannot be deleted, nor can anything in it (403). It can still be
  updated: that is how its protection is turned off;
- a resource type named in an association is created on first use, as Glance does.

The seed catalogue (`vistack/image/metadefs/seed/*.json`) is loaded at every start. It only
ever adds what is missing, and the unique constraints make two processes starting at once on
one database safe: whichever inserts second gets a conflict, which is ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.common.policy import PolicyEngine
from vistack.image.domain.ports import Viewer
from vistack.image.metadefs import schemas

LOG = logging.getLogger(__name__)

#: The resource types every cloud knows, created (protected) at start.
STANDARD_RESOURCE_TYPES = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
)
NAMESPACE_SORT_KEYS = frozenset(
    {"namespace", "display_name", "visibility", "protected", "owner", "created_at", "updated_at"}
)
CHILD_SORT_KEYS = frozenset({"name", "created_at", "updated_at"})
SEED_PACKAGE = "vistack.image.metadefs"


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Association:
    """A namespace applies to `name`; its property names take `prefix` there."""

    name: str
    prefix: str | None
    properties_target: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Namespace:
    namespace: str
    display_name: str | None
    description: str | None
    visibility: str
    protected: bool
    owner: str | None
    created_at: datetime
    updated_at: datetime
    associations: tuple[Association, ...] = ()


@dataclass(frozen=True)
class PropertyDefinition:
    """One metadata key: `schema` is its JSON-schema fragment (type, title, enum, …)."""

    name: str
    schema: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MetadefObject:
    """A named group of property definitions, e.g. the CPU shares of a flavor."""

    name: str
    description: str | None
    required: tuple[str, ...]
    properties: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Tag:
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ResourceType:
    name: str
    protected: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NamespaceContents:
    """A namespace with everything in it, as a create takes it and a show returns it."""

    namespace: Namespace
    properties: tuple[PropertyDefinition, ...] = ()
    objects: tuple[MetadefObject, ...] = ()
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True)
class Page:
    """Order and window of a list; `marker` names the last item of the previous page."""

    sort_key: str = "created_at"
    sort_dir: str = "desc"
    limit: int | None = None
    marker: str | None = None


@dataclass(frozen=True)
class NamespaceQuery:
    page: Page = field(default_factory=Page)
    visibility: str | None = None
    #: Namespaces associated with any of these resource types; empty means no filter.
    resource_types: tuple[str, ...] = ()


# -- persistence port ------------------------------------------------------------------------


class MetadefRepository(Protocol):
    """Namespaces are addressed by name; children by (namespace name, their name)."""

    def list_namespaces(self, query: NamespaceQuery, viewer: Viewer) -> list[Namespace]:
        """:raises BadRequest: the marker is not a namespace this viewer can see."""

    def get_namespace(self, name: str) -> Namespace | None: ...

    def get_contents(self, name: str) -> NamespaceContents | None: ...

    def create_namespace(self, contents: NamespaceContents) -> None:
        """Everything in one transaction. :raises Conflict: a name is taken."""

    def update_namespace(self, name: str, values: Mapping[str, Any]) -> Namespace | None:
        """Set columns (a new `namespace` renames it). :raises Conflict: the name is taken."""

    def delete_namespace(self, name: str) -> bool:
        """Delete it with everything in it."""

    def list_objects(self, namespace: str, page: Page) -> list[MetadefObject]: ...

    def get_object(self, namespace: str, name: str) -> MetadefObject | None: ...

    def add_object(self, namespace: str, item: MetadefObject) -> None:
        """:raises Conflict: the name is taken. :raises NotFound: the namespace is gone."""

    def replace_object(self, namespace: str, name: str, item: MetadefObject) -> bool:
        """:raises Conflict: renamed onto a taken name."""

    def delete_object(self, namespace: str, name: str) -> bool: ...

    def delete_objects(self, namespace: str) -> None: ...

    def list_properties(self, namespace: str) -> list[PropertyDefinition]: ...

    def get_property(self, namespace: str, name: str) -> PropertyDefinition | None: ...

    def add_property(self, namespace: str, item: PropertyDefinition) -> None:
        """:raises Conflict: the name is taken. :raises NotFound: the namespace is gone."""

    def replace_property(self, namespace: str, name: str, item: PropertyDefinition) -> bool:
        """:raises Conflict: renamed onto a taken name."""

    def delete_property(self, namespace: str, name: str) -> bool: ...

    def delete_properties(self, namespace: str) -> None: ...

    def list_tags(self, namespace: str, page: Page) -> list[Tag]: ...

    def get_tag(self, namespace: str, name: str) -> Tag | None: ...

    def add_tags(self, namespace: str, tags: list[Tag], *, replace: bool) -> None:
        """Add `tags` (after deleting every other tag when `replace`), all or none.

        :raises Conflict: a name is taken. :raises NotFound: the namespace is gone.
        """

    def rename_tag(self, namespace: str, name: str, new_name: str) -> Tag | None:
        """:raises Conflict: the new name is taken."""

    def delete_tag(self, namespace: str, name: str) -> bool: ...

    def delete_tags(self, namespace: str) -> None: ...

    def list_resource_types(self) -> list[ResourceType]: ...

    def ensure_resource_types(self, names: Iterable[str], *, protected: bool) -> None:
        """Create those missing; one created meanwhile by another process is fine."""

    def associate(self, namespace: str, association: Association) -> None:
        """:raises Conflict: already associated. :raises NotFound: namespace or type gone."""

    def dissociate(self, namespace: str, resource_type: str) -> bool: ...


# -- the service -----------------------------------------------------------------------------


class MetadefService:
    """Every metadef operation, with Glance's policy names (`image:add_metadef_object`, …)."""

    def __init__(self, repository: MetadefRepository, policy: PolicyEngine) -> None:
        self._repo = repository
        self._policy = policy

    # -- access ----------------------------------------------------------------------------

    def viewer(self, context: RequestContext) -> Viewer:
        return Viewer(context.project_id, self._policy.check("admin_required", context, {}))

    def _authorize(
        self, rule: str, context: RequestContext, namespace: Namespace | None = None
    ) -> None:
        target: dict[str, Any] = {"target.project_id": context.project_id or ""}
        if namespace is not None:
            target = {
                "target.owner": namespace.owner or "",
                "target.project_id": namespace.owner or "",
                "target.visibility": namespace.visibility,
                "target.namespace": namespace.namespace,
            }
        self._policy.authorize(f"image:{rule}", context, target)

    def _visible(self, context: RequestContext, name: str) -> Namespace:
        """The namespace if the caller may see it. :raises NotFound: otherwise."""
        namespace = self._repo.get_namespace(name)
        if namespace is None or not self._can_see(context, namespace):
            raise NotFound(f"Metadata definition namespace {name} was not found.")
        return namespace

    def _can_see(self, context: RequestContext, namespace: Namespace) -> bool:
        if namespace.visibility == "public" or namespace.owner is None:
            return True
        if context.project_id is not None and namespace.owner == context.project_id:
            return True
        return self.viewer(context).is_admin

    def _writable(self, rule: str, context: RequestContext, name: str) -> Namespace:
        namespace = self._visible(context, name)
        self._authorize(rule, context, namespace)
        return namespace

    @staticmethod
    def _unprotected(namespace: Namespace, what: str) -> None:
        if namespace.protected:
            raise Forbidden(
                f"Namespace {namespace.namespace} is protected: {what} cannot be deleted. "
                "Set protected to false first."
            )

    def _check_owner(self, context: RequestContext, owner: str | None) -> None:
        """Only an administrator may give a namespace to another project (Glance: 403)."""
        if owner != context.project_id and not self.viewer(context).is_admin:
            raise Forbidden(f"You are not permitted to create or move a namespace to {owner}.")

    # -- namespaces ------------------------------------------------------------------------

    def list_namespaces(self, context: RequestContext, query: NamespaceQuery) -> list[Namespace]:
        self._authorize("get_metadef_namespaces", context)
        return self._repo.list_namespaces(query, self.viewer(context))

    def show_namespace(
        self, context: RequestContext, name: str, resource_type: str | None = None
    ) -> NamespaceContents:
        """The namespace with its contents; with `resource_type`, property names carry the
        prefix of that association, as they must be set on such a resource."""
        namespace = self._visible(context, name)
        self._authorize("get_metadef_namespace", context, namespace)
        contents = self._repo.get_contents(name)
        if contents is None:
            raise NotFound(f"Metadata definition namespace {name} was not found.")
        prefix = _prefix_for(contents.namespace, resource_type)
        return _prefixed(contents, prefix) if prefix else contents

    def create_namespace(self, context: RequestContext, body: Any) -> NamespaceContents:
        self._authorize("add_metadef_namespace", context)
        fields = schemas.check_body(body, schemas.namespace_schema(), "namespace")
        owner = fields.get("owner", context.project_id)
        self._check_owner(context, owner)
        contents = contents_from_body(fields, owner)
        # What comes inline must be allowed on its own too, as in Glance: an operator who lets
        # projects create namespaces but not tags gets 403 for a namespace carrying tags.
        for rule, present in (
            ("add_metadef_property", contents.properties),
            ("add_metadef_object", contents.objects),
            ("add_metadef_tag", contents.tags),
            ("add_metadef_resource_type_association", contents.namespace.associations),
        ):
            if present:
                self._authorize(rule, context, contents.namespace)
        self._repo.ensure_resource_types(
            (a.name for a in contents.namespace.associations), protected=False
        )
        self._repo.create_namespace(contents)
        return contents

    def update_namespace(self, context: RequestContext, name: str, body: Any) -> NamespaceContents:
        """Change the namespace's own attributes; `namespace` (required) may rename it.

        An attribute the body leaves out keeps its value (send null to clear a text). Glance
        resets omitted ones to their create defaults instead, but openstacksdk and the
        `openstack image metadef namespace set` command send only what changes: there, Glance's
        rule turns `set --unprotected` on a public namespace into "make it private and drop its
        description". glanceclient, Horizon and Tempest send every attribute, so they see no
        difference. Properties, objects and tags in the body are ignored, as in Glance: clients
        send back what they read, and those have endpoints of their own.
        """
        namespace = self._writable("modify_metadef_namespace", context, name)
        fields = schemas.check_body(body, schemas.namespace_schema(), "namespace")
        owner = fields.get("owner", namespace.owner)
        if owner != namespace.owner:
            self._check_owner(context, owner)
        values = {
            "namespace": fields["namespace"],
            "display_name": fields.get("display_name", namespace.display_name),
            "description": fields.get("description", namespace.description),
            "visibility": fields.get("visibility", namespace.visibility),
            "protected": fields.get("protected", namespace.protected),
            "owner": owner,
        }
        if self._repo.update_namespace(name, values) is None:
            raise NotFound(f"Metadata definition namespace {name} was not found.")
        return self.show_namespace(context, values["namespace"])

    def delete_namespace(self, context: RequestContext, name: str) -> None:
        namespace = self._writable("delete_metadef_namespace", context, name)
        if namespace.protected:
            raise Forbidden(
                f"Namespace {name} is protected and cannot be deleted. "
                "Set protected to false first."
            )
        self._repo.delete_namespace(name)

    # -- objects ---------------------------------------------------------------------------

    def list_objects(self, context: RequestContext, name: str, page: Page) -> list[MetadefObject]:
        self._authorize("get_metadef_objects", context, self._visible(context, name))
        return self._repo.list_objects(name, page)

    def get_object(self, context: RequestContext, name: str, object_name: str) -> MetadefObject:
        self._authorize("get_metadef_object", context, self._visible(context, name))
        return self._object(name, object_name)

    def _object(self, name: str, object_name: str) -> MetadefObject:
        item = self._repo.get_object(name, object_name)
        if item is None:
            raise NotFound(f"Metadata definition object {object_name} not found in {name}.")
        return item

    def create_object(self, context: RequestContext, name: str, body: Any) -> MetadefObject:
        self._writable("add_metadef_object", context, name)
        item = object_from_body(schemas.check_body(body, schemas.object_schema(), "object"))
        self._repo.add_object(name, item)
        return item

    def update_object(
        self, context: RequestContext, name: str, object_name: str, body: Any
    ) -> MetadefObject:
        """Rename or change an object; what the body leaves out keeps its value, for the
        same reason as in `update_namespace`."""
        self._writable("modify_metadef_object", context, name)
        current = self._object(name, object_name)
        fields = schemas.check_body(body, schemas.object_schema(), "object")
        merged = {
            "description": current.description,
            "required": list(current.required),
            "properties": current.properties,
            **fields,
        }
        item = replace(object_from_body(merged), created_at=current.created_at)
        if not self._repo.replace_object(name, object_name, item):
            raise NotFound(f"Metadata definition object {object_name} not found in {name}.")
        return item

    def delete_object(self, context: RequestContext, name: str, object_name: str) -> None:
        namespace = self._writable("delete_metadef_object", context, name)
        self._object(name, object_name)
        self._unprotected(namespace, f"object {object_name}")
        self._repo.delete_object(name, object_name)

    def delete_objects(self, context: RequestContext, name: str) -> None:
        """Glance guards "delete every object" with the namespace's delete rule."""
        namespace = self._writable("delete_metadef_namespace", context, name)
        self._unprotected(namespace, "its objects")
        self._repo.delete_objects(name)

    # -- properties ------------------------------------------------------------------------

    def list_properties(self, context: RequestContext, name: str) -> list[PropertyDefinition]:
        self._authorize("get_metadef_properties", context, self._visible(context, name))
        return self._repo.list_properties(name)

    def get_property(
        self,
        context: RequestContext,
        name: str,
        property_name: str,
        resource_type: str | None = None,
    ) -> PropertyDefinition:
        """With `resource_type`, `property_name` is the prefixed key (`hw_cpu_cores`) as set on
        that kind of resource; the prefix is removed before the lookup."""
        namespace = self._visible(context, name)
        self._authorize("get_metadef_property", context, namespace)
        if resource_type:
            association = next((a for a in namespace.associations if a.name == resource_type), None)
            if association is None:
                raise NotFound(f"Namespace {name} is not associated with {resource_type}.")
            prefix = association.prefix or ""
            if not property_name.startswith(prefix):
                raise NotFound(
                    f"Property {property_name} does not start with the prefix {prefix!r} "
                    f"of the {resource_type} association."
                )
            property_name = property_name[len(prefix) :]
        return self._property(name, property_name)

    def _property(self, name: str, property_name: str) -> PropertyDefinition:
        item = self._repo.get_property(name, property_name)
        if item is None:
            raise NotFound(f"Metadata definition property {property_name} not found in {name}.")
        return item

    def create_property(self, context: RequestContext, name: str, body: Any) -> PropertyDefinition:
        self._writable("add_metadef_property", context, name)
        item = property_from_body(schemas.check_body(body, schemas.property_schema(), "property"))
        self._repo.add_property(name, item)
        return item

    def update_property(
        self, context: RequestContext, name: str, property_name: str, body: Any
    ) -> PropertyDefinition:
        self._writable("modify_metadef_property", context, name)
        current = self._property(name, property_name)
        fields = schemas.check_body(body, schemas.property_schema(), "property")
        item = replace(property_from_body(fields), created_at=current.created_at)
        if not self._repo.replace_property(name, property_name, item):
            raise NotFound(f"Metadata definition property {property_name} not found in {name}.")
        return item

    def delete_property(self, context: RequestContext, name: str, property_name: str) -> None:
        namespace = self._writable("remove_metadef_property", context, name)
        self._property(name, property_name)
        self._unprotected(namespace, f"property {property_name}")
        self._repo.delete_property(name, property_name)

    def delete_properties(self, context: RequestContext, name: str) -> None:
        """Glance guards "delete every property" with the namespace's delete rule."""
        namespace = self._writable("delete_metadef_namespace", context, name)
        self._unprotected(namespace, "its properties")
        self._repo.delete_properties(name)

    # -- tags ------------------------------------------------------------------------------

    def list_tags(self, context: RequestContext, name: str, page: Page) -> list[Tag]:
        self._authorize("get_metadef_tags", context, self._visible(context, name))
        return self._repo.list_tags(name, page)

    def get_tag(self, context: RequestContext, name: str, tag_name: str) -> Tag:
        self._authorize("get_metadef_tag", context, self._visible(context, name))
        return self._tag(name, tag_name)

    def _tag(self, name: str, tag_name: str) -> Tag:
        tag = self._repo.get_tag(name, tag_name)
        if tag is None:
            raise NotFound(f"Metadata definition tag {tag_name} not found in {name}.")
        return tag

    def create_tags(
        self, context: RequestContext, name: str, body: Any, *, append: bool
    ) -> list[Tag]:
        """Replace the namespace's tags with these, or add them with `append`
        (`X-Openstack-Append: true`). An empty list changes nothing, as in Glance."""
        self._writable("add_metadef_tags", context, name)
        fields = schemas.check_body(body, schemas.tags_schema(), "tags")
        if "tags" not in fields:
            raise BadRequest('The body must list the tags to create: {"tags": [...]}.')
        now = utcnow()
        tags = [Tag(t["name"], now, now) for t in fields["tags"]]
        _no_duplicates("tag", [t.name for t in tags])
        if tags:
            self._repo.add_tags(name, tags, replace=not append)
        return tags

    def create_tag(self, context: RequestContext, name: str, tag_name: str) -> Tag:
        self._writable("add_metadef_tag", context, name)
        schemas.check({"name": tag_name}, schemas.tag_schema(), "tag")
        now = utcnow()
        tag = Tag(tag_name, now, now)
        self._repo.add_tags(name, [tag], replace=False)
        return tag

    def rename_tag(self, context: RequestContext, name: str, tag_name: str, body: Any) -> Tag:
        self._writable("modify_metadef_tag", context, name)
        self._tag(name, tag_name)
        fields = schemas.check_body(body, schemas.tag_schema(), "tag")
        tag = self._repo.rename_tag(name, tag_name, fields["name"])
        if tag is None:
            raise NotFound(f"Metadata definition tag {tag_name} not found in {name}.")
        return tag

    def delete_tag(self, context: RequestContext, name: str, tag_name: str) -> None:
        namespace = self._writable("delete_metadef_tag", context, name)
        self._tag(name, tag_name)
        self._unprotected(namespace, f"tag {tag_name}")
        self._repo.delete_tag(name, tag_name)

    def delete_tags(self, context: RequestContext, name: str) -> None:
        namespace = self._writable("delete_metadef_tags", context, name)
        self._unprotected(namespace, "its tags")
        self._repo.delete_tags(name)

    # -- resource types --------------------------------------------------------------------

    def list_resource_types(self, context: RequestContext) -> list[ResourceType]:
        self._authorize("list_metadef_resource_types", context)
        return self._repo.list_resource_types()

    def list_associations(self, context: RequestContext, name: str) -> list[Association]:
        namespace = self._visible(context, name)
        self._authorize("get_metadef_resource_type", context, namespace)
        return list(namespace.associations)

    def associate(self, context: RequestContext, name: str, body: Any) -> Association:
        self._writable("add_metadef_resource_type_association", context, name)
        fields = schemas.check_body(body, schemas.resource_type_schema(), "resource type")
        association = association_from_body(fields, utcnow())
        self._repo.ensure_resource_types([association.name], protected=False)
        self._repo.associate(name, association)
        return association

    def dissociate(self, context: RequestContext, name: str, resource_type: str) -> None:
        namespace = self._writable("remove_metadef_resource_type_association", context, name)
        if all(a.name != resource_type for a in namespace.associations):
            raise NotFound(f"Namespace {name} is not associated with {resource_type}.")
        self._unprotected(namespace, f"its association with {resource_type}")
        if not self._repo.dissociate(name, resource_type):
            raise NotFound(f"Namespace {name} is not associated with {resource_type}.")

    # -- seed catalogue --------------------------------------------------------------------

    def load_seed(self, documents: Iterable[Mapping[str, Any]] | None = None) -> list[str]:
        """Add the standard resource types and every seed namespace not there yet.

        Returns the namespaces created. Existing ones are left alone, whatever an operator did
        to them; one created by another process meanwhile is a conflict, and ignored.
        """
        self._repo.ensure_resource_types(STANDARD_RESOURCE_TYPES, protected=True)
        created: list[str] = []
        for document in seed_documents() if documents is None else documents:
            fields = dict(document)
            schemas.check_body(fields, schemas.namespace_schema(), "seed namespace")
            contents = contents_from_body(fields, fields.get("owner"))
            name = contents.namespace.namespace
            if self._repo.get_namespace(name) is not None:
                continue
            self._repo.ensure_resource_types(
                (a.name for a in contents.namespace.associations), protected=False
            )
            try:
                self._repo.create_namespace(contents)
            except Conflict:
                LOG.debug("seed namespace %s was created by another process", name)
                continue
            created.append(name)
        if created:
            LOG.info("loaded metadata definitions: %s", ", ".join(created))
        return created


def seed_documents() -> list[dict[str, Any]]:
    """The namespaces shipped in `vistack/image/metadefs/seed/`, in file name order."""
    folder = resources.files(SEED_PACKAGE).joinpath("seed")
    documents: list[dict[str, Any]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            documents.append(json.loads(entry.read_text(encoding="utf-8")))
    return documents


# -- bodies → values (already checked against their schema) ------------------------------------


def contents_from_body(fields: Mapping[str, Any], owner: str | None) -> NamespaceContents:
    now = utcnow()
    associations = [
        association_from_body(a, now) for a in fields.get("resource_type_associations", [])
    ]
    properties = [
        PropertyDefinition(name, _fragment(schema), now, now)
        for name, schema in fields.get("properties", {}).items()
    ]
    objects = [object_from_body(o, now) for o in fields.get("objects", [])]
    tags = [Tag(t["name"], now, now) for t in fields.get("tags", [])]
    _no_duplicates("resource type association", [a.name for a in associations])
    _no_duplicates("object", [o.name for o in objects])
    _no_duplicates("tag", [t.name for t in tags])
    namespace = Namespace(
        namespace=fields["namespace"],
        display_name=fields.get("display_name"),
        description=fields.get("description"),
        visibility=fields.get("visibility", "private"),
        protected=fields.get("protected", False),
        owner=owner,
        created_at=now,
        updated_at=now,
        associations=tuple(associations),
    )
    return NamespaceContents(namespace, tuple(properties), tuple(objects), tuple(tags))


def association_from_body(fields: Mapping[str, Any], now: datetime) -> Association:
    return Association(
        name=fields["name"],
        prefix=fields.get("prefix"),
        properties_target=fields.get("properties_target"),
        created_at=now,
        updated_at=now,
    )


def object_from_body(fields: Mapping[str, Any], now: datetime | None = None) -> MetadefObject:
    now = now or utcnow()
    return MetadefObject(
        name=fields["name"],
        description=fields.get("description"),
        required=tuple(fields.get("required", ())),
        properties={k: _fragment(v) for k, v in fields.get("properties", {}).items()},
        created_at=now,
        updated_at=now,
    )


def property_from_body(fields: Mapping[str, Any]) -> PropertyDefinition:
    now = utcnow()
    return PropertyDefinition(fields["name"], _fragment(fields), now, now)


def _fragment(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A property's JSON-schema fragment as stored: its name is the key, not a field."""
    return {k: v for k, v in schema.items() if k != "name"}


def _no_duplicates(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise Conflict(f"Duplicate {what} {name!r} in the request.")
        seen.add(name)


# -- resource type prefixes --------------------------------------------------------------------


def _prefix_for(namespace: Namespace, resource_type: str | None) -> str:
    if not resource_type:
        return ""
    for association in namespace.associations:
        if association.name == resource_type:
            return association.prefix or ""
    return ""


def _prefixed(contents: NamespaceContents, prefix: str) -> NamespaceContents:
    properties = tuple(replace(p, name=prefix + p.name) for p in contents.properties)
    objects = tuple(
        replace(
            o,
            properties={prefix + k: v for k, v in o.properties.items()},
            required=tuple(prefix + r for r in o.required),
        )
        for o in contents.objects
    )
    return replace(contents, properties=properties, objects=objects)
