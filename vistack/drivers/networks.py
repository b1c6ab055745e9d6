"""The network driver interface: Neutron networks as distributed port groups.

L2 only: one port group per network segment, VLAN-tagged or untagged. Port groups are addressed
by key (the value NIC backings reference), names are for people and must be unique per switch.

Plugging a Neutron port into a server is a network operation (the port's MAC, its port group,
its id) on a compute object (the VM), so compute calls `plug_port`/`unplug_port` here rather
than building NIC backings itself. VMs are addressed as the compute driver does: by instance
UUID (the Nova server id), never by name or moref.
"""

from __future__ import annotations

import re
from typing import Protocol

from vistack.drivers.errors import InvalidStateError
from vistack.drivers.models import NicInfo, PortgroupInfo

_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def normal_mac(mac: str) -> str:
    """`mac` lower-cased, as both backends store and compare it (Neutron MACs are lower case).

    :raises InvalidStateError: it is not six colon-separated hex octets; vCenter would refuse it
        with a fault naming no field, so the driver says what is wrong first.
    """
    value = mac.strip().lower()
    if not _MAC.fullmatch(value):
        raise InvalidStateError(f"{mac!r} is not a MAC address (six hex octets, colon-separated)")
    return value


class NetworkDriver(Protocol):
    """Create and remove port groups on distributed switches."""

    def create_portgroup(self, dvs: str, name: str, vlan_id: int) -> PortgroupInfo:
        """Add an early-binding port group on switch `dvs` with VLAN `vlan_id` (0: untagged).

        :raises NotFoundError: no such switch.
        :raises AlreadyExistsError: the switch has a port group of that name.
        :raises InvalidStateError: `vlan_id` is outside 0..4094.
        """
        ...

    def delete_portgroup(self, key: str) -> None:
        """Remove a port group; vCenter refuses while NICs use it (vcsim does not check).

        :raises NotFoundError: no port group has this key.
        :raises InvalidStateError: NICs still use it.
        """
        ...

    def get_portgroup(self, key: str) -> PortgroupInfo:
        """One port group by key.

        :raises NotFoundError: no port group has this key.
        """
        ...

    def list_portgroups(self, dvs: str | None = None) -> list[PortgroupInfo]:
        """Every VM port group (uplink port groups excluded), optionally of one switch.

        :raises NotFoundError: `dvs` is given and unknown.
        """
        ...

    def plug_port(
        self, vm: str, portgroup_key: str, mac: str, port_id: str, *, adapter: str = "vmxnet3"
    ) -> NicInfo:
        """Add a NIC for Neutron port `port_id` to the VM with instance UUID `vm`.

        The NIC is on port group `portgroup_key`, keeps `mac` (lower-cased) as its fixed
        address, and carries `port_id` as its external id. `adapter` is one of `NIC_ADAPTERS`.

        :raises NotFoundError: no such VM or port group.
        :raises AlreadyExistsError: the VM already has a NIC with that MAC.
        :raises InvalidStateError: `adapter` is not a known type, or `mac` is not a MAC address.
        """
        ...

    def unplug_port(self, vm: str, mac: str) -> None:
        """Remove the VM's NIC with this MAC.

        :raises NotFoundError: no such VM, or it has no NIC with that MAC.
        """
        ...

    def list_nics(self, vm: str) -> list[NicInfo]:
        """The VM's NICs in device order, including ones not plugged through `plug_port`.

        :raises NotFoundError: no such VM.
        """
        ...
