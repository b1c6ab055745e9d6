"""The bus jobs of generic volume groups, built on the volume jobs (`work.py`): a group's
delete, a group snapshot's create and delete, and a group's build from a source.

Each runs its members one after another through the single-resource machinery
(`VolumeWork.delete`, `create_snapshot`, `delete_snapshot`, `build`), which already leaves
nothing half-made for one member, and then settles the group or group snapshot: all members
done is `available` (or gone, for a delete); one failed member undoes the others made for the
same request (a group snapshot or a new group is all or nothing) and leaves the group or group
snapshot in Cinder's error status with the reason kept in `error_message`. Groups and group
snapshots follow these rules alike, so the jobs run them once over a `_Whole` of either kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.volume.db import group_queries as gq
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.domain.group_models import (
    G_AVAILABLE,
    G_CREATING,
    G_DELETING,
    G_ERROR,
    G_ERROR_DELETING,
    GS_CREATING,
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


@dataclass(frozen=True)
class _Whole:
    """A group or a group snapshot as its jobs settle it: how to read it and its members, and
    how to change their statuses. A group's and a group snapshot's statuses are spelled alike
    in Cinder (`creating`, `available`, `error`, `deleting`, `error_deleting`; see
    `group_models.py`), so the jobs use the group's names for both; their members' differ."""

    label: str
    #: The member, capitalised, for messages ("Volume").
    member: str
    fetch: Callable[[VolumeUnit, str], Any]
    members: Callable[[VolumeUnit, str], Sequence[Any]]
    set_status: Callable[..., bool]
    #: The members' conditional status write (`queries.set_volume_status`, ...).
    set_member_status: Callable[..., bool]
    #: A member's status while it waits for its delete job.
    member_deleting: str
    #: The statuses a member of a failed create is removed from, whatever it reached.
    member_undoable: tuple[str, ...]
    #: The volume job that deletes one member (run here, or queued by its topic with the
    #: member's id under `member_key`).
    delete_member: Callable[[VolumeWork, str], None]
    member_delete_topic: str
    member_key: str
    #: This kind's own delete job, and the key of its payload.
    delete_topic: str
    key: str


GROUP = _Whole(
    "group",
    "Volume",
    gq.group,
    gq.members,
    gq.set_group_status,
    queries.set_volume_status,
    DELETING,
    (CREATING, AVAILABLE, ERROR),
    VolumeWork.delete,
    DELETE,
    "volume_id",
    GROUP_DELETE,
    "group_id",
)
GROUP_SNAPSHOT = _Whole(
    "group snapshot",
    "Snapshot",
    gq.group_snapshot,
    gq.snapshot_members,
    gq.set_group_snapshot_status,
    queries.set_snapshot_status,
    SNAP_DELETING,
    (SNAP_CREATING, SNAP_AVAILABLE, SNAP_ERROR),
    VolumeWork.delete_snapshot,
    SNAPSHOT_DELETE,
    "snapshot_id",
    GROUP_SNAPSHOT_DELETE,
    "group_snapshot_id",
)


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

    # -- deletes -----------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> None:
        """Delete the `deleting` members, then the group; a member that could not be deleted
        (`error_deleting`) leaves the group `error_deleting`."""
        self._delete_whole(GROUP, group_id)

    def delete_group_snapshot(self, ident: str) -> None:
        """As `delete_group`, for a group snapshot and its member snapshots."""
        self._delete_whole(GROUP_SNAPSHOT, ident)

    def _delete_whole(self, whole: _Whole, ident: str) -> None:
        with self._store.transaction() as unit:
            row = whole.fetch(unit, ident)
            if row is None or row.status != G_DELETING:
                return
            members = [
                m.id for m in whole.members(unit, ident) if m.status == whole.member_deleting
            ]
        for member_id in members:
            whole.delete_member(self._work, member_id)
        with self._store.transaction() as unit:
            left = whole.members(unit, ident)
            if not left:
                row = whole.fetch(unit, ident)
                if row is not None:
                    unit.delete(row)
                return
            whole.set_status(
                unit,
                ident,
                [G_DELETING],
                status=G_ERROR_DELETING,
                error_message=(
                    f"{whole.member} {left[0].id} of the {whole.label} could not be deleted."
                ),
                updated_at=utcnow(),
            )

    # -- creates -----------------------------------------------------------------------------

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
        self._settle(GROUP_SNAPSHOT, ident, failure, members)

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
        self._settle(GROUP, group_id, failure, [v[0] for v in volumes])

    def _settle(self, whole: _Whole, ident: str, failure: str | None, members: list[str]) -> None:
        """All or nothing: every member made leaves the whole `available`; a failure removes
        the members (disk and row, whatever they reached) and leaves the whole in `error`
        with the reason."""
        if failure is None:
            with self._store.transaction() as unit:
                whole.set_status(unit, ident, [G_CREATING], status=G_AVAILABLE, updated_at=utcnow())
            return
        LOG.warning("%s %s failed: %s", whole.label, ident, failure)
        self._mark_deleting(whole, members, updated_at=utcnow())
        for member_id in members:
            whole.delete_member(self._work, member_id)
        with self._store.transaction() as unit:
            whole.set_status(
                unit,
                ident,
                [G_CREATING],
                status=G_ERROR,
                error_message=failure,
                updated_at=utcnow(),
            )

    def _mark_deleting(self, whole: _Whole, members: list[str], **values: object) -> None:
        with self._store.transaction() as unit:
            for member_id in members:
                whole.set_member_status(
                    unit, member_id, whole.member_undoable, status=whole.member_deleting, **values
                )

    # -- restart -----------------------------------------------------------------------------

    def recover(self, bus: WorkQueue) -> None:
        """After `VolumeWork.recover`: deletes are queued again; a group snapshot or group
        build that was running goes to error and its members are removed (they were failed
        by the volume recovery, or finished: either way the whole did not)."""
        with self._store.transaction() as unit:
            found = {
                whole: [(row.id, row.status) for row in rows]
                for whole, rows in (
                    (GROUP, gq.groups(unit, None)),
                    (GROUP_SNAPSHOT, gq.group_snapshots(unit, None)),
                )
            }
            running = {
                whole: {
                    ident: [m.id for m in whole.members(unit, ident)]
                    for ident, status in rows
                    if status == G_CREATING
                }
                for whole, rows in found.items()
            }
        for whole, rows in found.items():
            for ident, status in rows:
                if status == G_DELETING:
                    bus.submit(whole.delete_topic, {whole.key: ident})
        for whole, creates in running.items():
            for ident, members in creates.items():
                self._mark_deleting(whole, members)
                for member_id in members:
                    bus.submit(whole.member_delete_topic, {whole.member_key: member_id})
                with self._store.transaction() as unit:
                    whole.set_status(
                        unit, ident, [G_CREATING], status=G_ERROR, error_message=INTERRUPTED
                    )
