"""Settling, at start-up, the moves of attached volumes that a restart interrupted
(`migrate_attached.py`): the in-process bus lost the job, so what the rows and the server's VM
say decides whether each move is undone or finished, and no temporary volume, disk or
attachment is left behind.

A move leaves its traces in this order:

1. the volume `migrating`;
2. the temporary volume (`target:<volume id>`, `creating`, no path);
3. its new disk, named after the volume on another datastore and after the temporary volume
   on the same one (`volume_path`), so it is found before its path is recorded;
4. the path recorded, the temporary volume `available`;
5. Nova's half: the volume's attachment `detaching`, then one of the temporary volume reserved;
6. the VM on the new disk (vSphere's reconfiguration: from here the move is finished);
7. the attachments completed;
8. Cinder's completion: the volume names the new disk, `success`; the temporary row,
   `deleting`, names the old disk;
9. the old disk deleted, then the temporary row.

Before 6 the move is undone: Nova drops the temporary volume's attachment and attaches the
volume's again, the new disk and the temporary row go, and the volume is `in-use` on its old
disk with `migration_status` `error` and the reason. From 6 on it is finished: Nova completes
the attachments and Cinder's completion and its mapping names the new disk, then the old disk
and the temporary row go. Whether 6 happened is the VM's disk backings' to say, which Nova
reads (`ResumeSwap`); before 5 the VM cannot hold the new disk, so no compute service is needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vistack.drivers.errors import DriverError
from vistack.drivers.volumes import VolumeDriver, volume_path
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import attachments
from vistack.volume.domain.migrate_attached import (
    MIGRATING,
    TARGET,
    ResumeSwap,
    abandon,
    delete_old_disk,
    drop_temporary,
    is_target,
)
from vistack.volume.domain.models import DELETING

LOG = logging.getLogger(__name__)

INTERRUPTED = (
    "{what} failed: interrupted by a restart of the volume service before the server was "
    "moved onto the new disk; the volume is still on its old disk. Try again."
)


class Undecided(Exception):
    """What the VM holds cannot be told now: the move is left as it is for the next start."""


@dataclass(frozen=True)
class _Volume:
    """The moved volume, as its row tells it."""

    path: str | None
    datastore: str | None
    type_id: str | None
    migrating: bool


@dataclass(frozen=True)
class _Move:
    """One interrupted move, as the rows tell it."""

    temp_id: str
    temp_status: str
    temp_path: str | None
    temp_datastore: str | None
    temp_type: str | None
    #: Nova began its half (step 5): the volume's attachment is `detaching`, or the temporary
    #: volume has one.
    nova_began: bool
    #: The temporary volume has an attachment: only then may the VM hold its disk.
    temp_attached: bool
    volume_id: str
    #: None when the volume is gone.
    volume: _Volume | None
    server_id: str | None


class InterruptedMoves:
    """Undo or finish every move of an attached volume a restart interrupted."""

    def __init__(self, store: VolumeStore, driver: VolumeDriver, resume: ResumeSwap | None) -> None:
        self._store = store
        self._driver = driver
        self._resume = resume

    def settle(self) -> None:
        with self._store.transaction() as unit:
            rows = queries.volumes(unit, None)
            by_id = {r.id: r for r in rows}
            moves = [self._read(unit, t, by_id) for t in rows if is_target(t)]
            stuck = [r.id for r in rows if r.migration_status == MIGRATING]
        left: set[str] = set()
        for move in moves:
            try:
                self._settle(move)
            except Exception:  # anything: this move waits for the next start, the others go on
                LOG.exception(
                    "could not settle the interrupted move of volume %s onto %s; it stays "
                    "migrating until the next start",
                    move.volume_id,
                    move.temp_id,
                )
                left.add(move.volume_id)
        # A move with no temporary volume (or one just undone) never reached the VM.
        for volume_id in stuck:
            if volume_id not in left:
                abandon(self._store, volume_id, INTERRUPTED.format(what="Migration"))

    @staticmethod
    def _read(unit: VolumeUnit, temp: VolumeRow, by_id: dict[str, VolumeRow]) -> _Move:
        volume_id = (temp.migration_status or "")[len(TARGET) :]
        row = by_id.get(volume_id)
        found = queries.attachments_of_volume(unit, volume_id)
        temp_found = queries.attachments_of_volume(unit, temp.id)
        servers = [a.server_id for a in (*found, *temp_found) if a.server_id]
        volume = None
        if row is not None:
            volume = _Volume(
                row.path, row.datastore, row.volume_type_id, row.migration_status == MIGRATING
            )
        return _Move(
            temp_id=temp.id,
            temp_status=temp.status,
            temp_path=temp.path,
            temp_datastore=temp.datastore,
            temp_type=temp.volume_type_id,
            nova_began=bool(temp_found)
            or any(a.attach_status == attachments.ATT_DETACHING for a in found),
            temp_attached=bool(temp_found),
            volume_id=volume_id,
            volume=volume,
            server_id=servers[0] if servers else None,
        )

    def _settle(self, move: _Move) -> None:
        volume = move.volume
        if move.temp_status == DELETING and move.temp_path is not None:
            self._after_completion(move)
        elif volume is None:
            drop_temporary(self._store, self._driver, move.temp_id, move.temp_path)
        elif move.temp_path is None:
            self._undo(move, self._named_disk(move, volume))
        elif not move.nova_began or (not move.temp_attached and self._resume is None):
            self._undo(move, move.temp_path)  # the VM cannot hold the new disk
        elif not volume.migrating:
            raise Undecided(
                f"volume {move.volume_id} is no longer migrating but Nova began swapping it "
                f"onto {move.temp_id}"
            )
        else:
            self._ask_nova(move, move.temp_path)

    def _after_completion(self, move: _Move) -> None:
        """Steps 8-9: Cinder's side is done; Nova's mapping may not name the new disk yet (it
        changes after the completion), so Nova settles it, then the old disk goes."""
        volume = move.volume
        if self._resume is not None and move.server_id and volume and volume.path:
            try:
                self._resume(move.server_id, move.volume_id, move.temp_id, volume.path)
            except Exception:
                LOG.exception("could not settle Nova's mapping of volume %s", move.volume_id)
        assert move.temp_path is not None
        delete_old_disk(self._store, self._driver, move.temp_id, move.temp_path)

    def _ask_nova(self, move: _Move, new_path: str) -> None:
        """Steps 5-7: the VM decides, and Nova settles its side (its instance action too)."""
        if self._resume is None or move.server_id is None:
            raise Undecided(
                f"no compute service here to tell whether server {move.server_id} holds {new_path}"
            )
        if not self._resume(move.server_id, move.volume_id, move.temp_id, new_path):
            self._undo(move, new_path)
            return
        with self._store.transaction() as unit:
            temp = queries.volume(unit, move.temp_id)
            old_path = temp.path if temp is not None and temp.status == DELETING else None
        if old_path is None:
            raise Undecided(
                f"Nova finished the swap of volume {move.volume_id} without its completion"
            )
        delete_old_disk(self._store, self._driver, move.temp_id, old_path)

    def _undo(self, move: _Move, new_path: str | None) -> None:
        """Before step 6: the volume's attachment attached again, the temporary volume's
        attachment, disk and row gone, the volume `error` in migration with the reason."""
        with self._store.transaction() as unit:
            for found in queries.attachments_of_volume(unit, move.volume_id):
                if found.attach_status == attachments.ATT_DETACHING:
                    attachments.roll_back_detach(unit, found)
        drop_temporary(self._store, self._driver, move.temp_id, new_path)
        volume = move.volume
        what = "Retype" if volume is not None and move.temp_type != volume.type_id else "Migration"
        abandon(self._store, move.volume_id, INTERRUPTED.format(what=what))

    def _named_disk(self, move: _Move, volume: _Volume) -> str | None:
        """Step 3 without 4: the new disk may exist under the name the job gives it."""
        if move.temp_datastore is None:
            return None
        same = move.temp_datastore == volume.datastore
        path = volume_path(move.temp_datastore, move.temp_id if same else move.volume_id)
        if path == volume.path:
            return None
        try:
            return path if self._driver.disk_exists(path) else None
        except DriverError:
            LOG.exception("could not look for the new disk %s of an interrupted move", path)
            return path
