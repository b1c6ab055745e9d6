"""`revert` (microversion 3.40): a volume's disk made its latest snapshot's disk again.

A snapshot here is a full copy of the volume's disk next to it (`snapshots.py`), so a revert is
a copy the other way: the snapshot's disk copied to a temporary disk and moved over the volume's
(`VolumeDriver.replace_disk`), which leaves the volume's disk untouched if anything fails. As
Cinder, only the latest snapshot may be reverted to (an older one would silently drop the
newer snapshots' point in time), the volume must be `available` (a VM must not hold the disk),
and while it runs the volume is `reverting` and the snapshot `restoring`. A volume grown since
its snapshot is grown again after the copy, as Cinder's manager does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.drivers.errors import DriverError
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import queries
from vistack.volume.domain.disk_jobs import fail_snapshot, fail_volume, failure_reason
from vistack.volume.domain.models import AVAILABLE, ERROR, SNAP_AVAILABLE
from vistack.volume.domain.types import provisioning_of
from vistack.volume.domain.volumes import VolumeService

LOG = logging.getLogger(__name__)

REVERT = "volume.revert"
REVERTING = "reverting"
RESTORING = "restoring"


class VolumeRevert:
    """The action (`start`) and its bus job (`run`)."""

    def __init__(self, volumes: VolumeService, driver: VolumeDriver) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._driver = driver

    def register(self, bus: WorkQueue) -> None:
        bus.register(REVERT, self.run)

    def start(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = body.get("revert") if isinstance(body, dict) else None
        snapshot_id = args.get("snapshot_id") if isinstance(args, dict) else None
        if not isinstance(snapshot_id, str) or not snapshot_id:
            raise BadRequest("Malformed request body: 'revert' needs a 'snapshot_id'.")
        bus = self._volumes.bus
        if bus is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be reverted.")
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize("volume:revert_to_snapshot", context, row.project_id)
            snapshot = queries.snapshot(unit, snapshot_id)
            if snapshot is None or not self._volumes.policy.check(
                "volume:get_snapshot", context, {"project_id": snapshot.project_id}
            ):
                raise NotFound(f"Snapshot {snapshot_id} could not be found.")
            if snapshot.volume_id != row.id:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {snapshot_id} is not a snapshot of volume "
                    f"{row.id}."
                )
            latest = queries.snapshots(unit, None, row.id)[-1]  # ordered by created_at
            if latest.id != snapshot.id:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {snapshot_id} is not the latest one of volume "
                    f"{row.id} ({latest.id} is); a volume reverts to its latest snapshot only."
                )
            if row.status != AVAILABLE or row.path is None:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available to revert it, "
                    f"but it is {row.status}."
                )
            if snapshot.status != SNAP_AVAILABLE or snapshot.path is None:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {snapshot.id} status must be available to "
                    f"revert to it, but it is {snapshot.status}."
                )
            now = utcnow()
            row.status, row.error_message, row.updated_at = REVERTING, None, now
            snapshot.status, snapshot.updated_at = RESTORING, now
        try:
            bus.submit(REVERT, {"volume_id": volume_id, "snapshot_id": snapshot_id})
        except BaseException:
            self._end(volume_id, snapshot_id, AVAILABLE, "The revert could not be queued.")
            raise

    def run(self, payload: Mapping[str, Any]) -> None:
        self.revert(str(payload["volume_id"]), str(payload["snapshot_id"]))

    def revert(self, volume_id: str, snapshot_id: str) -> None:
        """Copy the snapshot's disk over the volume's; grow it back to the volume's size."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            snapshot = queries.snapshot(unit, snapshot_id)
            if row is None or row.status != REVERTING or row.path is None:
                return
            if snapshot is None or snapshot.path is None:
                fail_volume(self._store, volume_id, REVERTING, AVAILABLE, "The snapshot is gone.")
                return
            path, source = row.path, snapshot.path
            size_gb, snapshot_gb = row.size_gb, snapshot.size_gb
            provisioning = provisioning_of({"vmware:vmdk_type": row.provisioning})
        try:
            self._driver.replace_disk(source, path, provisioning)
        except DriverError as exc:
            # The volume's disk is as it was: the volume is usable, the reason is kept.
            self._end(volume_id, snapshot_id, AVAILABLE, f"Revert failed: {failure_reason(exc)}")
            LOG.warning("volume %s failed to revert to %s: %s", volume_id, snapshot_id, exc)
            return
        if size_gb > snapshot_gb:
            try:
                self._driver.extend_disk(path, size_gb)
            except DriverError as exc:
                message = (
                    f"Reverted to snapshot {snapshot_id}, but the disk could not be grown back "
                    f"to {size_gb} GB: {failure_reason(exc)}"
                )
                self._end(volume_id, snapshot_id, ERROR, message)
                return
        self._end(volume_id, snapshot_id, AVAILABLE, None)

    def _end(self, volume_id: str, snapshot_id: str, status: str, message: str | None) -> None:
        with self._store.transaction() as unit:
            queries.set_volume_status(
                unit,
                volume_id,
                [REVERTING],
                status=status,
                error_message=message,
                updated_at=utcnow(),
            )
        with self._store.transaction() as unit:
            queries.set_snapshot_status(
                unit, snapshot_id, [RESTORING], status=SNAP_AVAILABLE, updated_at=utcnow()
            )

    def recover(self) -> None:
        """After a restart: a revert that was running may have moved the copy over the disk
        or not; the volume goes to `error` (its content is unknown), its snapshot back."""
        reason = "Interrupted by a restart of the volume service; revert it again."
        with self._store.transaction() as unit:
            volumes = [v.id for v in queries.volumes(unit, None) if v.status == REVERTING]
            snapshots = [s.id for s in queries.snapshots(unit, None) if s.status == RESTORING]
        for volume_id in volumes:
            fail_volume(self._store, volume_id, REVERTING, ERROR, reason)
        for snapshot_id in snapshots:
            fail_snapshot(self._store, snapshot_id, RESTORING, SNAP_AVAILABLE, reason)
