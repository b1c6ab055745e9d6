"""The network driver interface: Neutron networks as distributed port groups.

L2 only: one port group per network segment, VLAN-tagged or untagged. Port groups are addressed
by key (the value NIC backings reference), names are for people and must be unique per switch.
"""

from __future__ import annotations

from typing import Protocol

from vistack.drivers.models import PortgroupInfo


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
