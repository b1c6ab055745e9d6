"""Generic volume groups (3.13): create, list, show, update (name, description, members),
delete (with or without its volumes), reset_status (3.20), and what vSphere cannot do.

A group is a record here, not a vCenter object: making one checks its group type, its volume
types and the project's `groups` quota in one transaction and it is `available` at once. Its
volumes are ordinary volumes whose `group_id` names it; a delete with `delete-volumes` marks the
group and its volumes `deleting` together and a job removes their disks (`group_work.py`).

vSphere datastores have no array replication, so a group type asking for
`consistent_group_replication_enabled` is refused at group create, and the replication actions
(3.38) answer Cinder's 400 for a group whose type is not a replication type, which here is
every group. Group snapshots copy one disk after another, so a type asking for
`consistent_group_snapshot_enabled` (one point in time across disks) is refused the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.volume.db import group_queries as gq
from vistack.volume.db import queries
from vistack.volume.db.group_tables import GroupRow, GroupTypeRow
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.domain import list_scope, listing, requests
from vistack.volume.domain.group_models import (
    CONSISTENT_SNAPSHOT_SPEC,
    G_AVAILABLE,
    G_DELETING,
    GROUP_DELETABLE,
    GROUP_RESETTABLE,
    REPLICATION_SPEC,
    Group,
    group,
    spec_is_true,
)
from vistack.volume.domain.group_types import GroupTypeService
from vistack.volume.domain.models import (
    ATTACHED,
    AVAILABLE,
    DELETABLE,
    DELETING,
    ERROR,
    ERROR_DELETING,
    IN_USE,
)
from vistack.volume.domain.quotas import QuotaExceeded, VolumeQuotas
from vistack.volume.domain.types import VolumeTypeService

SORT_KEYS = ("id", "name", "status", "created_at", "availability_zone")
#: What a group or group snapshot list filters on (by equality).
FILTERS = ("name", "status")
GROUP_DELETE = "volume.group.delete"
#: Member statuses an update may add (Cinder's) and remove.
ADDABLE = (AVAILABLE, IN_USE)
REMOVABLE = (AVAILABLE, IN_USE, ERROR, ERROR_DELETING)
REPLICATION_ACTIONS = (
    "enable_replication",
    "disable_replication",
    "failover_replication",
    "list_replication_targets",
)


def check_group_quota(quotas: VolumeQuotas, unit: VolumeUnit, project_id: str, wanted: int) -> None:
    """Room for `wanted` more groups; call after `unit.lock_project(project_id)`.

    :raises QuotaExceeded: Cinder's GroupLimitExceeded (413).
    """
    limit = quotas.limits(unit, project_id)["groups"]
    if 0 <= limit < gq.group_count(unit, project_id) + wanted:
        raise QuotaExceeded(
            f"GroupLimitExceeded: Maximum number of groups allowed ({limit}) exceeded for "
            "quota 'groups'."
        )


def record_group(
    unit: VolumeUnit,
    context: RequestContext,
    project_id: str,
    *,
    name: str | None,
    description: str | None,
    status: str,
    zone: str,
    type_id: str,
    type_ids: list[str],
    group_snapshot_id: str | None = None,
    source_group_id: str | None = None,
) -> GroupRow:
    """A new group of `project_id` and the volume types its volumes may have, written (and
    flushed) in `unit`: what a group create and a create-from-src both record."""
    now = utcnow()
    row = GroupRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        user_id=context.user_id or "",
        name=name,
        description=description,
        status=status,
        availability_zone=zone,
        group_type_id=type_id,
        group_snapshot_id=group_snapshot_id,
        source_group_id=source_group_id,
        error_message=None,
        created_at=now,
        updated_at=now,
    )
    unit.add(row)
    unit.flush()
    gq.add_group_volume_types(unit, row.id, type_ids)
    return row


def start_delete(
    unit: VolumeUnit, row: Any, members: Sequence[Any], *, member_status: str, status: str
) -> bool:
    """The start of a group's or group snapshot's delete, its checks passed: an empty one is
    gone at once (False: no job to queue); else it and its members go `deleting` together
    for the job that removes them (True)."""
    if not members:
        unit.delete(row)
        return False
    now = utcnow()
    for member in members:
        member.status, member.updated_at = member_status, now
    row.status, row.updated_at = status, now
    return True


def refuse_unsupported_specs(type_row: GroupTypeRow, specs: dict[str, str]) -> None:
    """A group type asking for what a vSphere datastore cannot give is refused (400)."""
    if spec_is_true(specs.get(REPLICATION_SPEC)):
        raise BadRequest(
            f"Invalid group type: group type {type_row.id} asks for {REPLICATION_SPEC}, and "
            "this cloud's vSphere datastores have no array replication; use a group type "
            "without it."
        )
    if spec_is_true(specs.get(CONSISTENT_SNAPSHOT_SPEC)):
        raise BadRequest(
            f"Invalid group type: group type {type_row.id} asks for {CONSISTENT_SNAPSHOT_SPEC}, "
            "and this cloud copies a group's disks one after another (no single point in time "
            "across disks); use a group type without it."
        )


def visible_group(
    unit: VolumeUnit,
    context: RequestContext,
    policy: PolicyEngine,
    group_id: str,
    *,
    lock: bool = False,
) -> GroupRow:
    """The group if `context` may see it (`group:get`); with `lock`, held until commit.

    :raises NotFound: no such group, or another project's.
    """
    row = gq.group(unit, group_id, lock=lock)
    if row is None or not policy.check("group:get", context, {"project_id": row.project_id}):
        raise NotFound(f"Group {group_id} could not be found.")
    return row


def require_available(row: GroupRow) -> GroupRow:
    """:raises BadRequest: the group is not `available` (what member changes and group
    snapshots need)."""
    if row.status != G_AVAILABLE:
        raise BadRequest(
            f"Invalid group: Group {row.id} status must be available, but current status is: "
            f"{row.status}."
        )
    return row


def reset_status_of(body: Any, allowed: tuple[str, ...]) -> str:
    """The status of a `{"reset_status": {"status": ...}}` body (a group's, 3.20, or a group
    snapshot's, 3.19), lower-cased.

    :raises BadRequest: no status, or one `allowed` does not hold.
    """
    args = body.get("reset_status") if isinstance(body, dict) else None
    status = args.get("status") if isinstance(args, dict) else None
    status = status.lower() if isinstance(status, str) else status
    if status not in allowed:
        raise BadRequest(
            f"Invalid input received: status must be one of {', '.join(allowed)}, not {status!r}."
        )
    return str(status)


def id_list(name: str, value: Any) -> list[str]:
    """`add_volumes` / `remove_volumes`: Cinder's comma-separated ids (a list is taken too)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise BadRequest(f"Invalid input received: {name} must be a comma-separated string of ids.")
    return list(dict.fromkeys(v for v in items if v))


class GroupService:
    """The group resource and its actions."""

    def __init__(
        self,
        store: VolumeStore,
        policy: PolicyEngine,
        settings: VolumeSettings,
        *,
        quotas: VolumeQuotas,
        types: VolumeTypeService,
        group_types: GroupTypeService,
        bus: WorkQueue | None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.settings = settings
        self.quotas = quotas
        self.types = types
        self.group_types = group_types
        self.bus = bus

    # -- visibility --------------------------------------------------------------------------

    def authorize(self, rule: str, context: RequestContext, project_id: str) -> None:
        self.policy.authorize(rule, context, {"project_id": project_id})

    def visible(
        self, unit: VolumeUnit, context: RequestContext, group_id: str, *, lock: bool = False
    ) -> GroupRow:
        """The group if `context` may see it.

        :raises NotFound: no such group, or another project's.
        """
        return visible_group(unit, context, self.policy, group_id, lock=lock)

    def sees_project(self, context: RequestContext) -> bool:
        """Whether views show `project_id` (3.58, `group:group_project_attribute`)."""
        return self.policy.check("group:group_project_attribute", context, {})

    def view(self, unit: VolumeUnit, row: GroupRow) -> Group:
        return group(
            row, gq.group_volume_types(unit, row.id), [v.id for v in gq.members(unit, row.id)]
        )

    def get(self, context: RequestContext, group_id: str) -> Group:
        with self.store.transaction() as unit:
            row = self.visible(unit, context, group_id)
            self.authorize("group:get", context, row.project_id)
            return self.view(unit, row)

    def list_groups(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Group], bool]:
        """The caller's groups (every project's with `all_tenants` for an admin), filtered on
        name and status, sorted and paged as Cinder does."""
        self.authorize("group:get_all", context, context.project_id or "")
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self.policy, context, query)
        with self.store.transaction() as unit:
            rows = gq.groups(unit, project)
            types = gq.all_group_volume_types(unit)
            members = gq.member_ids(unit)
            found = [
                group(r, types.get(r.id, []), members.get(r.id, []))
                for r in rows
                if list_scope.matches(r, query, FILTERS)
            ]
        return listing.page(found, params, lambda g, key: getattr(g, key), lambda g: g.id)

    # -- create ------------------------------------------------------------------------------

    def create(self, context: RequestContext, body: Any) -> Group:
        """Record an `available` group of a group type and the volume types its volumes may
        have.

        :raises BadRequest: no group type or volume types, or a type asking for what vSphere
            cannot do.
        :raises NotFound: a group type or volume type that is not there (or not visible).
        :raises QuotaExceeded: the project's `groups` quota would be passed.
        """
        project_id = context.project_id or ""
        self.authorize("group:create", context, project_id)
        fields = requests.body_of(body, "group")
        type_ref = fields.get("group_type")
        if not isinstance(type_ref, str) or not type_ref:
            raise BadRequest("Invalid input received: group_type must name a group type.")
        refs = fields.get("volume_types")
        if isinstance(refs, str):
            refs = [r.strip() for r in refs.split(",") if r.strip()]
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise BadRequest(
                "Invalid input received: volume_types must be a non-empty list of volume type "
                "names or ids."
            )
        name, description = _name_and_description(fields)
        zone = self._zone(fields.get("availability_zone"))
        with self.store.transaction() as unit:
            type_row = self.group_types.find(unit, context, type_ref)
            refuse_unsupported_specs(type_row, gq.group_specs(unit, type_row.id))
            type_ids = list(dict.fromkeys(self.types.find(unit, context, r).id for r in refs))
            type_id = type_row.id
        self.store.ensure_project(project_id)
        with self.store.transaction() as unit:
            unit.lock_project(project_id)
            check_group_quota(self.quotas, unit, project_id, 1)
            row = record_group(
                unit,
                context,
                project_id,
                name=name,
                description=description,
                status=G_AVAILABLE,
                zone=zone,
                type_id=type_id,
                type_ids=type_ids,
            )
            return group(row, type_ids, [])

    def _zone(self, value: Any) -> str:
        zone = self.settings.default_availability_zone
        if value not in (None, zone):
            raise BadRequest(f"Invalid input received: Availability zone '{value}' is invalid.")
        return zone

    # -- update ------------------------------------------------------------------------------

    def update(self, context: RequestContext, group_id: str, body: Any) -> None:
        """Rename, describe, add and remove members, all or nothing in one transaction.

        :raises BadRequest: nothing to update, the group not `available`, or a volume that
            cannot be added (missing, another project's, wrong status or type, in a group) or
            removed (not a member, wrong status).
        """
        fields = requests.body_of(body, "group")
        add = id_list("add_volumes", fields.get("add_volumes"))
        remove = id_list("remove_volumes", fields.get("remove_volumes"))
        renamed = "name" in fields or "description" in fields
        if not renamed and not add and not remove:
            raise BadRequest(
                "Name, description, add_volumes, and remove_volumes can not be all empty in the "
                "request body."
            )
        both = set(add) & set(remove)
        if both:
            raise BadRequest(
                f"Invalid volume: volume {sorted(both)[0]} is both added to and removed from the "
                "group."
            )
        name, description = _name_and_description(fields)
        with self.store.transaction() as unit:
            row = self.visible(unit, context, group_id, lock=True)
            self.authorize("group:update", context, row.project_id)
            if add or remove:
                require_available(row)
            allowed = gq.group_volume_types(unit, row.id)
            for volume_id in add:
                volume = queries.volume(unit, volume_id, lock=True)
                if volume is None or volume.project_id != row.project_id:
                    raise BadRequest(
                        f"Invalid volume: Cannot add volume {volume_id} to group {row.id} "
                        "because volume cannot be found."
                    )
                if volume.group_id is not None:
                    raise BadRequest(
                        f"Invalid volume: Cannot add volume {volume_id} to group {row.id} "
                        f"because it is already in group {volume.group_id}."
                    )
                if volume.status not in ADDABLE:
                    raise BadRequest(
                        f"Invalid volume: Cannot add volume {volume_id} to group {row.id} "
                        f"because volume is in an invalid state: {volume.status}. Valid "
                        f"states are: {', '.join(ADDABLE)}."
                    )
                if volume.volume_type_id not in allowed:
                    raise BadRequest(
                        f"Invalid volume: Cannot add volume {volume_id} to group {row.id} "
                        f"because volume type {volume.volume_type_id} is not supported by the "
                        "group."
                    )
                volume.group_id, volume.updated_at = row.id, utcnow()
            for volume_id in remove:
                volume = queries.volume(unit, volume_id, lock=True)
                if volume is None or volume.group_id != row.id:
                    raise BadRequest(
                        f"Invalid volume: Cannot remove volume {volume_id} from group {row.id} "
                        "because it is not in the group."
                    )
                if volume.status not in REMOVABLE:
                    raise BadRequest(
                        f"Invalid volume: Cannot remove volume {volume_id} from group {row.id} "
                        f"because volume is in an invalid state: {volume.status}. Valid "
                        f"states are: {', '.join(REMOVABLE)}."
                    )
                volume.group_id, volume.updated_at = None, utcnow()
            if "name" in fields:
                row.name = name
            if "description" in fields:
                row.description = description
            row.updated_at = utcnow()

    # -- delete ------------------------------------------------------------------------------

    def delete(self, context: RequestContext, group_id: str, body: Any) -> None:
        """`{"delete": {"delete-volumes": bool}}`: mark the group (and with the flag its
        volumes) `deleting` and queue the removal of their disks; an empty group goes at once.

        :raises BadRequest: the group in another status than available or error, with group
            snapshots, or with volumes and no flag, or a volume attached, with snapshots or in
            a status a delete may not start from.
        """
        args = body.get("delete") if isinstance(body, dict) else None
        if not isinstance(args, dict):
            raise BadRequest("Invalid input received: 'delete' must be an object.")
        delete_volumes = requests.boolean(
            "delete-volumes", args.get("delete-volumes", args.get("delete_volumes", False))
        )
        with self.store.transaction() as unit:
            row = self.visible(unit, context, group_id, lock=True)
            self.authorize("group:delete", context, row.project_id)
            if row.status not in GROUP_DELETABLE:
                raise BadRequest(
                    f"Invalid group: Group status must be available or error, but current "
                    f"status is: {row.status}."
                )
            if gq.group_snapshots(unit, None, row.id):
                raise BadRequest(
                    f"Invalid group: Group {row.id} has existing group snapshots; delete them "
                    "first."
                )
            members = [
                locked
                for v in gq.members(unit, row.id)
                if (locked := queries.volume(unit, v.id, lock=True)) is not None
            ]
            if members and not delete_volumes:
                raise BadRequest(
                    f"Invalid group: Group {row.id} still contains volumes. The delete-volumes "
                    "flag is required to delete it."
                )
            for volume in members:
                if volume.attach_status == ATTACHED or queries.attachments_of_volume(
                    unit, volume.id
                ):
                    raise BadRequest(
                        f"Invalid group: Volume {volume.id} in group {row.id} is attached. "
                        "Need to detach first."
                    )
                if queries.snapshots(unit, None, volume.id):
                    raise BadRequest(
                        f"Invalid group: Volume {volume.id} in group {row.id} still has "
                        "dependent snapshots."
                    )
                if volume.status not in DELETABLE:
                    raise BadRequest(
                        f"Invalid group: Volume {volume.id} in group {row.id} is "
                        f"{volume.status}; it cannot be deleted now."
                    )
            if not start_delete(unit, row, members, member_status=DELETING, status=G_DELETING):
                return
        if self.bus is not None:
            self.bus.submit(GROUP_DELETE, {"group_id": group_id})

    def reset_status(self, context: RequestContext, group_id: str, body: Any) -> None:
        """3.20: an administrator sets the group's status (the group only, as Cinder)."""
        status = reset_status_of(body, GROUP_RESETTABLE)
        with self.store.transaction() as unit:
            row = self.visible(unit, context, group_id, lock=True)
            self.authorize("group:reset_status", context, row.project_id)
            row.status, row.updated_at = status, utcnow()

    def replication(self, context: RequestContext, group_id: str, action: str) -> None:
        """3.38's replication actions: Cinder's 400 for a group whose type is not a
        replication type, which every group is here (see the module docstring).

        :raises NotFound: no such group.
        :raises BadRequest: always, saying why.
        """
        with self.store.transaction() as unit:
            row = self.visible(unit, context, group_id)
        self.authorize(f"group:{action}", context, row.project_id)
        raise BadRequest(
            f"Invalid group type: Group {row.id} is not a replication group type: this cloud's "
            f"vSphere datastores have no array replication, so {action} cannot be done."
        )


def _name_and_description(fields: dict[str, Any]) -> tuple[str | None, str | None]:
    name = requests.text("name", fields.get("name"))
    description = requests.text("description", fields.get("description"), limit=65535)
    return (
        name.strip() if name else name,
        description.strip() if description else description,
    )


def check_new_member(
    unit: VolumeUnit,
    context: RequestContext,
    policy: PolicyEngine,
    group_id: str,
    volume_type_id: str,
) -> str:
    """A volume created with `group_id` (3.13): the group must be the caller's to see,
    `available`, and allow the volume's type. Returns the group id.

    :raises NotFound: no such group.
    :raises BadRequest: the group is not available or does not allow the type.
    """
    # Locked: a delete of the group waits, or is seen.
    row = require_available(visible_group(unit, context, policy, group_id, lock=True))
    if volume_type_id not in gq.group_volume_types(unit, row.id):
        raise BadRequest(
            f"Invalid input received: Invalid volume_type provided: {volume_type_id} (requested "
            "type must be supported by this group)."
        )
    return row.id
