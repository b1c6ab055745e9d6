"""The long part of backups, run from the bus: reading a disk into the chunk store, deleting a
backup's chunks, and writing a backup back onto a volume's disk.

The API records the request (a backup in `creating`, `deleting` or `restoring`, its volume in
`backing-up` or `restoring-backup`) and submits a job; the handler here moves the data and then
every row to its next state with conditional writes, so a backup force-deleted while it is
written loses its files instead of coming back. Cinder's rules on failure: a failed backup is
`error` with its `fail_reason` and has no chunk files; a failed restore leaves the target volume
in `error_restoring` (with the reason) and the backup `available`, and no temporary file on the
datastore (`VolumeDriver.write_disk` writes through one). The volume or snapshot a backup held
gets its status back in every case.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.errors import VistackError
from vistack.config import VolumeSettings
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import backup_queries, queries
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import placement
from vistack.volume.domain.backup_models import (
    AVAILABLE,
    CREATING,
    DELETING,
    ERROR,
    ERROR_DELETING,
    RESTORING,
    SNAPSHOT_BACKING_UP,
    VOLUME_BACKING_UP,
    VOLUME_ERROR_RESTORING,
    VOLUME_RESTORING,
)
from vistack.volume.domain.backup_store import BackupStore, BackupStoreError, Manifest
from vistack.volume.domain.disk_jobs import failure_reason, undo_disk
from vistack.volume.domain.models import CREATING as VOLUME_CREATING
from vistack.volume.domain.models import ERROR as VOLUME_ERROR
from vistack.volume.domain.models import SNAP_AVAILABLE
from vistack.volume.domain.types import DATASTORE_REGEX, provisioning_of

LOG = logging.getLogger(__name__)

BACKUP_CREATE = "volume.backup.create"
BACKUP_DELETE = "volume.backup.delete"
BACKUP_RESTORE = "volume.backup.restore"


class BackupWork:
    """Runs the data side of backups: create, delete and restore."""

    def __init__(
        self,
        store: VolumeStore,
        driver: VolumeDriver,
        chunks: BackupStore,
        settings: VolumeSettings,
    ) -> None:
        self._store = store
        self._driver = driver
        self._chunks = chunks
        self._settings = settings

    def register(self, bus: WorkQueue) -> None:
        bus.register(BACKUP_CREATE, lambda p: self.create(str(p["backup_id"])))
        bus.register(BACKUP_DELETE, lambda p: self.delete(str(p["backup_id"])))
        bus.register(BACKUP_RESTORE, self._on_restore)

    def _on_restore(self, payload: Mapping[str, Any]) -> None:
        self.restore(str(payload["backup_id"]), str(payload["volume_id"]))

    # -- restart -------------------------------------------------------------------------------

    def recover(self, bus: WorkQueue) -> None:
        """Finish or fail what a restart interrupted: deletes run again; a backup that was
        being made is `error` with no files; a restore's volume is `error_restoring` and its
        backup `available` again; held volumes and snapshots get their status back."""
        reason = "Interrupted by a restart of the volume service; try again."
        with self._store.transaction() as unit:
            rows = [(b.id, b.status) for b in backup_queries.backups(unit, None)]
        for backup_id, status in rows:
            if status == DELETING:
                bus.submit(BACKUP_DELETE, {"backup_id": backup_id})
            elif status == CREATING:
                self._fail_create(backup_id, reason)
            elif status == RESTORING:
                self._fail_restore(backup_id, None, reason)

    # -- create --------------------------------------------------------------------------------

    def create(self, backup_id: str) -> None:
        """Read the volume's (or snapshot's) disk into the chunk store."""
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            if row is None or row.status != CREATING:
                return
            container, volume_id = row.container, row.volume_id
            in_use = row.previous_status == "in-use" and row.snapshot_id is None
            parent_id = row.parent_id
            parent_row = backup_queries.backup(unit, parent_id) if parent_id else None
            parent = (parent_row.container, parent_row.id) if parent_row is not None else None
            if row.snapshot_id is not None:
                snapshot = queries.snapshot(unit, row.snapshot_id)
                source = snapshot.path if snapshot is not None else None
            else:
                volume = queries.volume(unit, volume_id)
                source = volume.path if volume is not None else None
            volume_row = queries.volume(unit, volume_id)
            datastore = volume_row.datastore if volume_row is not None else None
            meta = _volume_meta(volume_row)
        copy: str | None = None
        try:
            if source is None:
                raise NotFoundError(f"volume {volume_id} has no disk to back up")
            if parent_id is not None and parent is None:
                raise BackupStoreError(f"the parent backup {parent_id} is gone")
            base: Manifest | None = self._chunks.manifest(*parent) if parent else None
            if in_use:
                # An attached disk changes while it is read: read a copy of it instead (as a
                # snapshot of an in-use volume is made), crash-consistent like Cinder's.
                if datastore is None:
                    raise NotFoundError(f"volume {volume_id} has no datastore")
                copy = self._driver.copy_disk(
                    source, datastore, f"backup-{backup_id}", Provisioning.THIN
                ).path
                source = copy
            manifest = self._chunks.write(
                container,
                backup_id,
                volume_id,
                self._driver.read_disk(source),
                base,
                wanted=lambda: self._still(backup_id, CREATING),
                volume_meta=meta,
            )
        except (DriverError, VistackError, BackupStoreError, OSError) as exc:
            self._fail_create(backup_id, failure_reason(exc))
            LOG.warning("backup %s failed: %s", backup_id, exc)
            return
        finally:
            undo_disk(self._driver, copy, "backup's copy")
        with self._store.transaction() as unit:
            done = backup_queries.set_backup_status(
                unit,
                backup_id,
                [CREATING],
                status=AVAILABLE,
                object_count=manifest.object_count,
                data_bytes=manifest.size,
                updated_at=utcnow(),
            )
            if done:  # in the same transaction: a backup seen available has let go
                _give_back(unit, backup_id, volume_id)
        if not done:
            # Deleted (forced) while it was written: its files must not outlive it, and its
            # volume was given back by the delete.
            self._remove_files(container, backup_id)

    def _still(self, backup_id: str, status: str) -> bool:
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            return row is not None and row.status == status

    def _fail_create(self, backup_id: str, reason: str) -> None:
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            if row is None:
                return
            container, volume_id = row.container, row.volume_id
            failed = backup_queries.set_backup_status(
                unit, backup_id, [CREATING], status=ERROR, fail_reason=reason, updated_at=utcnow()
            )
            if failed:
                _give_back(unit, backup_id, volume_id)
        self._remove_files(container, backup_id)

    def _remove_files(self, container: str, backup_id: str) -> None:
        try:
            self._chunks.delete(container, backup_id)
        except (BackupStoreError, OSError):
            LOG.exception("could not remove the chunks of backup %s", backup_id)

    # -- delete --------------------------------------------------------------------------------

    def delete(self, backup_id: str) -> None:
        """Remove a `deleting` backup's chunk files, then its row."""
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            if row is None or row.status != DELETING:
                return
            container = row.container
        try:
            self._chunks.delete(container, backup_id)
        except (BackupStoreError, OSError) as exc:
            with self._store.transaction() as unit:
                backup_queries.set_backup_status(
                    unit,
                    backup_id,
                    [DELETING],
                    status=ERROR_DELETING,
                    fail_reason=str(exc),
                    updated_at=utcnow(),
                )
            return
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            if row is not None and row.status == DELETING:
                unit.delete(row)

    # -- restore -------------------------------------------------------------------------------

    def restore(self, backup_id: str, volume_id: str) -> None:
        """Write the backup onto the volume's disk: an existing volume (`restoring-backup`),
        or a new one (`restoring-backup` from a restore, `creating` from a volume create with
        `backup_id`) whose blank disk is made here first."""
        with self._store.transaction() as unit:
            backup = backup_queries.backup(unit, backup_id)
            volume = queries.volume(unit, volume_id)
            if backup is None or backup.status != RESTORING or volume is None:
                return
            if volume.status not in (VOLUME_RESTORING, VOLUME_CREATING):
                return
            expected, container = volume.status, backup.container
            path, size, type_id = volume.path, volume.size_gb, volume.volume_type_id
            specs = queries.extra_specs(unit, type_id)
        try:
            manifest = self._chunks.manifest(container, backup_id)
            if path is None:
                path = self._make_disk(volume_id, size, specs, expected)
            self._driver.write_disk(path, self._chunks.read(manifest), manifest.size)
        except (DriverError, VistackError, BackupStoreError, OSError) as exc:
            self._fail_restore(backup_id, volume_id, failure_reason(exc), expected)
            LOG.warning("restore of backup %s failed: %s", backup_id, exc)
            return
        with self._store.transaction() as unit:
            restored = queries.volume(unit, volume_id)
            current = dict(restored.metadata_items or {}) if restored is not None else {}
            queries.set_volume_status(
                unit,
                volume_id,
                [expected],
                status="available",
                updated_at=utcnow(),
                **_restored_meta(manifest.volume_meta, current),
            )
            backup_queries.set_backup_status(
                unit,
                backup_id,
                [RESTORING],
                status=AVAILABLE,
                restore_volume_id=None,
                updated_at=utcnow(),
            )

    def _make_disk(self, volume_id: str, size: int, specs: dict[str, str], expected: str) -> str:
        """A blank disk for a new volume, recorded on it at once (the volume owns it from
        then on: deleting the volume deletes it, whatever the restore does next)."""
        provisioning = provisioning_of(specs)
        datastore = placement.choose(
            self._driver.list_datastores(),
            size,
            configured=self._settings.datastores,
            regex=specs.get(DATASTORE_REGEX),
            specs=specs,
        )
        disk = self._driver.create_disk(datastore.name, volume_id, size, provisioning)
        with self._store.transaction() as unit:
            recorded = queries.set_volume_status(
                unit,
                volume_id,
                [expected],
                path=disk.path,
                datastore=datastore.name,
                provisioning=provisioning.value,
                updated_at=utcnow(),
            )
        if not recorded:  # deleted meanwhile: the disk must not outlive it
            undo_disk(self._driver, disk.path, "restore")
            raise NotFoundError(f"volume {volume_id} was deleted during its restore")
        return disk.path

    def _fail_restore(
        self, backup_id: str, volume_id: str | None, reason: str, expected: str | None = None
    ) -> None:
        """The backup is available again and, in the same transaction, the target volume is
        `error_restoring` (`error` for a volume being created from the backup)."""
        message = f"Restore of backup {backup_id} failed: {reason}"
        with self._store.transaction() as unit:
            row = backup_queries.backup(unit, backup_id)
            target = volume_id or (row.restore_volume_id if row is not None else None)
            backup_queries.set_backup_status(
                unit,
                backup_id,
                [RESTORING],
                status=AVAILABLE,
                restore_volume_id=None,
                updated_at=utcnow(),
            )
            if target is None:
                return
            for status, error in (
                (VOLUME_CREATING, VOLUME_ERROR),
                (VOLUME_RESTORING, VOLUME_ERROR_RESTORING),
            ):
                if expected in (None, status):
                    queries.set_volume_status(
                        unit,
                        target,
                        [status],
                        status=error,
                        error_message=message,
                        updated_at=utcnow(),
                    )


def _give_back(unit: VolumeUnit, backup_id: str, volume_id: str) -> None:
    """The held volume (or snapshot) gets the status it had before the backup."""
    row = backup_queries.backup(unit, backup_id)
    previous = (row.previous_status if row is not None else None) or "available"
    snapshot_id = row.snapshot_id if row is not None else None
    if snapshot_id is not None:
        queries.set_snapshot_status(
            unit,
            snapshot_id,
            [SNAPSHOT_BACKING_UP],
            status=SNAP_AVAILABLE,
            updated_at=utcnow(),
        )
    else:
        queries.set_volume_status(
            unit, volume_id, [VOLUME_BACKING_UP], status=previous, updated_at=utcnow()
        )


def _volume_meta(row: VolumeRow | None) -> dict[str, Any]:
    """What a backup keeps of its volume besides the data."""
    if row is None:
        return {}
    return {
        "bootable": row.bootable,
        "image_id": row.image_id,
        "image_metadata": dict(row.image_metadata) if row.image_metadata is not None else None,
        "metadata": dict(row.metadata_items or {}),
    }


def _restored_meta(meta: Mapping[str, Any], current: Mapping[str, str]) -> dict[str, Any]:
    """The volume columns a restore sets from its backup's `volume_meta` (none if absent).

    The source volume's metadata is laid over what the restored volume has (`current`): Cinder
    updates the volume's metadata from the backup without deleting other keys."""
    values: dict[str, Any] = {}
    if isinstance(meta.get("metadata"), dict):
        values["metadata_items"] = {
            **current,
            **{str(k): str(v) for k, v in meta["metadata"].items()},
        }
    if "bootable" in meta:
        values["bootable"] = bool(meta["bootable"])
    if "image_id" in meta:
        values["image_id"] = meta["image_id"]
    if "image_metadata" in meta:
        values["image_metadata"] = meta["image_metadata"]
    return values
