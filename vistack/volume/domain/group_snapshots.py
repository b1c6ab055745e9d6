"""Group snapshots (3.14): one snapshot per member volume, taken together, all or nothing.

A create records the group snapshot and one `creating` snapshot per member (their
`group_snapshot_id` names it) in one transaction that checks the `snapshots` and `gigabytes`
quotas for all of them; a job copies the disks with the volume snapshot machinery
(`VolumeWork.create_snapshot`) and, if one copy fails, removes the ones made for it and leaves
the group snapshot in `error` with the reason (`group_work.py`). A delete removes the members
and then the group snapshot. A member snapshot cannot be deleted on its own (Cinder's rule).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.volume.db import group_queries as gq
from vistack.volume.db import queries
from vistack.volume.db.group_tables import GroupSnapshotRow
from vistack.volume.db.store import VolumeUnit
from vistack.volume.domain import list_scope, listing, requests
from vistack.volume.domain.group_models import (
    G_CREATING,
    GROUP_SNAPSHOT_DELETABLE,
    GROUP_SNAPSHOT_RESETTABLE,
    GS_AVAILABLE,
    GS_CREATING,
    GS_DELETING,
    GroupSnapshot,
    group_snapshot,
)
from vistack.volume.domain.groups import (
    FILTERS,
    GroupService,
    require_available,
    reset_status_of,
    start_delete,
)
from vistack.volume.domain.models import AVAILABLE, CREATING, IN_USE, SNAP_DELETING
from vistack.volume.domain.snapshots import creating_row

SORT_KEYS = ("id", "name", "status", "created_at", "group_id")
GROUP_SNAPSHOT_CREATE = "volume.group_snapshot.create"
GROUP_SNAPSHOT_DELETE = "volume.group_snapshot.delete"


class GroupSnapshotService:
    """The group snapshot resource and its reset_status action."""

    def __init__(self, groups: GroupService, *, has_vcenter: bool) -> None:
        self._groups = groups
        self._store = groups.store
        self._policy = groups.policy
        self._has_vcenter = has_vcenter

    def _authorize(self, rule: str, context: RequestContext, project_id: str) -> None:
        self._policy.authorize(rule, context, {"project_id": project_id})

    def visible(self, unit: VolumeUnit, context: RequestContext, ident: str) -> GroupSnapshotRow:
        """:raises NotFound: no such group snapshot, or another project's."""
        row = gq.group_snapshot(unit, ident)
        if row is None or not self._policy.check(
            "group:get_group_snapshot", context, {"project_id": row.project_id}
        ):
            raise NotFound(f"GroupSnapshot {ident} could not be found.")
        return row

    def sees_project(self, context: RequestContext) -> bool:
        """Whether views show `project_id` (3.58)."""
        return self._policy.check("group:group_snapshot_project_attribute", context, {})

    def get(self, context: RequestContext, ident: str) -> GroupSnapshot:
        with self._store.transaction() as unit:
            return group_snapshot(self.visible(unit, context, ident))

    def list_group_snapshots(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[GroupSnapshot], bool]:
        self._authorize("group:get_all_group_snapshots", context, context.project_id or "")
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self._policy, context, query)
        with self._store.transaction() as unit:
            rows = gq.group_snapshots(unit, project, query.get("group_id") or None)
            found = [group_snapshot(r) for r in rows if list_scope.matches(r, query, FILTERS)]
        return listing.page(found, params, lambda s, key: getattr(s, key), lambda s: s.id)

    # -- create ------------------------------------------------------------------------------

    def create(self, context: RequestContext, body: Any) -> GroupSnapshot:
        """Record the group snapshot and its members and queue the copies.

        :raises BadRequest: no group named, the group not available or a member volume in a
            status other than available or in-use.
        :raises NotFound: no such group.
        :raises QuotaExceeded: the members would pass the snapshots or gigabytes quota.
        """
        fields = requests.body_of(body, "group_snapshot")
        group_id = fields.get("group_id")
        if not isinstance(group_id, str) or not group_id:
            raise BadRequest("Invalid input received: group_id must name a group.")
        name = requests.text("name", fields.get("name"))
        description = requests.text("description", fields.get("description"), limit=65535)
        if not self._has_vcenter:
            raise ServiceUnavailable("No vCenter is configured: snapshots cannot be created.")
        with self._store.transaction() as unit:
            project_id = self._groups.visible(unit, context, group_id).project_id
        self._authorize("group:create_group_snapshot", context, project_id)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            group = self._groups.visible(unit, context, group_id, lock=True)
            require_available(group)
            members = gq.members(unit, group.id)
            for volume in members:
                if volume.status not in (AVAILABLE, IN_USE):
                    raise BadRequest(
                        f"Invalid volume: Volume {volume.id} in group {group.id} status must be "
                        f"available or in-use, but current status is: {volume.status}."
                    )
            if members:
                self._groups.quotas.check(
                    unit,
                    project_id,
                    snapshots=len(members),
                    gigabytes=sum(v.size_gb for v in members),
                )
                sizes = [(v.volume_type_id, v.size_gb) for v in members]
                self._groups.quotas.check_each_type(unit, project_id, sizes, snapshots=True)
            now = utcnow()
            row = GroupSnapshotRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id or "",
                group_id=group.id,
                group_type_id=group.group_type_id,
                name=name,
                description=description,
                status=GS_CREATING if members else GS_AVAILABLE,
                error_message=None,
                created_at=now,
                updated_at=now,
            )
            unit.add(row)
            for volume in members:
                unit.add(
                    creating_row(
                        context,
                        project_id,
                        volume,
                        name=name,
                        description=description,
                        group_snapshot_id=row.id,
                        now=now,
                    )
                )
            unit.flush()
            created = group_snapshot(row)
        if members and self._groups.bus is not None:
            self._groups.bus.submit(GROUP_SNAPSHOT_CREATE, {"group_snapshot_id": created.id})
        return created

    # -- delete and reset --------------------------------------------------------------------

    def delete(self, context: RequestContext, ident: str) -> None:
        """Mark the group snapshot and its members `deleting` and queue their removal.

        :raises BadRequest: not available or error, a group being made from it, or a volume
            being made from one of its snapshots.
        """
        with self._store.transaction() as unit:
            row = self.visible(unit, context, ident)
            self._authorize("group:delete_group_snapshot", context, row.project_id)
            if row.status not in GROUP_SNAPSHOT_DELETABLE:
                raise BadRequest(
                    f"Invalid group snapshot: Group snapshot status must be available or error, "
                    f"but current status is: {row.status}."
                )
            if any(g.status == G_CREATING for g in gq.groups_from_snapshot(unit, row.id)):
                raise BadRequest(
                    f"Invalid group snapshot: a group is being created from group snapshot "
                    f"{row.id}; delete it once that create ends."
                )
            members = gq.snapshot_members(unit, row.id)
            ids = {s.id for s in members}
            busy = [
                v.id
                for v in queries.volumes(unit, None)
                if v.snapshot_id in ids and v.status == CREATING
            ]
            if busy:
                raise BadRequest(
                    f"Invalid group snapshot: volume {busy[0]} is being created from one of its "
                    "snapshots."
                )
            if not start_delete(
                unit, row, members, member_status=SNAP_DELETING, status=GS_DELETING
            ):
                return
        if self._groups.bus is not None:
            self._groups.bus.submit(GROUP_SNAPSHOT_DELETE, {"group_snapshot_id": ident})

    def reset_status(self, context: RequestContext, ident: str, body: Any) -> None:
        """3.19: an administrator sets the group snapshot's status (not its members')."""
        status = reset_status_of(body, GROUP_SNAPSHOT_RESETTABLE)
        with self._store.transaction() as unit:
            row = self.visible(unit, context, ident)
            self._authorize("group:reset_group_snapshot_status", context, row.project_id)
            row.status, row.updated_at = status, utcnow()
