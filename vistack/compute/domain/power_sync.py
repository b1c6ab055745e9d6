"""What vCenter says of each VM, reflected on its server: the state a person changes in vCenter
(power, vMotion, HA restart, a VM deleted by hand) shows in Nova within `power_sync_seconds`.

Nova's own power sync runs every ten minutes and forces the hypervisor back to what Nova
recorded; on vSphere the operator's vCenter is the truth for what it manages, so here the
server follows the VM instead:

- VM powered off in vCenter, server ACTIVE → SHUTOFF; powered on, server SHUTOFF → ACTIVE;
- VM moved (vMotion, DRS, HA) → the server's host and cluster follow;
- VM gone while the server is ACTIVE or SHUTOFF → ERROR, with a fault saying so.

Only servers with no task in progress are compared, and each change is re-checked under the
server's row lock, so the sync never overrides a build, a delete or a power action.

With a watch of vCenter (`follow`, the inventory's `WaitForUpdatesEx`), a round runs as soon as
a VM's power state, host or existence changes, against the watch's picture (no listing of
every VM); the periodic round stays as the resync, for what a watch can miss.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.drivers.compute import ComputeDriver
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import PowerState, VMInfo
from vistack.drivers.watch import Observation, ObservedVM, VMObserver

LOG = logging.getLogger(__name__)

GONE_MESSAGE = (
    "The VM of this server is gone from vCenter (deleted or unregistered outside OpenStack); "
    "delete the server, or restore the VM with the server's id as its instance UUID."
)


#: A change wakes the sync at most this often: a burst of changes (20 builds) is one round.
MIN_ROUND_GAP = 0.2


def changes_for(
    vm_state: str, cluster: str | None, vm_host: str | None, vm: VMInfo | ObservedVM | None
) -> dict[str, Any]:
    """The columns a settled server must change to match its VM (empty: it matches)."""
    if vm is None:
        if vm_state in (states.ACTIVE, states.STOPPED):
            stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
            fault = {"code": 404, "message": GONE_MESSAGE, "details": "", "created": stamp}
            return {"vm_state": states.ERROR, "power_state": states.NOSTATE, "fault": fault}
        return {}
    changes: dict[str, Any] = {}
    if vm_state == states.ACTIVE and vm.power_state == PowerState.OFF:
        changes.update(vm_state=states.STOPPED, power_state=states.SHUTDOWN)
    elif vm_state == states.STOPPED and vm.power_state == PowerState.ON:
        changes.update(vm_state=states.ACTIVE, power_state=states.RUNNING)
    elif vm_state == states.ACTIVE and vm.power_state == PowerState.SUSPENDED:
        # Suspended in vCenter: the server shows it (Nova's SUSPENDED) and `resume` resumes it,
        # rather than the sync fighting it. (Suspended servers are not compared: a resume made
        # in vCenter shows once `resume` is asked, which finds the VM running.)
        changes.update(vm_state=states.SUSPENDED, power_state=states.SUSPENDED_POWER)
    if vm.host and vm.host != vm_host:
        changes["vm_host"] = vm.host
    if vm.cluster and vm.cluster != cluster:
        changes["cluster"] = vm.cluster
    return changes


class PowerSync:
    """A thread comparing vCenter's VMs with the servers every `interval` seconds, and at once
    when the watch it follows reports a change."""

    def __init__(self, store: ComputeStore, compute: ComputeDriver, interval: float) -> None:
        self._store = store
        self._compute = compute
        self._interval = interval
        self._stopped = threading.Event()
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: VMObserver | None = None

    def follow(self, observer: VMObserver) -> None:
        """Run a round whenever `observer` sees a VM change, judged on its picture."""
        self._observer = observer
        observer.subscribe(self.wake)

    def wake(self) -> None:
        """Ask for a round now (called from the watch's thread: only sets a flag)."""
        self._woken.set()

    def start(self) -> None:
        if self._interval <= 0 or self._thread is not None:
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="compute-power-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._woken.wait(self._interval)
            if self._stopped.is_set():
                return
            self._woken.clear()
            try:
                self.sync_once()
            except Exception:  # vCenter away: the next round tries again
                LOG.warning("power sync: could not compare servers with vCenter", exc_info=True)
            if self._stopped.wait(MIN_ROUND_GAP):
                return

    def sync_once(self) -> int:
        """One comparison; returns how many servers changed.

        Only servers last changed before vCenter was asked are compared: one that a build,
        an action or an earlier round changed meanwhile is judged on the next round, against
        a listing that can already show its VM as it now is. With a watch, its picture
        stands for the listing (`_sync_observed`).
        """
        observation = self._observer.observe() if self._observer is not None else None
        if observation is not None:
            return self._sync_observed(observation)
        asked = utcnow()
        vms: Mapping[str, VMInfo | ObservedVM] = {
            vm.instance_uuid: vm for vm in self._compute.list_vms()
        }
        with self._store.transaction() as unit:
            settled = queries.settled(unit, before=asked)
        changed = 0
        for server_id, vm_state, cluster, vm_host in settled:
            if changes_for(vm_state, cluster, vm_host, vms.get(server_id)):
                changed += self._apply(server_id, vms, asked)
        return changed

    def _sync_observed(self, observation: Observation) -> int:
        """A round on the watch's picture. A server written after the picture's instant (a
        round or an action just changed it) cannot be judged on it, and the picture may not
        move again for a long time: its VM is read afresh instead (few, and only just after
        a change)."""
        with self._store.transaction() as unit:
            settled = queries.settled_with_times(unit)
        changed = 0
        for server_id, vm_state, cluster, vm_host, updated_at in settled:
            if updated_at < observation.as_of:
                if changes_for(vm_state, cluster, vm_host, observation.vms.get(server_id)):
                    changed += self._apply(server_id, observation.vms, observation.as_of)
                continue
            asked = utcnow()
            try:
                vm: VMInfo | None = self._compute.get_vm(server_id)
            except NotFoundError:
                vm = None
            fresh = {server_id: vm} if vm is not None else {}
            if changes_for(vm_state, cluster, vm_host, vm):
                changed += self._apply(server_id, fresh, asked)
        return changed

    def _apply(
        self, server_id: str, vms: Mapping[str, VMInfo | ObservedVM], asked: datetime
    ) -> int:
        """Re-check under the row lock (a task may have started since the read), then write."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or row.task_state is not None or row.updated_at >= asked:
                return 0
            changes = changes_for(row.vm_state, row.cluster, row.vm_host, vms.get(server_id))
            if not changes:
                return 0
            LOG.info("power sync: server %s follows vCenter: %s", server_id, sorted(changes))
            queries.set_fields(unit, server_id, **changes)
            return 1
