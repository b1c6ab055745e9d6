"""The background half of a server's moves: resize and cold migration (to VERIFY_RESIZE), their
confirm and revert, and live migration. `moves.MoveService` checks and queues; these jobs act.

Each job holds the server's lock (the same `ServerLocks` as builds and deletes), and records
every step it finishes in the server's `move` entry (`system_metadata`), so a restart resumes
from the last step and a failure knows what to undo. A resize's steps, as Nova names its
task states:

1. `resize_migrating` (migration `migrating`): power the VM off, copy its root disk beside it
   (`<root>-resize-backup.vmdk`) when the new flavor grows the disk — a disk never shrinks, so
   a revert puts this copy back;
2. `resize_migrated` (migration `post-migrating`): relocate the VM when the move changes cluster;
3. `resize_finish`: reconfigure CPUs, cores per socket, memory and grow the root disk; the
   server shows the new flavor;
4. power on again if it was running: `resized` (VERIFY_RESIZE), migration `finished`.

A failed step is rolled back (disk put back, old size, old cluster, old power state) and the
server returns to where it was with the migration in `error`, as Nova's rollback does; when
the rollback fails too the server is left in ERROR with a fault that says what to clean. A
delete asked meanwhile wins: the job stops at its next step and the delete's undo (plus
`drop_backup`, an `after_undo` hook) removes the VM and the kept disk.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from vistack.compute.db import migrations as moves_db
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.action_events import ActionEvents
from vistack.compute.domain.build import fault_of
from vistack.compute.domain.vm_spec import cores_per_socket
from vistack.compute.domain.vm_tuning import vm_tuning
from vistack.compute.domain.work import ServerLocks
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import (
    AlreadyExistsError,
    DriverError,
    InvalidStateError,
    NotFoundError,
)
from vistack.drivers.models import PowerState, VMInfo

LOG = logging.getLogger(__name__)

RESIZE_TOPIC = "compute.resize"
CONFIRM_TOPIC = "compute.resize_confirm"
REVERT_TOPIC = "compute.resize_revert"
LIVE_TOPIC = "compute.live_migrate"

#: The steps of a resize or cold migration, in order (`move["step"]`).
STEPS = ("prep", "stopped", "backed_up", "relocated", "resized", "finished")
#: Live-migration statuses during which the migration is in progress (Nova's list).
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


class MoveAborted(Exception):
    """A delete was asked while the move ran: stop, the delete undoes the rest."""


def backup_path(root: str) -> str:
    """Where a resize keeps the root disk it may put back: beside it, in the VM's folder."""
    return root.removesuffix(".vmdk") + "-resize-backup.vmdk"


def _reached(move: Mapping[str, Any], step: str) -> bool:
    return STEPS.index(str(move.get("step", "prep"))) >= STEPS.index(step)


def _flavor_columns(flavor: Mapping[str, Any]) -> dict[str, Any]:
    """The server columns quota and capacity sum, for `flavor`."""
    return {
        "flavor": dict(flavor),
        "vcpus": int(flavor["vcpus"]),
        "memory_mb": int(flavor["ram"]),
        "root_gb": int(flavor["disk"]),
    }


class MoveWork:
    """Runs the move jobs; `MoveService` submits them."""

    def __init__(
        self,
        store: ComputeStore,
        drivers: Drivers,
        locks: ServerLocks,
        events: ActionEvents | None = None,
    ) -> None:
        self._store = store
        self._drivers = drivers
        self._locks = locks
        self._events = events
        #: Called as `hook(server_id, old_cluster, new_cluster)` once a VM moved to another
        #: cluster (the server groups' DRS rules follow it); returns what it could not do.
        self.after_move: list[Callable[[str, str, str], list[str]]] = []

    def _moved(self, server_id: str, old_cluster: str | None, vm: VMInfo) -> None:
        if not old_cluster or old_cluster == vm.cluster:
            return
        for hook in self.after_move:
            for problem in hook(server_id, old_cluster, vm.cluster):
                LOG.warning("after moving server %s: %s", server_id, problem)

    def _event(
        self, server_id: str, request_id: str, name: str, host: str | None
    ) -> contextlib.AbstractContextManager[None]:
        """Record a step as Nova's compute manager does (`os-instance-actions` events)."""
        if self._events is None:
            return contextlib.nullcontext()
        return self._events.record(server_id, request_id, name, host=host)

    # ------------------------------------------------------------------ helpers

    def _load(self, server_id: str) -> tuple[Any, dict[str, Any] | None]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                return None, None
            unit.session.expunge(row)
            return row, moves_db.move_of(row)

    def _step(
        self,
        server_id: str,
        move: dict[str, Any],
        step: str,
        migration_status: str | None = None,
        *,
        event_id: int | None = None,
        **values: Any,
    ) -> None:
        """Record that `step` is done (with the server columns it changed and, in the same
        transaction, the migration's new status and the end of event `event_id`), unless a
        delete was asked meanwhile (then stop)."""
        move["step"] = step
        with self._store.transaction() as unit:
            if not queries.set_unless_deleting(unit, server_id, **values):
                raise MoveAborted(server_id)
            moves_db.write_move(unit, server_id, move)
            if migration_status is not None:
                moves_db.set_status(unit, int(move["migration_id"]), migration_status)
            if event_id is not None:
                ActionEvents.finish_in(unit, event_id)

    def _migration(self, migration_id: int, status: str) -> None:
        with self._store.transaction() as unit:
            moves_db.set_status(unit, migration_id, status)

    def _finish_action(self, server_id: str, request_id: str, result: str) -> None:
        with self._store.transaction() as unit:
            queries.finish_action(unit, server_id, request_id, result)

    def _power_off(self, server_id: str) -> None:
        with contextlib.suppress(InvalidStateError):
            self._drivers.compute.power_off(server_id)

    def _power_on(self, server_id: str) -> None:
        with contextlib.suppress(InvalidStateError):
            self._drivers.compute.power_on(server_id)

    # ------------------------------------------------------------------ resize / migrate

    def resize(self, payload: Mapping[str, Any]) -> None:
        """A resize or a cold migration, from the step it reached to VERIFY_RESIZE."""
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            row, move = self._load(server_id)
            if row is None or move is None or row.task_state not in states.RESIZE_TASKS:
                return
            try:
                self._resize(server_id, move, request_id)
            except MoveAborted:
                self._migration(int(move["migration_id"]), "error")
                self._finish_action(server_id, request_id, "Error")
                return
            except Exception as exc:
                self._roll_back(server_id, move, exc)
                self._finish_action(server_id, request_id, "Error")
                return
            self._finish_action(server_id, request_id, "Success")

    def _resize(self, server_id: str, move: dict[str, Any], request_id: str) -> None:
        source, dest = move.get("source"), move.get("dest")
        with self._event(server_id, request_id, "compute_resize_instance", source):
            self._move_out(server_id, move)
        # The last step's event ends in the transaction that shows VERIFY_RESIZE: a client that
        # sees the state reads the event finished too.
        event_id = (
            self._events.start(server_id, request_id, "compute_finish_resize", host=dest)
            if self._events is not None
            else None
        )
        try:
            self._finish(server_id, move, event_id)
        except BaseException as exc:
            if self._events is not None:
                self._events.finish(event_id, exc)
            raise

    def _move_out(self, server_id: str, move: dict[str, Any]) -> None:
        """Power off, keep the root disk, relocate: Nova's `resize_instance`."""
        compute = self._drivers.compute
        migration_id = int(move["migration_id"])
        old, new = move["old_flavor"], move["new_flavor"]
        if not _reached(move, "stopped"):
            self._migration(migration_id, "migrating")
            self._step(server_id, move, "prep", task_state=states.RESIZE_MIGRATING)
            self._power_off(server_id)
            vm = compute.get_vm(server_id)
            # A volume-backed server's first disk is its root volume: never grown or copied here.
            volume_backed = bool(move.get("volume_backed"))
            move["root"] = vm.disks[0].path if vm.disks and not volume_backed else None
            self._step(server_id, move, "stopped", power_state=states.SHUTDOWN)
        if not _reached(move, "backed_up"):
            root = move.get("root")
            if root and int(new["disk"]) > int(old["disk"]):
                move["backup"] = backup_path(root)
                move["backup_gb"] = compute.get_vm(server_id).disks[0].capacity_gb
                self._step(server_id, move, "stopped")  # the path first: an undo finds it
                try:
                    compute.copy_disk(root, move["backup"])
                except AlreadyExistsError:  # a copy an interrupted run began: make it again
                    self._drivers.volumes.delete_disk(move["backup"])
                    compute.copy_disk(root, move["backup"])
            self._step(server_id, move, "backed_up")
        if not _reached(move, "relocated"):
            vm = compute.relocate_vm(server_id, str(move["dest"]))
            self._moved(server_id, move.get("source"), vm)
            self._migration(migration_id, "post-migrating")
            self._step(
                server_id,
                move,
                "relocated",
                task_state=states.RESIZE_MIGRATED,
                cluster=vm.cluster,
                vm_host=vm.host,
            )

    def _finish(self, server_id: str, move: dict[str, Any], event_id: int | None = None) -> None:
        """Reconfigure, power on as before, VERIFY_RESIZE: Nova's `finish_resize` (its event
        `event_id` closed with it)."""
        compute = self._drivers.compute
        new = move["new_flavor"]
        if not _reached(move, "resized"):
            self._step(server_id, move, "relocated", task_state=states.RESIZE_FINISH)
            compute.resize_vm(
                server_id,
                cpus=int(new["vcpus"]),
                memory_mb=int(new["ram"]),
                cores_per_socket=cores_per_socket(new),
                root_gb=0 if move.get("volume_backed") else int(new["disk"]),
                tuning=vm_tuning(new),
            )
            self._step(server_id, move, "resized", **_flavor_columns(new))
        vm = compute.get_vm(server_id)
        if move.get("old_vm_state") == states.ACTIVE and vm.power_state != PowerState.ON:
            self._power_on(server_id)
            vm = compute.get_vm(server_id)
        # One transaction: VERIFY_RESIZE is never seen without its `finished` migration and
        # its event's end.
        self._step(
            server_id,
            move,
            "finished",
            "finished",
            event_id=event_id,
            vm_state=states.RESIZED,
            task_state=None,
            power_state=states.POWER_NUMBERS[vm.power_state],
            vm_host=vm.host,
            fault=None,
        )

    def _roll_back(self, server_id: str, move: dict[str, Any], exc: BaseException) -> None:
        """Put the server back where it was (Nova's rollback of a failed resize); ERROR with
        what is left when that fails too."""
        if not isinstance(exc, DriverError):
            LOG.exception("resize of server %s failed", server_id)
        else:
            LOG.info("resize of server %s failed: %s", server_id, exc)
        problems = self._undo_move(server_id, move)
        fault = fault_of(exc, problems)
        old = move["old_flavor"]
        with self._store.transaction() as unit:
            moves_db.set_status(unit, int(move["migration_id"]), "error")
            if problems:
                queries.set_unless_deleting(
                    unit, server_id, vm_state=states.ERROR, task_state=None, fault=fault
                )
                return
            vm_state = str(move.get("old_vm_state") or states.ACTIVE)
            power = states.RUNNING if vm_state == states.ACTIVE else states.SHUTDOWN
            if queries.set_unless_deleting(
                unit,
                server_id,
                vm_state=vm_state,
                task_state=None,
                power_state=power,
                cluster=move["source"],
                vm_host=move.get("source_host"),
                fault=fault,
                **_flavor_columns(old),
            ):
                moves_db.write_move(unit, server_id, None)

    def _undo_move(self, server_id: str, move: dict[str, Any]) -> list[str]:
        """Disk, size, cluster and power back as before the move; what could not be undone."""
        compute = self._drivers.compute
        old = move["old_flavor"]
        try:
            vm = compute.get_vm(server_id)
            if vm.power_state == PowerState.ON:
                compute.power_off(server_id)
            backup = move.get("backup")
            grown = bool(vm.disks) and vm.disks[0].capacity_gb != int(move.get("backup_gb", 0))
            if backup and _reached(move, "backed_up") and move.get("root") and grown:
                compute.replace_disk(
                    server_id, str(move["root"]), str(backup), int(move["backup_gb"])
                )
            compute.resize_vm(
                server_id,
                cpus=int(old["vcpus"]),
                memory_mb=int(old["ram"]),
                cores_per_socket=cores_per_socket(old),
                root_gb=0,
                # The old allocations come back; a hardware upgrade stays (no downgrade).
                tuning=replace(vm_tuning(old), hw_version=None),
            )
            vm = compute.relocate_vm(server_id, str(move["source"]))
            self._moved(server_id, move.get("dest"), vm)
            move["source_host"] = vm.host
            if backup:
                with contextlib.suppress(NotFoundError):
                    self._drivers.volumes.delete_disk(str(backup))
            if move.get("old_vm_state") == states.ACTIVE:
                self._power_on(server_id)
        except Exception as exc:
            LOG.warning("could not undo the move of server %s: %s", server_id, exc)
            return [f"VM {server_id}: {exc}"]
        return []

    # ------------------------------------------------------------------ confirm

    def confirm(self, payload: Mapping[str, Any]) -> None:
        """Drop the kept disk; the server stays as resized (ACTIVE, or SHUTOFF if it is off)."""
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            row, move = self._load(server_id)
            if row is None or move is None or row.vm_state != states.RESIZED:
                return
            if row.task_state is not None:
                return  # a delete took over
            migration_id = int(move["migration_id"])
            try:
                with self._event(server_id, request_id, "compute_confirm_resize", row.cluster):
                    backup = move.get("backup")
                    if backup:
                        with contextlib.suppress(NotFoundError):
                            self._drivers.volumes.delete_disk(str(backup))
                    vm = self._drivers.compute.get_vm(server_id)
            except Exception as exc:
                LOG.info("confirming the resize of server %s failed: %s", server_id, exc)
                with self._store.transaction() as unit:
                    moves_db.set_status(unit, migration_id, "error")
                    queries.set_unless_deleting(
                        unit, server_id, vm_state=states.ERROR, fault=fault_of(exc, [])
                    )
                    queries.finish_action(unit, server_id, request_id, "Error")
                return
            vm_state = states.ACTIVE if vm.power_state == PowerState.ON else states.STOPPED
            with self._store.transaction() as unit:
                if queries.set_unless_deleting(
                    unit,
                    server_id,
                    vm_state=vm_state,
                    power_state=states.POWER_NUMBERS[vm.power_state],
                    vm_host=vm.host,
                ):
                    moves_db.write_move(unit, server_id, None)
                moves_db.set_status(unit, migration_id, "confirmed")
                queries.finish_action(unit, server_id, request_id, "Success")

    # ------------------------------------------------------------------ revert

    def revert(self, payload: Mapping[str, Any]) -> None:
        """Back to the old flavor, disk, cluster and power state."""
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            row, move = self._load(server_id)
            if row is None or move is None or row.task_state != states.RESIZE_REVERTING:
                return
            migration_id = int(move["migration_id"])
            events = self._events
            event = None
            if events is not None:
                event = events.start(
                    server_id, request_id, "compute_revert_resize", host=row.cluster
                )
            problems = self._undo_move(server_id, move)
            if events is not None:
                events.finish(event, RuntimeError("; ".join(problems)) if problems else None)
            if problems:
                with self._store.transaction() as unit:
                    moves_db.set_status(unit, migration_id, "error")
                    queries.set_unless_deleting(
                        unit,
                        server_id,
                        vm_state=states.ERROR,
                        task_state=None,
                        fault=fault_of(RuntimeError("the revert could not finish"), problems),
                    )
                    queries.finish_action(unit, server_id, request_id, "Error")
                return
            vm_state = str(move.get("old_vm_state") or states.ACTIVE)
            try:
                vm = self._drivers.compute.get_vm(server_id)
                power = states.POWER_NUMBERS[vm.power_state]
            except DriverError:
                power = states.RUNNING if vm_state == states.ACTIVE else states.SHUTDOWN
            with self._store.transaction() as unit:
                if queries.set_unless_deleting(
                    unit,
                    server_id,
                    vm_state=vm_state,
                    task_state=None,
                    power_state=power,
                    cluster=move["source"],
                    vm_host=move.get("source_host"),
                    **_flavor_columns(move["old_flavor"]),
                ):
                    moves_db.write_move(unit, server_id, None)
                moves_db.set_status(unit, migration_id, "reverted")
                queries.finish_action(unit, server_id, request_id, "Success")

    # ------------------------------------------------------------------ live migration

    def live_migrate(self, payload: Mapping[str, Any]) -> None:
        """vMotion the running VM to the chosen cluster: MIGRATING, then ACTIVE there."""
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        migration_id = int(payload["migration_id"])
        with self._locks.of(server_id):
            row, _ = self._load(server_id)
            with self._store.transaction() as unit:
                migration = moves_db.get(unit, migration_id)
            if row is None or migration is None or row.task_state != states.MIGRATING:
                return
            if migration.status in ("cancelled", "completed", "error", "failed"):
                self._live_end(server_id, request_id, migration_id, None, None)
                return
            dest = str(migration.dest_compute)
            try:
                for status in ("queued", "preparing"):
                    if not self._live_status(migration_id, status):
                        self._live_end(server_id, request_id, migration_id, None, None)
                        return  # aborted while queued
                self._live_status(migration_id, "running")
                with self._event(server_id, request_id, "compute_live_migration", row.cluster):
                    vm = self._drivers.compute.relocate_vm(server_id, dest)
                self._moved(server_id, row.cluster, vm)
            except Exception as exc:
                LOG.info("live migration of server %s failed: %s", server_id, exc)
                self._live_end(server_id, request_id, migration_id, None, exc)
                return
            self._live_end(server_id, request_id, migration_id, vm, None)

    def _live_status(self, migration_id: int, status: str) -> bool:
        """Advance a live migration unless it was cancelled meanwhile."""
        with self._store.transaction() as unit:
            return moves_db.set_status(
                unit,
                migration_id,
                status,
                only_from=("accepted", "queued", "preparing"),
            )

    def _live_end(
        self,
        server_id: str,
        request_id: str,
        migration_id: int,
        vm: VMInfo | None,
        exc: BaseException | None,
    ) -> None:
        values: dict[str, Any] = {"task_state": None}
        if vm is not None:
            values.update(cluster=vm.cluster, vm_host=vm.host)
        elif exc is not None:
            values["fault"] = fault_of(exc, [])
            with contextlib.suppress(DriverError):  # where the VM really is after a failure
                found = self._drivers.compute.get_vm(server_id)
                if found.cluster:
                    values.update(cluster=found.cluster, vm_host=found.host)
        with self._store.transaction() as unit:
            queries.set_if_task(unit, server_id, states.MIGRATING, **values)
            if vm is not None:
                moves_db.set_status(unit, migration_id, "completed")
            elif exc is not None:
                moves_db.set_status(unit, migration_id, "failed")
            queries.finish_action(
                unit, server_id, request_id, "Success" if vm is not None else "Error"
            )

    # ------------------------------------------------------------------ delete hook

    def drop_backup(self, server_id: str) -> list[str]:
        """`after_undo`: a deleted server's kept root disk goes too; what could not."""
        with self._store.transaction() as unit:
            move = moves_db.read_move(unit, server_id)
            if move is not None:
                moves_db.write_move(unit, server_id, None)
                if move.get("migration_id") is not None:
                    migration_id = int(move["migration_id"])
                    # Nova confirms a resize whose server is deleted in VERIFY_RESIZE; a move
                    # still running ends in error.
                    moves_db.set_status(
                        unit, migration_id, "confirmed", only_from=("finished", "confirming")
                    )
                    moves_db.set_status(
                        unit,
                        migration_id,
                        "error",
                        only_from=("pre-migrating", "migrating", "post-migrating", "reverting"),
                    )
        backup = (move or {}).get("backup")
        if not backup:
            return []
        try:
            self._drivers.volumes.delete_disk(str(backup))
        except NotFoundError:
            pass
        except DriverError as exc:
            return [f"disk {backup}: {exc}"]
        return []


#: Job topic → MoveWork method name, for registration.
JOBS: dict[str, Callable[[MoveWork], Callable[[Mapping[str, Any]], None]]] = {
    RESIZE_TOPIC: lambda work: work.resize,
    CONFIRM_TOPIC: lambda work: work.confirm,
    REVERT_TOPIC: lambda work: work.revert,
    LIVE_TOPIC: lambda work: work.live_migrate,
}
