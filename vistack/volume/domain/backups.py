"""Volume backups: a volume's (or snapshot's) disk data copied into the backup store, full or
incremental, kept after the volume is gone and restored onto a new or an existing volume.

Cinder's rules, checked when the request comes (a bad one is a 4xx, never a backup in `error`):
an in-use volume needs `force`; an incremental backup needs an available backup of the volume
to build on; a backup is deleted only when `available` or `error` and when no incremental
backup builds on it; a restore needs an `available` backup and an `available` target volume at
least as big. Backups count against the project's `backups` and `backup_gigabytes` quotas
(their volume's size). The data moves in jobs (`backup_jobs.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.volume.db import backup_queries, queries
from vistack.volume.db.backup_tables import BackupRow
from vistack.volume.db.store import VolumeUnit
from vistack.volume.domain import list_scope, listing, requests
from vistack.volume.domain.backup_jobs import BACKUP_CREATE, BACKUP_DELETE, BACKUP_RESTORE
from vistack.volume.domain.backup_models import (
    AVAILABLE,
    CREATING,
    DEFAULT_CONTAINER,
    DELETABLE,
    DELETING,
    RESETTABLE,
    RESTORING,
    SNAPSHOT_BACKING_UP,
    VOLUME_BACKING_UP,
    VOLUME_RESTORING,
    Backup,
    backup,
)
from vistack.volume.domain.backup_sources import claim
from vistack.volume.domain.backup_store import check_container
from vistack.volume.domain.models import AVAILABLE as VOLUME_AVAILABLE
from vistack.volume.domain.models import CREATING as VOLUME_CREATING
from vistack.volume.domain.models import IN_USE, SNAP_AVAILABLE
from vistack.volume.domain.quotas import QuotaExceeded
from vistack.volume.domain.volumes import VolumeService

SORT_KEYS = (
    "id",
    "name",
    "status",
    "size",
    "created_at",
    "updated_at",
    "volume_id",
    "container",
    "object_count",
    "availability_zone",
    "data_timestamp",
    "project_id",
)
_SORT_VALUE = {"size": "size_gb"}
Version = tuple[int, int]


class BackupService:
    """The backup resource, its administrator actions and its restore."""

    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._policy = volumes.policy

    # -- reads ---------------------------------------------------------------------------------

    def visible(self, unit: VolumeUnit, context: RequestContext, backup_id: str) -> BackupRow:
        """:raises NotFound: no such backup, or another project's."""
        row = backup_queries.backup(unit, backup_id)
        if row is None or not self._policy.check(
            "backup:get", context, {"project_id": row.project_id}
        ):
            raise NotFound(f"Backup {backup_id} could not be found.")
        return row

    def authorize(self, rule: str, context: RequestContext, project_id: str) -> None:
        self._policy.authorize(rule, context, {"project_id": project_id})

    def view(self, unit: VolumeUnit, row: BackupRow) -> Backup:
        return backup(row, has_children=bool(backup_queries.children(unit, row.id)))

    def get(self, context: RequestContext, backup_id: str) -> Backup:
        with self._store.transaction() as unit:
            return self.view(unit, self.visible(unit, context, backup_id))

    def sees_project(self, context: RequestContext) -> bool:
        """Whether views show `os-backup-project-attr:project_id` (3.18; administrators)."""
        return self._policy.check("backup:backup_project_attribute", context, {})

    def list_backups(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Backup], bool, int]:
        """The page, whether a next link follows, and how many match in all (3.45's count)."""
        self.authorize("backup:get_all", context, context.project_id or "")
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self._policy, context, query)
        wanted = requests.metadata_filter(query.get("metadata"))
        with self._store.transaction() as unit:
            rows = backup_queries.backups(unit, project, query.get("volume_id") or None)
            rows = [
                r
                for r in rows
                if (not query.get("name") or r.name == query["name"])
                and (not query.get("status") or r.status == query["status"])
                and all((r.metadata_items or {}).get(k) == v for k, v in wanted.items())
            ]
            parents = backup_queries.parents_with_children(unit, [r.id for r in rows])
            found = [backup(r, has_children=r.id in parents) for r in rows]
        page, more = listing.page(
            found,
            params,
            lambda b, key: getattr(b, _SORT_VALUE.get(key, key)),
            lambda b: b.id,
        )
        return page, more, len(found)

    # -- create --------------------------------------------------------------------------------

    def create(self, context: RequestContext, body: Any, version: Version) -> Backup:
        """Record the backup (`creating`), hold its volume or snapshot, queue the copy."""
        fields = requests.body_of(body, "backup")
        allowed = {
            "volume_id",
            "container",
            "description",
            "incremental",
            "force",
            "name",
            "snapshot_id",
        }
        if version >= (3, 43):
            allowed.add("metadata")
        if version >= (3, 51):
            allowed.add("availability_zone")
        _only(fields, allowed, "backup")
        volume_id = fields.get("volume_id")
        if not isinstance(volume_id, str) or not volume_id:
            raise BadRequest("Invalid input received: 'volume_id' is a required string.")
        container = _container(fields.get("container"))
        incremental = requests.boolean("incremental", fields.get("incremental", False))
        force = requests.boolean("force", fields.get("force", False))
        name = requests.text("name", fields.get("name"))
        description = requests.text("description", fields.get("description"))
        snapshot_id = fields.get("snapshot_id")
        if snapshot_id is not None and not isinstance(snapshot_id, str):
            raise BadRequest("Invalid input received: 'snapshot_id' must be a string id.")
        metadata = requests.metadata(fields.get("metadata"))
        zone = self._volumes.settings.default_availability_zone
        if fields.get("availability_zone") not in (None, zone):
            raise BadRequest(
                f"Invalid input received: Availability zone '{fields['availability_zone']}' "
                "is invalid."
            )
        bus = self._volumes.bus
        if bus is None or self._volumes.work is None:
            raise ServiceUnavailable("No vCenter is configured: backups cannot be created.")
        with self._store.transaction() as unit:
            project_id = self._volumes.visible(unit, context, volume_id).project_id
        self.authorize("backup:create", context, project_id)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            volume = self._volumes.visible(unit, context, volume_id, lock=True)
            snapshot = None
            if snapshot_id:
                snapshot = queries.snapshot(unit, snapshot_id)
                if snapshot is None or not self._policy.check(
                    "volume:get_snapshot", context, {"project_id": snapshot.project_id}
                ):
                    raise NotFound(f"Snapshot {snapshot_id} could not be found.")
                if snapshot.volume_id != volume.id:
                    raise BadRequest(
                        f"Invalid input received: snapshot {snapshot_id} is not a snapshot of "
                        f"volume {volume.id}."
                    )
                if snapshot.status != SNAP_AVAILABLE:
                    raise BadRequest(
                        f"Invalid snapshot: Snapshot to be backed up must be available, but the "
                        f'current status is "{snapshot.status}".'
                    )
            elif volume.status == IN_USE and not force:
                raise BadRequest(
                    "Invalid volume: Backing up an in-use volume must use the force flag."
                )
            elif volume.status not in (VOLUME_AVAILABLE, IN_USE):
                raise BadRequest(
                    f"Invalid volume: Volume to be backed up must be available or in-use, but "
                    f'the current status is "{volume.status}".'
                )
            data_timestamp = snapshot.created_at if snapshot is not None else utcnow()
            parent_id = (
                self._parent(unit, volume.id, data_timestamp if snapshot else None)
                if incremental
                else None
            )
            self.check_quota(unit, project_id, volume.size_gb)
            now = utcnow()
            row = BackupRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id or "",
                volume_id=volume.id,
                snapshot_id=snapshot.id if snapshot is not None else None,
                parent_id=parent_id,
                name=name,
                description=description,
                container=container,
                availability_zone=zone,
                status=CREATING,
                fail_reason=None,
                size_gb=volume.size_gb,
                object_count=0,
                data_bytes=0,
                is_incremental=parent_id is not None,
                metadata_items=metadata,
                data_timestamp=data_timestamp,
                previous_status=snapshot.status if snapshot is not None else volume.status,
                restore_volume_id=None,
                created_at=now,
                updated_at=now,
            )
            unit.add(row)
            if snapshot is not None:
                snapshot.status, snapshot.updated_at = SNAPSHOT_BACKING_UP, now
            else:
                volume.status, volume.updated_at = VOLUME_BACKING_UP, now
            unit.flush()
            created = backup(row, has_children=False)
        bus.submit(BACKUP_CREATE, {"backup_id": created.id})
        return created

    def _parent(self, unit: VolumeUnit, volume_id: str, before: Any) -> str:
        """The backup an incremental one builds on: the volume's latest by data time (for a
        snapshot's, the latest taken before the snapshot), which must be available.

        :raises BadRequest: there is none, or it is not available.
        """
        candidates = [
            b
            for b in backup_queries.backups(unit, None, volume_id)
            if b.status not in (DELETING, "error_deleting")
            and (before is None or b.data_timestamp < before)
        ]
        if not candidates:
            raise BadRequest("Invalid backup: No backups available to do an incremental backup.")
        latest = max(candidates, key=lambda b: (b.data_timestamp, b.created_at))
        if latest.status != AVAILABLE:
            raise BadRequest(
                "Invalid backup: The parent backup must be available for incremental backup."
            )
        return latest.id

    def check_quota(self, unit: VolumeUnit, project_id: str, gigabytes: int) -> None:
        """Room for one more backup of `gigabytes`; call after `unit.lock_project`.

        :raises QuotaExceeded: Cinder's 413 for `backups` or `backup_gigabytes`.
        """
        limits = self._volumes.quotas.limits(unit, project_id)
        used = backup_queries.usage(unit, project_id)
        limit = limits["backups"]
        if 0 <= limit < used["backups"] + 1:
            raise QuotaExceeded(
                f"BackupLimitExceeded: Maximum number of backups allowed ({limit}) exceeded."
            )
        limit = limits["backup_gigabytes"]
        if 0 <= limit < used["backup_gigabytes"] + gigabytes:
            raise QuotaExceeded(
                "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup "
                f"gigabytes quota. Requested {gigabytes}G, quota is {limit}G and "
                f"{used['backup_gigabytes']}G has been consumed."
            )

    # -- update / delete / reset ---------------------------------------------------------------

    def update(
        self, context: RequestContext, backup_id: str, body: Any, version: Version
    ) -> Backup:
        """3.9: name and description; 3.43: metadata too (replacing it)."""
        fields = requests.body_of(body, "backup")
        allowed = {"name", "description"} | ({"metadata"} if version >= (3, 43) else set())
        _only(fields, allowed, "backup")
        if not fields:
            raise BadRequest("Invalid input received: Nothing to update in 'backup'.")
        name = requests.text("name", fields.get("name"))
        description = requests.text("description", fields.get("description"))
        metadata = requests.metadata(fields.get("metadata"))
        with self._store.transaction() as unit:
            row = self.visible(unit, context, backup_id)
            self.authorize("backup:update", context, row.project_id)
            if "name" in fields:
                row.name = name
            if "description" in fields:
                row.description = description
            if "metadata" in fields:
                row.metadata_items = metadata
            row.updated_at = utcnow()
            unit.flush()
            return self.view(unit, row)

    def delete(self, context: RequestContext, backup_id: str, *, force: bool = False) -> None:
        """Cinder's 400s: a backup being made or restored (a forced delete of one being made
        cancels the copy), or one an incremental backup builds on."""
        with self._store.transaction() as unit:
            row = self.visible(unit, context, backup_id)
            rule = (
                "volume_extension:backup_admin_actions:force_delete" if force else "backup:delete"
            )
            self.authorize(rule, context, row.project_id)
            if row.status == RESTORING or (not force and row.status not in DELETABLE):
                raise BadRequest(
                    f"Invalid backup: Backup status must be available or error to delete, but "
                    f"it is {row.status}"
                    + (" (a restore is reading it)." if row.status == RESTORING else ".")
                )
            if backup_queries.children(unit, row.id):
                raise BadRequest("Invalid backup: Incremental backups exist for this backup.")
            if row.status == CREATING:
                # The copy stops at its next chunk; the volume it held is given back now.
                now = utcnow()
                if row.snapshot_id is not None:
                    queries.set_snapshot_status(
                        unit,
                        row.snapshot_id,
                        [SNAPSHOT_BACKING_UP],
                        status=SNAP_AVAILABLE,
                        updated_at=now,
                    )
                else:
                    queries.set_volume_status(
                        unit,
                        row.volume_id,
                        [VOLUME_BACKING_UP],
                        status=row.previous_status or VOLUME_AVAILABLE,
                        updated_at=now,
                    )
            done = backup_queries.set_backup_status(
                unit, backup_id, [row.status], status=DELETING, updated_at=utcnow()
            )
            if not done:
                raise BadRequest(f"Invalid backup: Backup {backup_id} changed status; try again.")
        if self._volumes.bus is not None:
            self._volumes.bus.submit(BACKUP_DELETE, {"backup_id": backup_id})

    def reset_status(self, context: RequestContext, backup_id: str, body: Any) -> None:
        args = body.get("os-reset_status") if isinstance(body, dict) else None
        status = args.get("status") if isinstance(args, dict) else None
        if status not in RESETTABLE:
            raise BadRequest(
                f"Invalid input received: status must be one of {', '.join(RESETTABLE)}, not "
                f"{status!r}."
            )
        with self._store.transaction() as unit:
            row = self.visible(unit, context, backup_id)
            self.authorize(
                "volume_extension:backup_admin_actions:reset_status", context, row.project_id
            )
            row.status, row.updated_at = status, utcnow()

    # -- restore -------------------------------------------------------------------------------

    def restore(self, context: RequestContext, backup_id: str, body: Any) -> dict[str, Any]:
        """Queue the restore onto `volume_id`, or onto a new volume of the backup's size
        (named `name`, else Cinder's `restore_backup_<id>`). Returns Cinder's `restore`."""
        if not isinstance(body, dict) or "restore" not in body:
            raise BadRequest("Missing required element 'restore' in request body.")
        args = body["restore"] if body["restore"] is not None else {}
        if not isinstance(args, dict):
            raise BadRequest("Invalid input received: 'restore' must be an object.")
        _only(args, {"volume_id", "name"}, "restore")
        volume_id = args.get("volume_id")
        if volume_id is not None and not isinstance(volume_id, str):
            raise BadRequest("Invalid input received: 'volume_id' must be a string id.")
        name = requests.text("name", args.get("name"))
        bus = self._volumes.bus
        if bus is None or self._volumes.work is None:
            raise ServiceUnavailable("No vCenter is configured: backups cannot be restored.")
        with self._store.transaction() as unit:
            row = self.visible(unit, context, backup_id)
            self.authorize("backup:restore", context, row.project_id)
            _restorable(row)
            size_gb = row.size_gb
        if volume_id:
            target = self._claim_existing(context, backup_id, volume_id)
        else:
            target = self._claim_new(context, backup_id, size_gb, name)
        bus.submit(BACKUP_RESTORE, {"backup_id": backup_id, "volume_id": target[0]})
        return {"backup_id": backup_id, "volume_id": target[0], "volume_name": target[1]}

    def _claim_existing(
        self, context: RequestContext, backup_id: str, volume_id: str
    ) -> tuple[str, str | None]:
        with self._store.transaction() as unit:
            volume = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize("volume:update", context, volume.project_id)
            row = self.visible(unit, context, backup_id)
            _restorable(row)
            if volume.status != VOLUME_AVAILABLE:
                raise BadRequest(
                    f"Invalid volume: Volume to be restored to must be available, but the "
                    f'current status is "{volume.status}".'
                )
            if volume.size_gb < row.size_gb:
                raise BadRequest(
                    f"Invalid volume: volume size {volume.size_gb} is too small to restore "
                    f"backup of size {row.size_gb}."
                )
            now = utcnow()
            volume.status, volume.updated_at = VOLUME_RESTORING, now
            claim(unit, backup_id, volume.id)
            return volume.id, volume.name

    def _claim_new(
        self, context: RequestContext, backup_id: str, size_gb: int, name: str | None
    ) -> tuple[str, str | None]:
        """A new volume (quota-checked as any create) that the restore job gives a disk."""
        self._volumes.authorize("volume:create", context, context.project_id)
        request = requests.CreateVolume(
            size=size_gb,
            name=name or f"restore_backup_{backup_id}",
            description="auto-created_from_restore_from_backup",
        )
        row, _source = self._volumes.record(context, request)
        with self._store.transaction() as unit:
            try:
                backup_row = self.visible(unit, context, backup_id)
                _restorable(backup_row)
            except (BadRequest, NotFound):
                self._volumes.mark_error(row.id, f"Backup {backup_id} is no longer available.")
                raise
            queries.set_volume_status(
                unit, row.id, [VOLUME_CREATING], status=VOLUME_RESTORING, updated_at=utcnow()
            )
            claim(unit, backup_id, row.id)
        return row.id, row.name


def _restorable(row: BackupRow) -> None:
    if row.status != AVAILABLE:
        raise BadRequest(
            f"Invalid backup: Backup status must be available, but it is {row.status}."
        )


def _only(fields: Mapping[str, Any], allowed: set[str], what: str) -> None:
    extra = sorted(set(fields) - allowed)
    if extra:
        raise BadRequest(
            f"Invalid input for field/attribute {what}. Additional properties are not allowed "
            f"({', '.join(repr(e) for e in extra)} {'was' if len(extra) == 1 else 'were'} "
            "unexpected)."
        )


def _container(value: Any) -> str:
    if value is None or value == "":
        return DEFAULT_CONTAINER
    if not isinstance(value, str):
        raise BadRequest("Invalid input received: 'container' must be a string.")
    try:
        return check_container(value)
    except ValueError as exc:
        raise BadRequest(f"Invalid input received: {exc}.") from None
