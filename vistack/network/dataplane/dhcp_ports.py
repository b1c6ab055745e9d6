"""Each network's DHCP port follows its DHCP-enabled subnets, as Neutron's DHCP agent keeps it.

The port (device_owner `network:dhcp`, device_id `dhcp-<network id>`, the network's project) is
made when the network gains an IPv4 subnet with `enable_dhcp`, gets an address on each such
subnet through the service's own IPAM, loses the address of a subnet whose DHCP is turned off,
and goes when no such subnet is left. Its addresses are what dnsmasq listens on.

It is called synchronously after the subnet change committed, so the API answer already shows the
port; a network or subnet delete takes the port's rows along by cascade (the delete checks ignore
DHCP ports). Like Neutron's agent, an address shortage does not fail the subnet request: the subnet
is just not served, logged, and retried by the next change or restart.
"""

from __future__ import annotations

import ipaddress
import logging

from vistack.network.dataplane.compile import dhcp_device_id
from vistack.network.db.repository import Collision
from vistack.network.db.tables import IpAllocationRow
from vistack.network.domain.base import DHCP_OWNER, MAX_ATTEMPTS
from vistack.network.domain.errors import NeutronConflict
from vistack.network.domain.l3_checks import leg_port
from vistack.network.domain.ports import PortOps

LOG = logging.getLogger(__name__)


class DhcpPorts:
    """Reconciles DHCP ports through `service`'s store and IPAM (`PortOps._allocate`)."""

    def __init__(self, service: PortOps) -> None:
        self._service = service

    def reconcile_all(self) -> None:
        """Every network (at start: repairs what an earlier failure or version left behind)."""
        with self._service._store.transaction() as unit:
            network_ids = [n.id for n in unit.networks()]
        for network_id in network_ids:
            self.reconcile(network_id)

    def reconcile(self, network_id: str) -> None:
        """Make the network's DHCP port match its DHCP-enabled IPv4 subnets (idempotent)."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                self._reconcile_once(network_id, attempt)
                return
            except Collision:
                continue  # a concurrent create took the address or MAC: pick again
            except NeutronConflict as exc:
                LOG.warning("DHCP port of network %s: %s", network_id, exc.message)
                return
        LOG.warning("DHCP port of network %s: too many concurrent changes", network_id)

    def _reconcile_once(self, network_id: str, attempt: int) -> None:
        service = self._service
        with service._store.transaction() as unit:
            found = unit.network(network_id)
            if found is None:
                return
            owner = found.project_id  # (a network's project never changes)
        service._store.ensure_project(owner)
        with service._store.transaction() as unit:
            # First (so what is read next includes their commits, on MariaDB too): two
            # subnet changes of one network reconcile one after the other, under the owner's
            # project lock as port creates take it, so there are never two DHCP ports.
            unit.lock_project(owner)
            network = unit.network_locked(network_id, shared=True)
            if network is None or network.status != "ACTIVE":
                return  # gone, or being deleted (its ports go with it)
            wanted = [s for s in unit.subnets(network_id) if s.ip_version == 4 and s.enable_dhcp]
            port = next(
                (
                    p
                    for p in unit.ports(network_id)
                    if p.device_owner == DHCP_OWNER and p.device_id == dhcp_device_id(network_id)
                ),
                None,
            )
            if not wanted:
                if port is not None:
                    unit.delete(port)
                return
            current = unit.allocations([port.id]).get(port.id, []) if port is not None else []
            wanted_ids = {s.id for s in wanted}
            held = {a.subnet_id for a in current}
            stale = [
                a
                for a in current
                if a.subnet_id not in wanted_ids and ipaddress.ip_address(a.ip_address).version == 4
            ]
            missing = [s for s in wanted if s.id not in held]
            if not stale and not missing:
                return
            new_port = port is None
            if port is None:
                port = leg_port(
                    network_id,
                    network.project_id,
                    DHCP_OWNER,
                    dhcp_device_id(network_id),
                    "DHCP port of the network (made by vistack)",
                )
            gained: list[IpAllocationRow] = []
            for subnet in missing:
                # One subnet at a time: a full pool leaves that subnet unserved, not the others.
                try:
                    gained += service._allocate(
                        unit, network, port, [{"subnet_id": subnet.id}], attempt
                    )
                except NeutronConflict as exc:
                    LOG.warning("DHCP port of network %s: %s", network_id, exc.message)
            if len(current) - len(stale) + len(gained) == 0:
                # No address anywhere: no port (it would serve nothing).
                if not new_port:
                    unit.delete(port)
                return
            if not stale and not gained:
                return  # only full pools: nothing changes
            if new_port:
                unit.add(port)
            for allocation in stale:
                unit.delete(allocation)
            unit.add(*gained)
            service._touch(port)
            unit.flush()
