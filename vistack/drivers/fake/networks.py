"""The in-memory network driver: port groups on named distributed switches."""

from __future__ import annotations

from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.fake.state import FakePortgroup, FakeState
from vistack.drivers.models import PortgroupInfo


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


def _info(pg: FakePortgroup) -> PortgroupInfo:
    return PortgroupInfo(pg.key, pg.name, pg.vlan_id, pg.dvs)
