"""The image service: records, visibility, updates, tags, members and quotas.

Policy is checked here rather than in the API layer because most of Glance's rules depend on
the image (its owner and visibility), which only the domain has loaded. An image the caller may
not see is reported as missing (404), never as forbidden, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from vistack.common.policy import PolicyEngine
from vistack.image.domain.models import (
    CORE_ATTRIBUTES,
    Image,
    ListQuery,
    Member,
    MemberStatus,
    Status,
    Usage,
    Visibility,
)
from vistack.image.domain.patch import PatchOp
from vistack.image.domain.ports import ImageRepository, Viewer
from vistack.image.domain.schema import check_value, check_writable

#: Attributes a PATCH may change once data is in (Glance: only while queued otherwise).
QUEUED_ONLY = frozenset({"disk_format", "container_format"})
#: Core attributes a user sets on create or PATCH (the rest are read-only).
WRITABLE_CORE = frozenset(
    {
        "name",
        "visibility",
        "protected",
        "os_hidden",
        "disk_format",
        "container_format",
        "min_disk",
        "min_ram",
        "owner",
    }
)


#: Looks up a project's limit for a resource in Keystone's unified limits: (resource, project)
#: → the project's limit, else the registered default, else None (Glance's unified-limit names;
#: sizes in MiB, as Glance registers them).
LimitSource = Callable[[str, str], int | None]

#: Unified-limit resources that Glance registers in MiB (the rest are counts).
MIB_RESOURCES = frozenset({"image_size_total", "image_stage_total"})
QUOTA_RESOURCES = (
    "image_count_total",
    "image_size_total",
    "image_stage_total",
    "image_count_uploading",
)


@dataclass(frozen=True)
class ImageLimits:
    """Per-project quota (bytes and counts; -1 unlimited) and per-image caps."""

    image_count_total: int = -1
    image_size_total: int = -1
    image_stage_total: int = -1
    image_count_uploading: int = -1
    properties_per_image: int = 128
    tags_per_image: int = 128
    members_per_image: int = 128


MIB = 1 << 20


class ImageService:
    def __init__(
        self,
        repository: ImageRepository,
        policy: PolicyEngine,
        limits: ImageLimits,
        limit_source: LimitSource | None = None,
    ) -> None:
        self._repo = repository
        self._policy = policy
        #: The cloud-wide defaults ([image] options); Keystone limits override them.
        self.limits = limits
        self._limit_source = limit_source
        self._on_delete: list[Callable[[Image], None]] = []

    def on_delete(self, callback: Callable[[Image], None]) -> None:
        """Also call `callback` with every deleted image (its data leaves the stores, its
        templates leave vCenter)."""
        self._on_delete.append(callback)

    # -- policy helpers --------------------------------------------------------------------

    def viewer(self, context: RequestContext) -> Viewer:
        return Viewer(context.project_id, self._policy.check("admin_required", context, {}))

    def authorize(self, rule: str, context: RequestContext, image: Image | None = None) -> None:
        """Check `image:<rule>`; Glance's rules read the image's owner and visibility."""
        if image is None:
            self._policy.authorize(
                f"image:{rule}", context, {"target.project_id": context.project_id}
            )
        else:
            self._authorize_for(rule, context, image.owner, image.visibility)

    def _authorize_for(
        self, rule: str, context: RequestContext, owner: str | None, visibility: str
    ) -> None:
        target: dict[str, Any] = {
            "target.owner": owner or "",
            "target.visibility": visibility,
            "target.project_id": owner or "",
        }
        self._policy.authorize(f"image:{rule}", context, target)

    # -- read ---------------------------------------------------------------------------------

    def get(self, context: RequestContext, image_id: str) -> Image:
        self.authorize("get_image", context)
        return self.visible_image(context, image_id)

    def visible_image(self, context: RequestContext, image_id: str) -> Image:
        """The image if the caller can see it. :raises NotFound: otherwise."""
        image = self._repo.get(image_id)
        if image is None or not self._can_see(context, image):
            raise NotFound(f"No image found with ID {image_id}")
        return image

    def _can_see(self, context: RequestContext, image: Image) -> bool:
        viewer = self.viewer(context)
        if viewer.is_admin or image.owner == context.project_id:
            return True
        if image.visibility in (Visibility.PUBLIC, Visibility.COMMUNITY):
            return True
        if image.visibility == Visibility.SHARED and context.project_id:
            return self._repo.get_member(image.id, context.project_id) is not None
        return False

    def list_images(self, context: RequestContext, query: ListQuery) -> list[Image]:
        self.authorize("get_images", context)
        return self._repo.list_images(query, self.viewer(context))

    # -- create, update, delete ---------------------------------------------------------------

    def create(self, context: RequestContext, fields: dict[str, Any]) -> Image:
        self.authorize("add_image", context)
        values: dict[str, Any] = {}
        properties: dict[str, str] = {}
        tags: list[str] = []
        for name, value in fields.items():
            if name == "tags":
                tags = check_value(name, value)
                continue
            if name == "id":
                values["id"] = check_value(name, value)
                continue
            check_writable(name)
            if name in WRITABLE_CORE:
                values[name] = check_value(name, value)
            else:
                properties[name] = check_value(name, value)
        owner = values.get("owner", context.project_id)
        if owner != context.project_id:
            self._policy.authorize("image:set_image_owner", context, {})
        visibility = values.get("visibility", Visibility.SHARED.value)
        self._check_visibility(context, visibility, owner)
        self._check_caps(properties, tags)
        self._check_count_quota(owner)
        now = utcnow()
        image = Image(
            id=values.get("id") or str(uuid.uuid4()),
            name=values.get("name"),
            owner=owner,
            status=Status.QUEUED.value,
            visibility=visibility,
            protected=values.get("protected", False),
            os_hidden=values.get("os_hidden", False),
            disk_format=values.get("disk_format"),
            container_format=values.get("container_format"),
            size=None,
            virtual_size=None,
            checksum=None,
            os_hash_algo=None,
            os_hash_value=None,
            min_disk=values.get("min_disk", 0),
            min_ram=values.get("min_ram", 0),
            created_at=now,
            updated_at=now,
            properties=properties,
            tags=tags,
        )
        self._repo.create(image)
        return image

    def update(self, context: RequestContext, image_id: str, ops: list[PatchOp]) -> Image:
        image = self.get(context, image_id)
        self.authorize("modify_image", context, image)
        core = {name: getattr(image, name) for name in CORE_ATTRIBUTES}
        properties = dict(image.properties)
        tags = list(image.tags)
        changed_core: dict[str, Any] = {}
        changed_tags = False
        for op in ops:
            name = op.name
            if name == "locations":
                raise Forbidden(
                    "Image locations cannot be changed: vistack stores image data itself."
                )
            if name == "tags":
                if op.op == "remove":
                    raise Forbidden("Attribute 'tags' cannot be removed; replace it with [].")
                tags = check_value(name, op.value)
                changed_tags = True
                continue
            if name == "id":
                raise Forbidden("Attribute 'id' is read-only.")
            check_writable(name)
            if name in WRITABLE_CORE:
                if op.op == "remove":
                    raise Forbidden(
                        f"Attribute '{name}' is a base attribute and cannot be removed."
                    )
                value = check_value(name, op.value)
                if name in QUEUED_ONLY and image.status != Status.QUEUED and value != core[name]:
                    raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
                core[name] = value
                changed_core[name] = value
                continue
            exists = name in properties
            checked = "" if op.op == "remove" else str(check_value(name, op.value))
            if op.op == "remove":
                if not exists:
                    raise Conflict(f"Property {name} does not exist.")
                del properties[name]
            elif op.op == "replace" and not exists:
                raise Conflict(f"Property {name} does not exist.")
            else:
                properties[name] = checked
        if "visibility" in changed_core and changed_core["visibility"] != image.visibility:
            self._check_visibility(context, changed_core["visibility"], image.owner)
        if "owner" in changed_core and changed_core["owner"] != image.owner:
            self._policy.authorize("image:set_image_owner", context, {})
        self._check_caps(properties, tags)
        removed = frozenset(set(image.properties) - set(properties))
        updated = {k: v for k, v in properties.items() if image.properties.get(k) != v}
        result = self._repo.update(
            image_id,
            columns=changed_core,
            set_properties=updated,
            remove_properties=removed,
            tags=tags if changed_tags else None,
        )
        if result is None:
            raise NotFound(f"No image found with ID {image_id}")
        return result

    def delete(self, context: RequestContext, image_id: str) -> None:
        image = self.get(context, image_id)
        self.authorize("delete_image", context, image)
        if image.protected:
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        # An upload in flight notices the row is gone and removes what it wrote itself.
        if not self._repo.delete(image_id):
            raise NotFound(f"No image found with ID {image_id}")
        for callback in self._on_delete:
            callback(image)

    def set_active(self, context: RequestContext, image_id: str, *, active: bool) -> None:
        """Deactivate (`active=False`) or reactivate an image."""
        image = self.get(context, image_id)
        self.authorize("reactivate" if active else "deactivate", context, image)
        wanted = Status.ACTIVE if active else Status.DEACTIVATED
        if image.status == wanted:
            return
        allowed = Status.DEACTIVATED if active else Status.ACTIVE
        if image.status != allowed:
            verb = "reactivate" if active else "deactivate"
            raise Conflict(f"Not allowed to {verb} image in status '{image.status}'")
        result = self._repo.update(
            image_id, columns={"status": wanted.value}, expected_status=frozenset({allowed.value})
        )
        if result is None:
            raise Conflict(f"Image {image_id} changed state; try again.")

    # -- tags ---------------------------------------------------------------------------------

    def add_tag(self, context: RequestContext, image_id: str, tag: str) -> None:
        image = self.get(context, image_id)
        self.authorize("modify_image", context, image)
        check_value("tags", [tag])
        if tag not in image.tags and len(image.tags) >= self.limits.tags_per_image:
            raise PayloadTooLarge(
                f"Maximum number of tags ({self.limits.tags_per_image}) exceeded for this image."
            )
        self._repo.add_tag(image_id, tag)

    def remove_tag(self, context: RequestContext, image_id: str, tag: str) -> None:
        image = self.get(context, image_id)
        self.authorize("modify_image", context, image)
        if not self._repo.remove_tag(image_id, tag):
            raise NotFound(f"Tag {tag} not found on image {image_id}.")

    # -- members ------------------------------------------------------------------------------

    def add_member(self, context: RequestContext, image_id: str, member_id: Any) -> Member:
        image = self.get(context, image_id)
        self.authorize("add_member", context, image)
        if image.owner != context.project_id and not self.viewer(context).is_admin:
            raise Forbidden("Only the image's owner may share it.")
        self._require_shared(image)
        if not isinstance(member_id, str) or not member_id or len(member_id) > 255:
            raise BadRequest("'member' must be a project id (a non-empty string).")
        if self._repo.member_count(image_id) >= self.limits.members_per_image:
            raise PayloadTooLarge(
                f"Maximum number of image members ({self.limits.members_per_image}) exceeded."
            )
        return self._repo.add_member(image_id, member_id)

    def list_members(self, context: RequestContext, image_id: str) -> list[Member]:
        image = self.get(context, image_id)
        self.authorize("get_members", context, image)
        self._require_shared(image)
        members = self._repo.list_members(image_id)
        if image.owner == context.project_id or self.viewer(context).is_admin:
            return members
        # A member sees its own membership only.
        return [m for m in members if m.member_id == context.project_id]

    def get_member(self, context: RequestContext, image_id: str, member_id: str) -> Member:
        image = self.get(context, image_id)
        self.authorize("get_member", context, image)
        self._require_shared(image)
        visible = (
            image.owner == context.project_id
            or member_id == context.project_id
            or self.viewer(context).is_admin
        )
        member = self._repo.get_member(image_id, member_id)
        if member is None or not visible:
            raise NotFound(f"Member {member_id} not found for image {image_id}.")
        return member

    def update_member(
        self, context: RequestContext, image_id: str, member_id: str, status: Any
    ) -> Member:
        image = self.get(context, image_id)
        self._require_shared(image)
        if status not in {s.value for s in MemberStatus}:
            raise BadRequest(
                f"Invalid status {status!r}: it must be one of pending, accepted, rejected."
            )
        member = self._repo.get_member(image_id, member_id)
        if member is None:
            raise NotFound(f"Member {member_id} not found for image {image_id}.")
        if member_id != context.project_id:
            # The owner may not accept on a member's behalf (Glance: 403).
            raise Forbidden("Only the member project itself may change its membership status.")
        self._policy.authorize("image:modify_member", context, {"target.member_id": member_id})
        updated = self._repo.update_member(image_id, member_id, status)
        if updated is None:
            raise NotFound(f"Member {member_id} not found for image {image_id}.")
        return updated

    def delete_member(self, context: RequestContext, image_id: str, member_id: str) -> None:
        image = self.get(context, image_id)
        self.authorize("delete_member", context, image)
        if image.owner != context.project_id and not self.viewer(context).is_admin:
            raise Forbidden("Only the image's owner may stop sharing it.")
        self._require_shared(image)
        if not self._repo.delete_member(image_id, member_id):
            raise NotFound(f"Member {member_id} not found for image {image_id}.")

    @staticmethod
    def _require_shared(image: Image) -> None:
        if image.visibility != Visibility.SHARED:
            raise Forbidden(
                f"Only shared images have members; image {image.id} is {image.visibility}."
            )

    # -- quota --------------------------------------------------------------------------------

    def limits_for(self, project_id: str | None) -> ImageLimits:
        """The quota of one project: Keystone unified limits where registered (the project's
        own limit, else the registered default), the [image] defaults otherwise."""
        if self._limit_source is None or not project_id:
            return self.limits
        found: dict[str, int] = {}
        for resource in QUOTA_RESOURCES:
            value = self._limit_source(resource, project_id)
            if value is None:
                continue
            found[resource] = value * MIB if resource in MIB_RESOURCES and value > 0 else value
        return replace(self.limits, **found) if found else self.limits

    def usage(self, context: RequestContext) -> Usage:
        self.authorize("get_usage", context)
        return self._repo.usage(context.project_id or "")

    def _check_count_quota(self, owner: str | None) -> None:
        limit = self.limits_for(owner).image_count_total
        if limit < 0 or owner is None:
            return
        if self._repo.usage(owner).image_count_total >= limit:
            raise PayloadTooLarge(
                f"Maximum number of images exceeded: the project may own {limit} images."
            )

    def _check_visibility(
        self, context: RequestContext, visibility: str, owner: str | None
    ) -> None:
        """Publishing to everyone is the admin's call; community is the owner's."""
        if visibility == Visibility.PUBLIC:
            self._authorize_for("publicize_image", context, owner, visibility)
        elif visibility == Visibility.COMMUNITY:
            self._authorize_for("communitize_image", context, owner, visibility)

    def _check_caps(self, properties: dict[str, str], tags: list[str]) -> None:
        if len(properties) > self.limits.properties_per_image:
            raise PayloadTooLarge(
                f"Maximum number of image properties ({self.limits.properties_per_image}) exceeded."
            )
        if len(tags) > self.limits.tags_per_image:
            raise PayloadTooLarge(
                f"Maximum number of tags ({self.limits.tags_per_image}) exceeded for this image."
            )
