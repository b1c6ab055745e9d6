"""create-from-src (3.14): a new group whose volumes are copies of a group snapshot's
snapshots or of another group's volumes.

The group (`creating`), its volume types (the source group's) and one `creating` volume per
source are recorded in one transaction under the project's lock, checked against the `groups`,
`volumes` and `gigabytes` quotas together; a job builds the disks one after another with the
volume build (`VolumeWork.build`) and makes the group `available`, or, when one build fails,
removes every volume made for it and leaves the group in `error` (`group_work.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, ServiceUnavailable
from vistack.volume.db import group_queries as gq
from vistack.volume.db import queries
from vistack.volume.db.group_tables import GroupRow
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import requests
from vistack.volume.domain.group_models import G_AVAILABLE, G_CREATING, GS_AVAILABLE, Group, group
from vistack.volume.domain.group_snapshots import GroupSnapshotService
from vistack.volume.domain.groups import GroupService, check_group_quota, record_group
from vistack.volume.domain.models import AVAILABLE, CREATING, DETACHED, IN_USE, SNAP_AVAILABLE

GROUP_BUILD = "volume.group.build"


@dataclass(frozen=True)
class Copy:
    """One volume of the new group: the disk it copies and what it inherits."""

    path: str
    size_gb: int
    volume_type_id: str
    name: str | None
    description: str | None
    bootable: bool
    image_id: str | None
    image_metadata: dict[str, str] | None
    snapshot_id: str | None = None
    source_volid: str | None = None

    @classmethod
    def of(
        cls,
        volume: VolumeRow,
        path: str,
        size_gb: int,
        *,
        snapshot_id: str | None = None,
        source_volid: str | None = None,
    ) -> Copy:
        """A copy of `path` (a member snapshot's disk, or the source volume's own) that
        inherits the source volume's type, name, description, bootable flag and image."""
        return cls(
            path=path,
            size_gb=size_gb,
            volume_type_id=volume.volume_type_id,
            name=volume.name,
            description=volume.description,
            bootable=volume.bootable,
            image_id=volume.image_id,
            image_metadata=_plain(volume.image_metadata),
            snapshot_id=snapshot_id,
            source_volid=source_volid,
        )


class GroupFromSource:
    """The `create-from-src` action of `/groups/action`."""

    def __init__(
        self, groups: GroupService, snapshots: GroupSnapshotService, *, has_vcenter: bool
    ) -> None:
        self._groups = groups
        self._snapshots = snapshots
        self._store = groups.store
        self._has_vcenter = has_vcenter

    def create(self, context: RequestContext, body: Any) -> Group:
        """:raises BadRequest: both or neither source, a source not available or empty.
        :raises NotFound: the source is not there (or another project's).
        :raises QuotaExceeded: the group or its volumes would pass a quota.
        """
        args = body.get("create-from-src") if isinstance(body, dict) else None
        if not isinstance(args, dict):
            raise BadRequest("Invalid input received: missing 'create-from-src' in request body.")
        snapshot_id = args.get("group_snapshot_id")
        source_id = args.get("source_group_id")
        if snapshot_id and source_id:
            raise BadRequest(
                "Invalid input received: give group_snapshot_id or source_group_id, not both."
            )
        if not snapshot_id and not source_id:
            raise BadRequest(
                "Invalid input received: either group_snapshot_id or source_group_id must be given."
            )
        for key, value in (("group_snapshot_id", snapshot_id), ("source_group_id", source_id)):
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"Invalid input received: {key} must be a string id.")
        name = requests.text("name", args.get("name"))
        description = requests.text("description", args.get("description"), limit=65535)
        project_id = context.project_id or ""
        self._groups.authorize("group:create", context, project_id)
        if not self._has_vcenter:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be created.")
        with self._store.transaction() as unit:
            if snapshot_id:
                origin, copies = self._from_snapshot(unit, context, snapshot_id)
            else:
                origin, copies = self._from_group(unit, context, str(source_id))
            type_ids = gq.group_volume_types(unit, origin.id)
            type_id, zone = origin.group_type_id, origin.availability_zone
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            check_group_quota(self._groups.quotas, unit, project_id, 1)
            self._groups.quotas.check(
                unit,
                project_id,
                volumes=len(copies),
                gigabytes=sum(c.size_gb for c in copies),
                volume_size=max(c.size_gb for c in copies),
            )
            self._groups.quotas.check_each_type(
                unit, project_id, [(c.volume_type_id, c.size_gb) for c in copies]
            )
            row = record_group(
                unit,
                context,
                project_id,
                name=name.strip() if name else name,
                description=description,
                status=G_CREATING,
                zone=zone,
                type_id=type_id,
                type_ids=type_ids,
                group_snapshot_id=snapshot_id or None,
                source_group_id=source_id or None,
            )
            jobs: list[list[object]] = []
            volume_ids: list[str] = []
            for copy in copies:
                volume = _volume_row(context, row, copy)
                unit.add(volume)
                jobs.append([volume.id, copy.path, copy.size_gb])
                volume_ids.append(volume.id)
            unit.flush()
            made = group(row, type_ids, volume_ids)
        if self._groups.bus is not None:
            self._groups.bus.submit(GROUP_BUILD, {"group_id": made.id, "volumes": jobs})
        return made

    def _from_snapshot(
        self, unit: VolumeUnit, context: RequestContext, ident: str
    ) -> tuple[GroupRow, list[Copy]]:
        snapshot = self._snapshots.visible(unit, context, ident)
        if snapshot.status != GS_AVAILABLE:
            raise BadRequest(
                f"Invalid group snapshot: Group snapshot {ident} status must be available, but "
                f"current status is: {snapshot.status}."
            )
        members = gq.snapshot_members(unit, snapshot.id)
        if not members:
            raise BadRequest("Invalid group: Group snapshot is empty. No group will be created.")
        origin = gq.group(unit, snapshot.group_id)
        if origin is None:
            raise BadRequest(f"Invalid group snapshot: its group {snapshot.group_id} is gone.")
        copies = []
        for member in members:
            volume = queries.volume(unit, member.volume_id)
            if member.status != SNAP_AVAILABLE or member.path is None or volume is None:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {member.id} of the group snapshot status must "
                    f"be available, but it is {member.status}."
                )
            copies.append(Copy.of(volume, member.path, member.size_gb, snapshot_id=member.id))
        return origin, copies

    def _from_group(
        self, unit: VolumeUnit, context: RequestContext, ident: str
    ) -> tuple[GroupRow, list[Copy]]:
        origin = self._groups.visible(unit, context, ident)
        if origin.status != G_AVAILABLE:
            raise BadRequest(
                f"Invalid group: Source group {ident} status must be available, but current "
                f"status is: {origin.status}."
            )
        members = gq.members(unit, origin.id)
        if not members:
            raise BadRequest("Invalid group: Source group is empty. No group will be created.")
        copies = []
        for volume in members:
            if volume.status not in (AVAILABLE, IN_USE) or volume.path is None:
                raise BadRequest(
                    f"Invalid volume: Source volume {volume.id} status must be available or "
                    f"in-use, but it is {volume.status}."
                )
            copies.append(Copy.of(volume, volume.path, volume.size_gb, source_volid=volume.id))
        return origin, copies


def _plain(value: dict[str, str] | None) -> dict[str, str] | None:
    return dict(value) if value is not None else None


def _volume_row(context: RequestContext, group_row: GroupRow, copy: Copy) -> VolumeRow:
    """A `creating` member of the new group, as a volume create records one."""
    now = utcnow()
    return VolumeRow(
        id=str(uuid.uuid4()),
        project_id=group_row.project_id,
        user_id=context.user_id or "",
        name=copy.name,
        description=copy.description,
        size_gb=copy.size_gb,
        status=CREATING,
        attach_status=DETACHED,
        availability_zone=group_row.availability_zone,
        volume_type_id=copy.volume_type_id,
        bootable=copy.bootable,
        readonly=None,
        multiattach=False,
        source_volid=copy.source_volid,
        snapshot_id=copy.snapshot_id,
        image_id=copy.image_id,
        metadata_items={},
        image_metadata=copy.image_metadata,
        path=None,
        datastore=None,
        provisioning="thin",
        error_message=None,
        created_at=now,
        updated_at=now,
        group_id=group_row.id,
    )
