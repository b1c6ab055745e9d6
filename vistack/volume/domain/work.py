"""The long part of every volume operation: the vSphere calls, run from the bus.

The API records the request (a row in `creating`, `deleting`, `extending`...) and submits a
job; the handler here makes the vCenter call and moves the row to its next state. Every
handler leaves nothing behind on failure: a disk it made is deleted again and the row goes to
Cinder's error status with the reason kept in `error_message`. Rows are changed with
conditional writes, so a volume force-deleted while its create runs gets its new disk removed
instead of a resurrected row.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.errors import ServiceUnavailable, VistackError
from vistack.config import VolumeSettings
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.volumes import VolumeDriver, volume_path
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain import messages, placement
from vistack.volume.domain.disk_jobs import fail_snapshot, fail_volume, failure_reason, undo_disk
from vistack.volume.domain.migrate_attached import is_target
from vistack.volume.domain.models import (
    AVAILABLE,
    CREATING,
    DELETING,
    ERROR,
    ERROR_DELETING,
    ERROR_EXTENDING,
    EXTENDING,
    SNAP_AVAILABLE,
    SNAP_CREATING,
    SNAP_DELETING,
    SNAP_ERROR,
    SNAP_ERROR_DELETING,
)
from vistack.volume.domain.multiattach import disk_provisioning
from vistack.volume.domain.types import DATASTORE_REGEX, provisioning_of

LOG = logging.getLogger(__name__)

CREATE = "volume.create"
DELETE = "volume.delete"
EXTEND = "volume.extend"
SNAPSHOT_CREATE = "volume.snapshot.create"
SNAPSHOT_DELETE = "volume.snapshot.delete"


class BuildFailed(ServiceUnavailable):
    """A volume's disk could not be made; the volume is in `error` and nothing is left over."""


def snapshot_disk_name(snapshot_id: str) -> str:
    return f"snapshot-{snapshot_id}"


class VolumeWork:
    """Runs the vCenter side of creates, deletes, extends and snapshots."""

    def __init__(self, store: VolumeStore, driver: VolumeDriver, settings: VolumeSettings) -> None:
        self._store = store
        self._driver = driver
        self._settings = settings

    def register(self, bus: WorkQueue) -> None:
        bus.register(CREATE, self._on_create)
        bus.register(DELETE, lambda p: self.delete(str(p["volume_id"])))
        bus.register(EXTEND, self._on_extend)
        bus.register(SNAPSHOT_CREATE, lambda p: self.create_snapshot(str(p["snapshot_id"])))
        bus.register(SNAPSHOT_DELETE, lambda p: self.delete_snapshot(str(p["snapshot_id"])))

    # -- restart -------------------------------------------------------------------------------

    def recover(self, bus: WorkQueue) -> None:
        """Finish or fail what a restart interrupted (the in-process bus loses its queue).

        Deletes are queued again (they are safe to repeat). A create, extend or snapshot that
        was running cannot be resumed faithfully: it goes to Cinder's error status with a
        reason, and a disk it may have made under its name is removed, so nothing is left
        half-made; the user deletes it or an administrator resets it.
        """
        reason = "Interrupted by a restart of the volume service; delete it and try again."
        with self._store.transaction() as unit:
            # A migration's temporary volumes are settled by the migration (`migrate_recovery`).
            volumes = [(v.id, v.status) for v in queries.volumes(unit, None) if not is_target(v)]
            snapshots = [(s.id, s.status, s.volume_id) for s in queries.snapshots(unit, None)]
        for volume_id, status in volumes:
            if status == DELETING:
                bus.submit(DELETE, {"volume_id": volume_id})
            elif status == CREATING:
                self._remove_named(volume_id)
                fail_volume(self._store, volume_id, CREATING, ERROR, reason)
            elif status == EXTENDING:
                fail_volume(self._store, volume_id, EXTENDING, ERROR_EXTENDING, reason)
        for snapshot_id, status, _volume_id in snapshots:
            if status == SNAP_DELETING:
                bus.submit(SNAPSHOT_DELETE, {"snapshot_id": snapshot_id})
            elif status == SNAP_CREATING:
                self._remove_named(snapshot_disk_name(snapshot_id))
                fail_snapshot(self._store, snapshot_id, SNAP_CREATING, SNAP_ERROR, reason)

    def _remove_named(self, name: str) -> None:
        """Remove a disk called `name` from whichever datastore has one."""
        try:
            for datastore in self._driver.list_datastores():
                path = volume_path(datastore.name, name)
                if self._driver.disk_exists(path):
                    self._undo_disk(path)
        except DriverError:
            LOG.exception("could not look for the disk %s of an interrupted operation", name)

    # -- create ----------------------------------------------------------------------------------

    def _on_create(self, payload: Mapping[str, Any]) -> None:
        source = payload.get("source")
        with contextlib.suppress(BuildFailed):  # recorded on the volume
            self.build(str(payload["volume_id"]), source and str(source), int(payload["source_gb"]))

    def build(self, volume_id: str, source: str | None, source_gb: int) -> None:
        """Make the disk of a `creating` volume: blank, or a copy of `source` (a volume,
        snapshot or image disk of `source_gb`) grown to the volume's size.

        :raises BuildFailed: the disk could not be made; the volume is in `error`.
        """
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != CREATING:
                return
            size, type_id = row.size_gb, row.volume_type_id
            from_image = row.image_id is not None and not (row.source_volid or row.snapshot_id)
            specs = queries.extra_specs(unit, type_id)
        path: str | None = None
        try:
            provisioning = disk_provisioning(specs)  # multiattach: eagerZeroedThick
            datastore = placement.choose(
                self._driver.list_datastores(),
                size,
                configured=self._settings.datastores,
                regex=specs.get(DATASTORE_REGEX),
                specs=specs,
            )
            if source is None:
                disk = self._driver.create_disk(datastore.name, volume_id, size, provisioning)
                path = disk.path
            else:
                disk = self._driver.copy_disk(source, datastore.name, volume_id, provisioning)
                path = disk.path
                if size > source_gb:
                    self._driver.extend_disk(path, size)
        except (DriverError, VistackError) as exc:
            self._undo_disk(path)
            message = failure_reason(exc)
            event = messages.build_failed(exc, from_image=from_image)
            fail_volume(self._store, volume_id, CREATING, ERROR, message, event)
            LOG.warning("volume %s failed to build: %s", volume_id, message)
            raise BuildFailed(message) from exc
        with self._store.transaction() as unit:
            done = queries.set_volume_status(
                unit,
                volume_id,
                [CREATING],
                status=AVAILABLE,
                path=path,
                datastore=datastore.name,
                provisioning=provisioning.value,
                updated_at=utcnow(),
            )
            gone = queries.volume(unit, volume_id) is None
        if not done and gone:
            # Deleted while its disk was being made: the disk must not outlive it.
            self._undo_disk(path)

    def _undo_disk(self, path: str | None) -> None:
        undo_disk(self._driver, path, "volume")

    # -- delete ----------------------------------------------------------------------------------

    def delete(self, volume_id: str) -> None:
        """Delete a `deleting` volume's snapshots being deleted with it, its disk, its row."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != DELETING:
                return
            path = row.path
            snapshots = [
                (s.id, s.path)
                for s in queries.snapshots(unit, None, volume_id)
                if s.status == SNAP_DELETING
            ]
        try:
            for _snapshot_id, snapshot_path in snapshots:
                self._delete_disk(snapshot_path)
            self._delete_disk(path)
        except DriverError as exc:
            fail_volume(self._store, volume_id, DELETING, ERROR_DELETING, failure_reason(exc))
            LOG.warning("volume %s failed to delete: %s", volume_id, exc)
            return
        with self._store.transaction() as unit:
            for snapshot_id, _path in snapshots:
                snapshot = queries.snapshot(unit, snapshot_id)
                if snapshot is not None:
                    unit.delete(snapshot)
            row = queries.volume(unit, volume_id)
            if row is not None:
                unit.delete(row)

    def _delete_disk(self, path: str | None) -> None:
        if path is None:
            return
        with contextlib.suppress(NotFoundError):  # gone already (an earlier attempt)
            self._driver.delete_disk(path)

    # -- extend ----------------------------------------------------------------------------------

    def _on_extend(self, payload: Mapping[str, Any]) -> None:
        self.extend(str(payload["volume_id"]), int(payload["old_size"]), int(payload["new_size"]))

    def extend(self, volume_id: str, old_size: int, new_size: int) -> None:
        """Grow an `extending` volume's disk; on failure it keeps its old size and is
        `error_extending`, as Cinder leaves it."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != EXTENDING or row.path is None:
                return
            path = row.path
        try:
            self._driver.extend_disk(path, new_size)
        except DriverError as exc:
            fail_volume(
                self._store,
                volume_id,
                EXTENDING,
                ERROR_EXTENDING,
                failure_reason(exc),
                messages.EXTEND_FAILED,
                size_gb=old_size,
            )
            LOG.warning("volume %s failed to extend: %s", volume_id, exc)
            return
        with self._store.transaction() as unit:
            queries.set_volume_status(
                unit, volume_id, [EXTENDING], status=AVAILABLE, updated_at=utcnow()
            )

    # -- snapshots -------------------------------------------------------------------------------

    def create_snapshot(self, snapshot_id: str) -> None:
        """Copy the volume's disk next to it as the snapshot's disk."""
        with self._store.transaction() as unit:
            snapshot = queries.snapshot(unit, snapshot_id)
            if snapshot is None or snapshot.status != SNAP_CREATING:
                return
            volume = queries.volume(unit, snapshot.volume_id)
            source = volume.path if volume is not None else None
            datastore = volume.datastore if volume is not None else None
            provisioning = volume.provisioning if volume is not None else "thin"
        path: str | None = None
        try:
            if source is None or datastore is None:
                raise NotFoundError(f"volume {snapshot.volume_id} has no disk to snapshot")
            disk = self._driver.copy_disk(
                source,
                datastore,
                snapshot_disk_name(snapshot_id),
                provisioning_of({"vmware:vmdk_type": provisioning}),
            )
            path = disk.path
        except DriverError as exc:
            fail_snapshot(
                self._store,
                snapshot_id,
                SNAP_CREATING,
                SNAP_ERROR,
                failure_reason(exc),
                messages.SNAPSHOT_CREATE_FAILED,
            )
            LOG.warning("snapshot %s failed: %s", snapshot_id, exc)
            return
        with self._store.transaction() as unit:
            done = queries.set_snapshot_status(
                unit,
                snapshot_id,
                [SNAP_CREATING],
                status=SNAP_AVAILABLE,
                path=path,
                progress="100%",
                updated_at=utcnow(),
            )
            gone = queries.snapshot(unit, snapshot_id) is None
        if not done and gone:
            self._undo_disk(path)

    def delete_snapshot(self, snapshot_id: str) -> None:
        with self._store.transaction() as unit:
            snapshot = queries.snapshot(unit, snapshot_id)
            if snapshot is None or snapshot.status != SNAP_DELETING:
                return
            path = snapshot.path
        try:
            self._delete_disk(path)
        except DriverError as exc:
            fail_snapshot(
                self._store,
                snapshot_id,
                SNAP_DELETING,
                SNAP_ERROR_DELETING,
                failure_reason(exc),
                messages.SNAPSHOT_DELETE_FAILED,
            )
            return
        with self._store.transaction() as unit:
            row = queries.snapshot(unit, snapshot_id)
            if row is not None:
                unit.delete(row)
