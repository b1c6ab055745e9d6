"""The database compiled into the `EdgeState` of this edge node, in one read-only pass.

One transaction, a fixed handful of queries (networks, subnets, ports, allocations, port groups,
rules, routers, floating IPs) whatever the size of the cloud: the state is always computed whole,
so the agent can diff it against the node and a missed notification is healed by the next one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence

from vistack.edge.state import DhcpHost, DhcpSubnet, EdgeState, Segment
from vistack.network.dataplane.firewall import ipv4_addresses, port_firewalls
from vistack.network.dataplane.routers import ROUTER_INTERFACE, compile_routers, read_l3
from vistack.network.db.records import (
    AllocationRecord,
    PortRecord,
    allocation_records,
    port_group_ids,
    port_records,
)
from vistack.network.db.repository import NetworkStore, Unit
from vistack.network.db.tables import NetworkRow, SubnetRow
from vistack.network.domain import dhcp_options
from vistack.network.domain.base import DHCP_OWNER
from vistack.network.domain.metering import with_meters

#: The device_id of the DHCP port vistack makes for a network (Neutron's agent uses
#: `dhcp<host uuid>-<network id>`; there is one DHCP service per network here).
DHCP_DEVICE_PREFIX = "dhcp-"


def dhcp_device_id(network_id: str) -> str:
    return f"{DHCP_DEVICE_PREFIX}{network_id}"


def hostname(ip: str) -> str:
    """Neutron's default DNS name of a port without one: `host-` and the address, dashed."""
    return "host-" + ip.replace(".", "-").replace(":", "-")


def segment(network: NetworkRow) -> Segment:
    """The network's L2 segment; flat networks (and any non-VLAN type) are untagged."""
    vlan = network.segmentation_id if network.network_type == "vlan" else None
    return Segment(network_id=network.id, vlan=vlan)


def dhcp_port_of(network_id: str, ports: Sequence[PortRecord]) -> PortRecord | None:
    """The network's DHCP port: vistack's own when there is one, else the first by id (a port
    an operator made with device_owner `network:dhcp`)."""
    candidates = [p for p in ports if p.network_id == network_id and p.device_owner == DHCP_OWNER]
    ours = [p for p in candidates if p.device_id == dhcp_device_id(network_id)]
    found = ours or sorted(candidates, key=lambda p: p.id)
    return found[0] if found else None


def _is_v4(address: str) -> bool:
    return ipaddress.ip_address(address).version == 4


def dhcp_subnets(
    subnets: Sequence[SubnetRow],
    ports: Sequence[PortRecord],
    allocations: Mapping[str, list[AllocationRecord]],
    options: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
) -> tuple[DhcpSubnet, ...]:
    """DHCP service for each IPv4 subnet with `enable_dhcp` whose network's DHCP port has an
    address on it (a subnet whose DHCP port could not get one is not served). Every other port
    with an address on the subnet is a host entry; metadata goes through the router when a
    router interface holds the subnet's gateway IP, else through the DHCP port. `options`:
    port id -> the port's own IPv4 DHCP options (`extra_dhcp_opts`), sent to it alone."""
    options = options or {}
    by_subnet: dict[str, list[tuple[PortRecord, str]]] = {}
    # DHCP ports grouped once, not searched per network (that scan is quadratic).
    dhcp_owned: dict[str, list[PortRecord]] = {}
    for port in ports:
        if port.device_owner == DHCP_OWNER:
            dhcp_owned.setdefault(port.network_id, []).append(port)
    for port in ports:
        for allocation in allocations.get(port.id, []):
            by_subnet.setdefault(allocation.subnet_id, []).append((port, allocation.ip_address))
    dhcp_ports: dict[str, PortRecord | None] = {}
    out: list[DhcpSubnet] = []
    for subnet in subnets:
        if subnet.ip_version != 4 or not subnet.enable_dhcp:
            continue
        if subnet.network_id not in dhcp_ports:
            dhcp_ports[subnet.network_id] = dhcp_port_of(
                subnet.network_id, dhcp_owned.get(subnet.network_id, [])
            )
        dhcp_port = dhcp_ports[subnet.network_id]
        holders = by_subnet.get(subnet.id, [])
        port_ip = next(
            (ip for p, ip in holders if dhcp_port is not None and p.id == dhcp_port.id), None
        )
        if dhcp_port is None or port_ip is None:
            continue
        routed = any(
            p.device_owner == ROUTER_INTERFACE and ip == subnet.gateway_ip for p, ip in holders
        )
        hosts = sorted(
            (
                DhcpHost(
                    mac=p.mac_address,
                    ip=ip,
                    hostname=hostname(ip),
                    options=options.get(p.id, ()),
                )
                for p, ip in holders
                if p.id != dhcp_port.id
            ),
            key=lambda h: socket.inet_aton(h.ip),  # canonical IPv4 (from IPAM): byte order
        )
        out.append(
            DhcpSubnet(
                network_id=subnet.network_id,
                subnet_id=subnet.id,
                cidr=subnet.cidr,
                port_ip=port_ip,
                port_mac=dhcp_port.mac_address,
                gateway_ip=subnet.gateway_ip,
                dns_nameservers=tuple(d for d in subnet.dns_nameservers or [] if _is_v4(d)),
                host_routes=tuple(
                    (r["destination"], r["nexthop"])
                    for r in subnet.host_routes or []
                    if _is_v4(r["nexthop"])
                ),
                hosts=tuple(hosts),
                metadata_via="router" if routed else "dhcp",
            )
        )
    return tuple(out)


def compile_state(unit: Unit) -> EdgeState:
    """This node's whole desired state, from the unit's (read-only) transaction."""
    networks = unit.networks()
    subnets = unit.subnets()
    ports = port_records(unit.session)
    allocations = allocation_records(unit.session)
    port_groups = port_group_ids(unit.session)
    rules = unit.security_group_rules()
    routers, floating_ips = read_l3(unit)
    addresses = {p.id: ipv4_addresses(p, allocations.get(p.id, [])) for p in ports}
    firewalls, address_groups = port_firewalls(ports, addresses, port_groups, rules)
    return EdgeState(
        segments=tuple(segment(n) for n in networks),
        dhcp=dhcp_subnets(subnets, ports, allocations, dhcp_options.served_by_port(unit)),
        routers=with_meters(
            unit,
            routers,
            compile_routers(routers, floating_ips, ports, allocations, {s.id: s for s in subnets}),
        ),
        firewalls=firewalls,
        address_groups=address_groups,
    )


def read_state(store: NetworkStore) -> EdgeState:
    """Compile the current database in one transaction (it writes nothing, so it notifies no
    change listener)."""
    with store.transaction() as unit:
        return compile_state(unit)
