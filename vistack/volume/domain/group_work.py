"""The bus jobs of generic volume groups, built on the volume jobs (`work.py`): a group's
delete, a group snapshot's create and delete, and a group's build from a source.

Each runs its members one after another through the single-resource machinery
(`VolumeWork.delete`, `create_snapshot`, `delete_snapshot`, `build`), which already leaves
nothing half-made for one member, and then settles the group or group snapshot: all members
done is `available` (or gone, for a delete); one failed member undoes the others made for the
same request (a group snapshot or a new group is all or nothing) and leaves the group or group
snapshot in Cinder's error status with the reason kept in `error_message`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.volume.db import group_queries as gq
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain.group_models import (
    G_AVAILABLE,
    G_CREATING,
    G_DELETING,
    G_ERROR,
    G_ERROR_DELETING,
    GS_AVAILABLE,
    GS_CREATING,
    GS_DELETING,
    GS_ERROR,
    GS_ERROR_DELETING,
)
from vistack.volume.domain.group_snapshots import GROUP_SNAPSHOT_CREATE, GROUP_SNAPSHOT_DELETE
from vistack.volume.domain.group_sources import GROUP_BUILD
from vistack.volume.domain.groups import GROUP_DELETE
from vistack.volume.domain.models import (
    AVAILABLE,
    CREATING,
    DELETING,
    ERROR,
    SNAP_AVAILABLE,
    SNAP_CREATING,
    SNAP_DELETING,
    SNAP_ERROR,
)
from vistack.volume.domain.work import DELETE, SNAPSHOT_DELETE, BuildFailed, VolumeWork

LOG = logging.getLogger(__name__)
INTERRUPTED = "Interrupted by a restart of the volume service; delete it and try again."


class GroupWork:
    """Runs the member-by-member side of group operations."""

    def __init__(self, store: VolumeStore, work: VolumeWork) -> None:
        self._store = store
        self._work = work

    def register(self, bus: WorkQueue) -> None:
        bus.register(GROUP_DELETE, lambda p: self.delete_group(str(p["group_id"])))
        bus.register(
            GROUP_SNAPSHOT_CREATE, lambda p: self.create_group_snapshot(str(p["group_snapshot_id"]))
        )
        bus.register(
            GROUP_SNAPSHOT_DELETE, lambda p: self.delete_group_snapshot(str(p["group_snapshot_id"]))
        )
        bus.register(GROUP_BUILD, self._on_build)

    # -- group delete ------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> None:
        """Delete the `deleting` members, then the group; a member that could not be deleted
        (`error_deleting`) leaves the group `error_deleting`."""
        with self._store.transaction() as unit:
            row = gq.group(unit, group_id)
            if row is None or row.status != G_DELETING:
                return
            members = [v.id for v in gq.members(unit, group_id) if v.status == DELETING]
        for volume_id in members:
            self._work.delete(volume_id)
        with self._store.transaction() as unit:
            left = gq.members(unit, group_id)
            if not left:
                row = gq.group(unit, group_id)
                if row is not None:
                    unit.delete(row)
                return
            gq.set_group_status(
                unit,
                group_id,
                [G_DELETING],
                status=G_ERROR_DELETING,
                error_message=f"Volume {left[0].id} of the group could not be deleted.",
                updated_at=utcnow(),
            )

    # -- group snapshots ---------------------------------------------------------------------

    def create_group_snapshot(self, ident: str) -> None:
        """Copy each member's disk; any failure removes the members made and fails it all."""
        with self._store.transaction() as unit:
            row = gq.group_snapshot(unit, ident)
            if row is None or row.status != GS_CREATING:
                return
            members = [s.id for s in gq.snapshot_members(unit, ident)]
        failure: str | None = None
        for snapshot_id in members:
            self._work.create_snapshot(snapshot_id)
            with self._store.transaction() as unit:
                snapshot = queries.snapshot(unit, snapshot_id)
                if snapshot is None or snapshot.status != SNAP_AVAILABLE:
                    reason = snapshot.error_message if snapshot is not None else None
                    failure = (
                        f"The snapshot of volume {snapshot.volume_id if snapshot else '?'} "
                        f"failed: {reason or 'it is gone'}"
                    )
                    break
        if failure is None:
            with self._store.transaction() as unit:
                gq.set_group_snapshot_status(
                    unit, ident, [GS_CREATING], status=GS_AVAILABLE, updated_at=utcnow()
                )
            return
        LOG.warning("group snapshot %s failed: %s", ident, failure)
        self._remove_snapshots(members)
        with self._store.transaction() as unit:
            gq.set_group_snapshot_status(
                unit,
                ident,
                [GS_CREATING],
                status=GS_ERROR,
                error_message=failure,
                updated_at=utcnow(),
            )

    def _remove_snapshots(self, snapshot_ids: list[str]) -> None:
        """Delete these member snapshots (disk and row) whatever they reached."""
        with self._store.transaction() as unit:
            for snapshot_id in snapshot_ids:
                queries.set_snapshot_status(
                    unit,
                    snapshot_id,
                    [SNAP_CREATING, SNAP_AVAILABLE, SNAP_ERROR],
                    status=SNAP_DELETING,
                    updated_at=utcnow(),
                )
        for snapshot_id in snapshot_ids:
            self._work.delete_snapshot(snapshot_id)

    def delete_group_snapshot(self, ident: str) -> None:
        with self._store.transaction() as unit:
            row = gq.group_snapshot(unit, ident)
            if row is None or row.status != GS_DELETING:
                return
            members = [s.id for s in gq.snapshot_members(unit, ident) if s.status == SNAP_DELETING]
        for snapshot_id in members:
            self._work.delete_snapshot(snapshot_id)
        with self._store.transaction() as unit:
            left = gq.snapshot_members(unit, ident)
            if not left:
                row = gq.group_snapshot(unit, ident)
                if row is not None:
                    unit.delete(row)
                return
            gq.set_group_snapshot_status(
                unit,
                ident,
                [GS_DELETING],
                status=GS_ERROR_DELETING,
                error_message=f"Snapshot {left[0].id} of the group snapshot could not be deleted.",
                updated_at=utcnow(),
            )

    # -- group build (create-from-src) -------------------------------------------------------

    def _on_build(self, payload: Mapping[str, Any]) -> None:
        volumes = [(str(v[0]), str(v[1]), int(v[2])) for v in payload["volumes"]]
        self.build_group(str(payload["group_id"]), volumes)

    def build_group(self, group_id: str, volumes: list[tuple[str, str, int]]) -> None:
        """Build each `(volume_id, source disk, source GB)`; all or nothing."""
        failure: str | None = None
        for volume_id, source, source_gb in volumes:
            try:
                self._work.build(volume_id, source, source_gb)
            except BuildFailed as exc:
                failure = f"Volume {volume_id} of the group failed to build: {exc.message}"
                break
            with self._store.transaction() as unit:
                row = queries.volume(unit, volume_id)
                if row is None or row.status != AVAILABLE:
                    failure = f"Volume {volume_id} of the group did not become available."
                    break
        if failure is None:
            with self._store.transaction() as unit:
                gq.set_group_status(
                    unit, group_id, [G_CREATING], status=G_AVAILABLE, updated_at=utcnow()
                )
            return
        LOG.warning("group %s failed to build: %s", group_id, failure)
        self._remove_volumes([v[0] for v in volumes])
        with self._store.transaction() as unit:
            gq.set_group_status(
                unit,
                group_id,
                [G_CREATING],
                status=G_ERROR,
                error_message=failure,
                updated_at=utcnow(),
            )

    def _remove_volumes(self, volume_ids: list[str]) -> None:
        with self._store.transaction() as unit:
            for volume_id in volume_ids:
                queries.set_volume_status(
                    unit,
                    volume_id,
                    [CREATING, AVAILABLE, ERROR],
                    status=DELETING,
                    updated_at=utcnow(),
                )
        for volume_id in volume_ids:
            self._work.delete(volume_id)

    # -- restart -----------------------------------------------------------------------------

    def recover(self, bus: WorkQueue) -> None:
        """After `VolumeWork.recover`: deletes are queued again; a group snapshot or group
        build that was running goes to error and its members are removed (they were failed
        by the volume recovery, or finished: either way the whole did not)."""
        with self._store.transaction() as unit:
            groups = [(g.id, g.status) for g in gq.groups(unit, None)]
            snapshots = [(s.id, s.status) for s in gq.group_snapshots(unit, None)]
            building = {
                g_id: [v.id for v in gq.members(unit, g_id)]
                for g_id, status in groups
                if status == G_CREATING
            }
            taking = {
                s_id: [m.id for m in gq.snapshot_members(unit, s_id)]
                for s_id, status in snapshots
                if status == GS_CREATING
            }
        for group_id, status in groups:
            if status == G_DELETING:
                bus.submit(GROUP_DELETE, {"group_id": group_id})
        for snapshot_id, status in snapshots:
            if status == GS_DELETING:
                bus.submit(GROUP_SNAPSHOT_DELETE, {"group_snapshot_id": snapshot_id})
        for group_id, members in building.items():
            self._fail_all(members, DELETE, "volume_id", queries.set_volume_status, bus)
            with self._store.transaction() as unit:
                gq.set_group_status(
                    unit, group_id, [G_CREATING], status=G_ERROR, error_message=INTERRUPTED
                )
        for snapshot_id, members in taking.items():
            self._fail_all(
                members, SNAPSHOT_DELETE, "snapshot_id", queries.set_snapshot_status, bus
            )
            with self._store.transaction() as unit:
                gq.set_group_snapshot_status(
                    unit, snapshot_id, [GS_CREATING], status=GS_ERROR, error_message=INTERRUPTED
                )

    def _fail_all(
        self, ids: list[str], topic: str, key: str, set_status: Any, bus: WorkQueue
    ) -> None:
        with self._store.transaction() as unit:
            for ident in ids:
                set_status(unit, ident, [CREATING, AVAILABLE, ERROR], status=DELETING)
        for ident in ids:
            bus.submit(topic, {key: ident})
