"""Cinder's side of Nova's `SnapshotPort` (vistack.compute.domain.volume_snapshot_port), in
process: the snapshots a createImage of a volume-backed server takes of each of its volumes,
and the volumes a server booted from that image gets from them.

The snapshot is recorded as the API records one (same quota, same `creating` row) but copied
in the caller's thread through the same job code (`VolumeWork.create_snapshot`): Nova's job
waits for every copy before it activates the image, and waiting on a bus job from a bus worker
could starve the pool. A copy that fails leaves nothing (its `error` row goes too), so Nova's
undo only has the snapshots that were made to delete.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from vistack.compute.domain.volume_snapshot_port import SnapshotFacts
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import SnapshotRow
from vistack.volume.domain.models import SNAP_AVAILABLE, SNAP_DELETING
from vistack.volume.domain.quotas import QuotaExceeded
from vistack.volume.domain.snapshots import record_snapshot
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import VolumeWork


class NovaSnapshots:
    """The snapshot half of Nova's port over the volume service."""

    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes
        self._store = volumes.store

    def _work(self) -> VolumeWork:
        work = self._volumes.work
        if work is None:
            raise ServiceUnavailable("No vCenter is configured: snapshots cannot be created.")
        return work

    def _visible(self, unit: VolumeUnit, context: RequestContext, snapshot_id: str) -> SnapshotRow:
        row = queries.snapshot(unit, snapshot_id)
        if row is None or not self._volumes.policy.check(
            "volume:get_snapshot", context, {"project_id": row.project_id}
        ):
            raise NotFound(f"Snapshot {snapshot_id} could not be found.")
        return row

    def snapshot_volume(
        self, context: RequestContext, volume_id: str, *, name: str, description: str | None
    ) -> SnapshotFacts:
        work = self._work()
        try:  # Nova forces snapshots of in-use volumes; its createImage answers 409 on refusal
            snapshot_id = record_snapshot(
                self._volumes, context, volume_id, force=True, name=name, description=description
            ).id
        except (BadRequest, QuotaExceeded) as exc:
            raise Conflict(exc.message) from None
        work.create_snapshot(snapshot_id)
        with self._store.transaction() as unit:
            made = queries.snapshot(unit, snapshot_id)
            facts = _facts(made) if made is not None else None
            reason = (made.error_message if made is not None else None) or "it was deleted"
        if facts is None or facts.status != SNAP_AVAILABLE:
            self._drop(snapshot_id)
            raise ServiceUnavailable(f"The snapshot of volume {volume_id} failed: {reason}")
        return facts

    def show_snapshot(self, context: RequestContext, snapshot_id: str) -> SnapshotFacts:
        with self._store.transaction() as unit:
            return _facts(self._visible(unit, context, snapshot_id))

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        with self._store.transaction() as unit:
            row = queries.snapshot(unit, snapshot_id)
            if row is None:
                return
            self._volumes.authorize("volume:delete_snapshot", context, row.project_id)
            row.status = SNAP_DELETING
        self._drop(snapshot_id)

    def _drop(self, snapshot_id: str) -> None:
        """Delete the snapshot's disk (if any) and its row, now."""
        with self._store.transaction() as unit:
            row = queries.snapshot(unit, snapshot_id)
            if row is not None and row.status != SNAP_DELETING:
                row.status = SNAP_DELETING
        self._work().delete_snapshot(snapshot_id)

    def volume_image_metadata(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id)
            return {str(k): str(v) for k, v in (row.image_metadata or {}).items()}

    def check_size(self, context: RequestContext, snapshot_id: str, size_gb: int | None) -> int:
        """The size of the volume made from the snapshot (`size_gb`, else the snapshot's).

        :raises NotFound: no such snapshot. :raises BadRequest: not available, or too small.
        """
        snapshot = self.show_snapshot(context, snapshot_id)
        if snapshot.status != SNAP_AVAILABLE:
            raise BadRequest(
                f"Invalid snapshot: snapshot {snapshot_id} must be available, not "
                f"{snapshot.status}."
            )
        size = size_gb if size_gb is not None else snapshot.size_gb
        if size < snapshot.size_gb:
            raise BadRequest(
                f"Volume size {size} GB is smaller than snapshot {snapshot_id} "
                f"({snapshot.size_gb} GB)."
            )
        return size


def _facts(row: SnapshotRow) -> SnapshotFacts:
    return SnapshotFacts(id=row.id, volume_id=row.volume_id, status=row.status, size_gb=row.size_gb)
