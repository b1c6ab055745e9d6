"""The compute service's view of vCenter's VMs, fed by the inventory's `WaitForUpdatesEx`
watch: a VM powered off, moved or deleted in vCenter is known here within the long poll's
round trip, without listing every VM (which costs seconds on a large vCenter)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from vistack.drivers.models import PowerState
from vistack.drivers.watch import Observation, ObservedVM
from vistack.vsphere.compute import POWER_STATE_MAP
from vistack.vsphere.inventory import Inventory, InventorySnapshot, VMInfo

#: What of a VM its server follows; a change elsewhere (a template, a rename) wakes nobody.
VMFacts = tuple[tuple[str, str, str | None], ...]


class InventoryVMObserver:
    """Implements `vistack.drivers.watch.VMObserver` over one vCenter's `Inventory`."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._last: VMFacts = ()
        inventory.add_listener(self._changed)

    def observe(self) -> Observation | None:
        snapshot = self._inventory.snapshot()
        if not snapshot.synced or snapshot.observed_at is None:
            return None
        vms = {
            vm.instance_uuid: _observed(snapshot, vm)
            for vm in snapshot.vms
            if vm.instance_uuid and not vm.template
        }
        as_of = datetime.fromtimestamp(snapshot.observed_at, UTC).replace(tzinfo=None)
        return Observation(as_of, vms)

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def _changed(self, snapshot: InventorySnapshot) -> None:
        facts = tuple(
            (vm.instance_uuid or vm.moref, vm.power_state, vm.host) for vm in snapshot.vms
        )
        with self._lock:
            if facts == self._last:
                return
            self._last = facts
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()


def _observed(snapshot: InventorySnapshot, vm: VMInfo) -> ObservedVM:
    return ObservedVM(
        power_state=POWER_STATE_MAP.get(vm.power_state, PowerState.UNKNOWN),
        host=snapshot.name_of(vm.host) if vm.host else "",
        cluster=snapshot.name_of(vm.cluster) if vm.cluster else "",
    )
