"""Volume snapshots: a copy of the volume's disk next to it (CopyVirtualDisk), so a snapshot
outlives changes to its volume and new volumes can be made from it.

A snapshot of an in-use volume needs `force` (Cinder's rule: the copy of an attached disk is
only crash-consistent). Snapshots count against the project's `snapshots` quota and, with
their size, against `gigabytes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import SnapshotRow, VolumeRow
from vistack.volume.domain import convert, filters, list_scope, listing, requests
from vistack.volume.domain.filters import Version
from vistack.volume.domain.models import (
    AVAILABLE,
    IN_USE,
    SNAP_CREATING,
    SNAP_DELETING,
    SNAPSHOT_DELETABLE,
    SNAPSHOT_RESETTABLE,
    Snapshot,
)
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import SNAPSHOT_CREATE, SNAPSHOT_DELETE

SORT_KEYS = ("id", "name", "size", "status", "created_at", "updated_at", "volume_id")


def record_snapshot(
    volumes: VolumeService,
    context: RequestContext,
    volume_id: str,
    *,
    force: bool,
    name: str | None,
    description: str | None,
    metadata: dict[str, str] | None = None,
) -> Snapshot:
    """Record a `creating` snapshot of the volume as Cinder's API does: visible to the caller,
    allowed by policy, its status right (`in-use` only with `force`) and the project's quota
    checked under the project's lock. Copying the disk is the caller's to start (a bus job for
    the API, the caller's thread for Nova's createImage).

    :raises NotFound: no such volume. :raises BadRequest: its status does not allow it.
    :raises QuotaExceeded: over the snapshot or gigabyte quotas.
    """
    with volumes.store.transaction() as unit:
        project_id = volumes.visible(unit, context, volume_id).project_id
    volumes.authorize("volume:create_snapshot", context, project_id)
    volumes.store.ensure_project(project_id)
    with volumes.store.transaction() as unit:
        unit.lock_project(project_id)
        volume = volumes.visible(unit, context, volume_id, lock=True)
        if volume.status != AVAILABLE and not (force and volume.status == IN_USE):
            raise BadRequest(
                f"Invalid volume: Volume {volume.id} status must be available, but current "
                f"status is: {volume.status} (an in-use volume needs force=True)."
            )
        volumes.quotas.check(
            unit,
            project_id,
            snapshots=1,
            gigabytes=volume.size_gb,
            volume_type_id=volume.volume_type_id,
        )
        row = creating_row(
            context, project_id, volume, name=name, description=description, metadata=metadata
        )
        unit.add(row)
        return convert.snapshot(row)


def creating_row(
    context: RequestContext,
    project_id: str,
    volume: VolumeRow,
    *,
    name: str | None,
    description: str | None,
    metadata: dict[str, str] | None = None,
    group_snapshot_id: str | None = None,
    now: datetime | None = None,
) -> SnapshotRow:
    """A new `creating` snapshot of `volume`, its size, no disk yet: what a snapshot create
    and each member of a group snapshot (`group_snapshot_id`) record before the copy job."""
    when = now or utcnow()
    return SnapshotRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        user_id=context.user_id or "",
        volume_id=volume.id,
        name=name,
        description=description,
        size_gb=volume.size_gb,
        status=SNAP_CREATING,
        progress="0%",
        metadata_items=metadata if metadata is not None else {},
        path=None,
        error_message=None,
        created_at=when,
        updated_at=when,
        group_snapshot_id=group_snapshot_id,
    )


class SnapshotService:
    """The snapshot resource, its metadata and its administrator actions."""

    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._policy = volumes.policy

    def _visible(self, unit: VolumeUnit, context: RequestContext, snapshot_id: str) -> SnapshotRow:
        row = queries.snapshot(unit, snapshot_id)
        if row is None or not self._policy.check(
            "volume:get_snapshot", context, {"project_id": row.project_id}
        ):
            raise NotFound(f"Snapshot {snapshot_id} could not be found.")
        return row

    def _authorize(self, rule: str, context: RequestContext, project_id: str) -> None:
        self._policy.authorize(rule, context, {"project_id": project_id})

    def get(self, context: RequestContext, snapshot_id: str) -> Snapshot:
        with self._store.transaction() as unit:
            return convert.snapshot(self._visible(unit, context, snapshot_id))

    def list_snapshots(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Snapshot], bool]:
        found = self.list_snapshots_counted(context, query)
        return found.items, found.more

    def list_snapshots_counted(
        self, context: RequestContext, query: Mapping[str, str], version: Version = (3, 0)
    ) -> listing.Listing[Snapshot]:
        """The caller's snapshots (every project's with `all_tenants` for an admin), filtered
        as the microversion says (`filters.py`), sorted, paged and counted (3.45)."""
        self._authorize("volume:get_all_snapshots", context, context.project_id or "")
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self._policy, context, query)
        admin = self._volumes.types.is_admin(context)
        wanted = filters.parse(query, "snapshot", version, admin=admin)
        with self._store.transaction() as unit:
            rows = queries.snapshots(unit, project, query.get("volume_id") or None)
            zones = {v.id: v.availability_zone for v in queries.volumes(unit, project)}
            snapshots = [
                convert.snapshot(r)
                for r in rows
                if filters.matches(wanted, r, lambda row, key: _field(row, key, zones))
            ]
        return listing.counted(
            snapshots,
            params,
            lambda s, key: getattr(s, "size_gb" if key == "size" else key),
            lambda s: s.id,
        )

    def create(
        self, context: RequestContext, body: Any, *, version: tuple[int, int] = (3, 0)
    ) -> Snapshot:
        """From 3.66 an in-use volume needs no `force`; `force` false is refused then (a
        client asking not to snapshot an in-use volume asks for what 3.66 no longer does)."""
        fields = requests.body_of(body, "snapshot")
        volume_id = fields.get("volume_id")
        if not isinstance(volume_id, str) or not volume_id:
            # Cinder looks the volume up and answers 404 for a missing id, and Tempest expects it.
            raise NotFound("Volume could not be found: 'volume_id' must name a volume.")
        force = requests.boolean("force", fields.get("force", False))
        if version >= (3, 66):
            if "force" in fields and not force:
                raise BadRequest(
                    "Invalid input received: 'force' false is not accepted from microversion "
                    "3.66: snapshots of in-use volumes need no force flag; leave it out."
                )
            force = True
        name = requests.text("name", fields.get("name", fields.get("display_name")))
        description = requests.text(
            "description",
            fields.get("description", fields.get("display_description")),
            limit=65535,
        )
        metadata = requests.metadata(fields.get("metadata"))
        if self._volumes.bus is None or self._volumes.work is None:
            raise ServiceUnavailable("No vCenter is configured: snapshots cannot be created.")
        snapshot = record_snapshot(
            self._volumes,
            context,
            volume_id,
            force=force,
            name=name,
            description=description,
            metadata=metadata,
        )
        self._volumes.bus.submit(SNAPSHOT_CREATE, {"snapshot_id": snapshot.id})
        return snapshot

    def update(self, context: RequestContext, snapshot_id: str, body: Any) -> Snapshot:
        fields = requests.update_fields(body, "snapshot")
        fields.pop("metadata", None)
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize("volume:update_snapshot", context, row.project_id)
            if "name" in fields:
                row.name = fields["name"]
            if "description" in fields:
                row.description = fields["description"]
            row.updated_at = utcnow()
            unit.flush()
            return convert.snapshot(row)

    def delete(self, context: RequestContext, snapshot_id: str, *, force: bool = False) -> None:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            rule = (
                "volume_extension:snapshot_admin_actions:force_delete"
                if force
                else "volume:delete_snapshot"
            )
            self._authorize(rule, context, row.project_id)
            if not force and row.status not in SNAPSHOT_DELETABLE:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {row.id} status must be available or error to "
                    f"delete, but it is {row.status}."
                )
            if row.group_snapshot_id is not None:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {row.id} is part of group snapshot "
                    f"{row.group_snapshot_id}; delete the group snapshot instead."
                )
            dependants = [
                v.id
                for v in queries.volumes(unit, None)
                if v.snapshot_id == row.id and v.status == "creating"
            ]
            if dependants:
                raise BadRequest(
                    f"Invalid snapshot: volume {dependants[0]} is being created from it."
                )
            row.status, row.updated_at = SNAP_DELETING, utcnow()
        if self._volumes.bus is not None:
            self._volumes.bus.submit(SNAPSHOT_DELETE, {"snapshot_id": snapshot_id})

    def reset_status(self, context: RequestContext, snapshot_id: str, body: Any) -> None:
        args = body.get("os-reset_status") if isinstance(body, dict) else None
        status = args.get("status") if isinstance(args, dict) else None
        if status not in SNAPSHOT_RESETTABLE:
            raise BadRequest(
                f"Must specify a valid status ({', '.join(SNAPSHOT_RESETTABLE)}), not {status!r}."
            )
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize(
                "volume_extension:snapshot_admin_actions:reset_status", context, row.project_id
            )
            row.status, row.updated_at = status, utcnow()

    def update_status(self, context: RequestContext, snapshot_id: str, body: Any) -> None:
        """`os-update_snapshot_status`: how Nova reports an assisted snapshot's progress. Only
        Cinder's transitions are allowed: creating → creating/available/error, deleting →
        deleting/error_deleting."""
        args = body.get("os-update_snapshot_status") if isinstance(body, dict) else None
        if not isinstance(args, dict) or not isinstance(args.get("status"), str):
            raise BadRequest("'status' must be specified.")
        status, progress = args["status"], args.get("progress")
        if progress is not None and not isinstance(progress, str):
            raise BadRequest("'progress' must be a string such as '80%'.")
        allowed = {
            SNAP_CREATING: (SNAP_CREATING, "available", "error"),
            SNAP_DELETING: (SNAP_DELETING, "error_deleting"),
        }
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize("volume:update_snapshot", context, row.project_id)
            if status not in allowed.get(row.status, ()):
                raise BadRequest(
                    f"Invalid status: provided snapshot status {status!r} is not allowed from "
                    f"{row.status!r}."
                )
            row.status, row.updated_at = status, utcnow()
            if progress is not None:
                row.progress = progress[:8]

    # -- metadata ------------------------------------------------------------------------------

    def metadata(self, context: RequestContext, snapshot_id: str) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize("volume:get_snapshot_metadata", context, row.project_id)
            return dict(row.metadata_items or {})

    def set_metadata(
        self, context: RequestContext, snapshot_id: str, body: Any, *, replace: bool
    ) -> dict[str, str]:
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            raise BadRequest("Malformed request body: missing 'metadata'.")
        return self._write(context, snapshot_id, requests.metadata(body["metadata"]), replace)

    def metadata_item(self, context: RequestContext, snapshot_id: str, key: str) -> str:
        return requests.item_of(self.metadata(context, snapshot_id), key)

    def set_metadata_item(
        self, context: RequestContext, snapshot_id: str, key: str, body: Any
    ) -> dict[str, str]:
        items = requests.metadata_item(body, key)
        self._write(context, snapshot_id, items, False)
        return items

    def delete_metadata_item(self, context: RequestContext, snapshot_id: str, key: str) -> None:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize("volume:update_snapshot_metadata", context, row.project_id)
            items = dict(row.metadata_items or {})
            if key not in items:
                raise NotFound(f"Metadata item was not found: {key}")
            del items[key]
            row.metadata_items, row.updated_at = items, utcnow()

    def _write(
        self, context: RequestContext, snapshot_id: str, items: dict[str, str], replace: bool
    ) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, snapshot_id)
            self._authorize("volume:update_snapshot_metadata", context, row.project_id)
            merged = dict(items) if replace else {**(row.metadata_items or {}), **items}
            row.metadata_items, row.updated_at = merged, utcnow()
            return dict(merged)


def _field(row: SnapshotRow, key: str, zones: dict[str, str]) -> Any:
    """A snapshot's value for the list filter `key` (None for what this cloud does not keep)."""
    if key == "metadata":
        return row.metadata_items
    if key == "availability_zone":
        return zones.get(row.volume_id)
    if key == "consumes_quota":
        return True  # every snapshot counts against its project's quota here
    if key in SnapshotRow.__table__.c:
        return getattr(row, key)
    return None
