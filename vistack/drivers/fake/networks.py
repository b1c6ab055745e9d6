"""The in-memory network driver: port groups on named distributed switches, ports on VMs.

VMs are the ones the fake compute driver made (one shared `FakeState`), so a port plugged here
shows in `compute.get_vm(...).nics` and keeps its port group from being deleted, as on vCenter.
"""

from __future__ import annotations

from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.fake.state import FakeNic, FakePortgroup, FakeState
from vistack.drivers.models import NIC_ADAPTERS, NicInfo, PortgroupInfo
from vistack.drivers.networks import normal_mac


class FakeNetworks:
    """`NetworkDriver` over a `FakeState`; refuses to delete port groups NICs use, as vCenter."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    def create_portgroup(self, dvs: str, name: str, vlan_id: int) -> PortgroupInfo:
        state = self._state
        with state.operation("create_portgroup"):
            if dvs not in state.dvs:
                raise NotFoundError(f"no distributed switch named {dvs!r}")
            if not 0 <= vlan_id <= 4094:
                raise InvalidStateError(f"VLAN id {vlan_id} is outside 0..4094")
            if any(pg.dvs == dvs and pg.name == name for pg in state.portgroups.values()):
                raise AlreadyExistsError(f"switch {dvs} has a port group named {name!r}")
            pg = FakePortgroup(state.new_id("dvportgroup"), name, vlan_id, dvs)
            state.portgroups[pg.key] = pg
            return _info(pg)

    def delete_portgroup(self, key: str) -> None:
        state = self._state
        with state.operation("delete_portgroup"):
            state.portgroup(key)
            if any(n.portgroup == key for vm in state.vms.values() for n in vm.nics):
                raise InvalidStateError(f"port group {key} is in use by VM NICs")
            del state.portgroups[key]

    def get_portgroup(self, key: str) -> PortgroupInfo:
        with self._state.operation("get_portgroup"):
            return _info(self._state.portgroup(key))

    def list_portgroups(self, dvs: str | None = None) -> list[PortgroupInfo]:
        state = self._state
        with state.operation("list_portgroups"):
            if dvs is not None and dvs not in state.dvs:
                raise NotFoundError(f"no distributed switch named {dvs!r}")
            return [_info(pg) for pg in state.portgroups.values() if dvs is None or pg.dvs == dvs]

    def plug_port(
        self, vm: str, portgroup_key: str, mac: str, port_id: str, *, adapter: str = "vmxnet3"
    ) -> NicInfo:
        state = self._state
        with state.operation("plug_port"):
            address = normal_mac(mac)
            if adapter not in NIC_ADAPTERS:
                allowed = ", ".join(NIC_ADAPTERS)
                raise InvalidStateError(f"NIC adapter type {adapter!r} is not one of {allowed}")
            target = state.vm(vm)
            state.portgroup(portgroup_key)
            if any(n.mac == address for n in target.nics):
                raise AlreadyExistsError(f"VM {vm} already has a NIC with MAC {address}")
            nic = FakeNic(address, portgroup_key, adapter=adapter, external_id=port_id)
            return state.nic_info(target, state.add_nic(target, nic))

    def unplug_port(self, vm: str, mac: str) -> None:
        state = self._state
        with state.operation("unplug_port"):
            target = state.vm(vm)
            address = mac.strip().lower()
            kept = [n for n in target.nics if n.mac != address]
            if len(kept) == len(target.nics):
                raise NotFoundError(f"VM {vm} has no NIC with MAC {address}")
            target.nics = kept

    def list_nics(self, vm: str) -> list[NicInfo]:
        state = self._state
        with state.operation("list_nics"):
            target = state.vm(vm)
            return [state.nic_info(target, n) for n in target.nics]


def _info(pg: FakePortgroup) -> PortgroupInfo:
    return PortgroupInfo(pg.key, pg.name, pg.vlan_id, pg.dvs)
