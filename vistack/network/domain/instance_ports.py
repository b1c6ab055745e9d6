"""What a server's own ports look like to its guest, read in one transaction for Nova.

Why not Nova reading them through `get_port`, `get_network`, `get_subnet` and a DHCP port
list: each of those is a transaction with a policy check and a full API view, four or more per
port, and Nova asks on every build (the config drive) and on every metadata request. Here one
transaction reads the ports, their networks, the subnets of their addresses and the DHCP ports
serving those subnets, and answers only what `network_data.json` needs. It is an in-process
read for the compute service about ports it owns, so it takes no request context: the policy
a user meets is on the server, not here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from vistack.network.db import l3_queries
from vistack.network.db.repository import Unit

#: Neutron's `device_owner` of a network's DHCP ports.
DHCP_OWNER = "network:dhcp"


def instance_ports(unit: Unit, port_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ports among `port_ids` that still exist, in the order asked (a server's NIC order).

    Each: `id`, `mac_address`, `network_id`, `mtu`, `binding:vif_type` and `fixed_ips`, a
    list of `ip_address` with its `subnet` (`id`, `cidr`, `ip_version`, `gateway_ip`,
    `dns_nameservers`, `host_routes`, and `dhcp_server`: the subnet's DHCP port's address, or
    None where DHCP is off or nobody serves it).
    """
    if not port_ids:
        return []
    ports = {row.id: row for row in unit.ports_by_id(list(port_ids))}
    if not ports:
        return []
    network_ids = sorted({row.network_id for row in ports.values()})
    networks = {row.id: row for row in unit.networks_by_id(network_ids)}
    allocations = unit.allocations(list(ports))
    subnet_ids = sorted({a.subnet_id for rows in allocations.values() for a in rows})
    subnets = {row.id: row for row in unit.subnets_by_id(subnet_ids)}
    dhcp = _dhcp_servers(unit, network_ids)
    out: list[dict[str, Any]] = []
    for port_id in port_ids:
        row = ports.get(port_id)
        if row is None or row.network_id not in networks:
            continue  # deleted behind Nova's back: the NIC has no address to tell
        fixed = sorted(allocations.get(row.id, []), key=lambda a: _address_order(a.ip_address))
        out.append(
            {
                "id": row.id,
                "mac_address": row.mac_address,
                "network_id": row.network_id,
                "mtu": networks[row.network_id].mtu,
                "binding:vif_type": "dvs" if row.binding_host_id else "unbound",
                "fixed_ips": [
                    {"ip_address": a.ip_address, "subnet": _subnet(subnets[a.subnet_id], dhcp)}
                    for a in fixed
                    if a.subnet_id in subnets
                ],
            }
        )
    return out


def _dhcp_servers(unit: Unit, network_ids: Sequence[str]) -> dict[str, str]:
    """subnet id → the address its first DHCP port has on it."""
    dhcp_ports = unit.ports_owned_by(network_ids, DHCP_OWNER)
    servers: dict[str, str] = {}
    if not dhcp_ports:
        return servers
    allocations = unit.allocations([p.id for p in dhcp_ports])
    for port in dhcp_ports:  # in id order, each port's addresses in address order
        for allocation in sorted(
            allocations.get(port.id, []), key=lambda a: _address_order(a.ip_address)
        ):
            servers.setdefault(allocation.subnet_id, allocation.ip_address)
    return servers


def _address_order(address: str) -> tuple[int, Any]:
    """Neutron's order of a port's fixed IPs: IPv4 first, then by address."""
    parsed = ipaddress.ip_address(address)
    return parsed.version, parsed


def _subnet(row: Any, dhcp: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "cidr": row.cidr,
        "ip_version": row.ip_version,
        "gateway_ip": row.gateway_ip,
        "dns_nameservers": list(row.dns_nameservers or []),
        "host_routes": [dict(r) for r in row.host_routes or []],
        "dhcp_server": dhcp.get(row.id) if row.enable_dhcp else None,
    }


def floating_addresses(unit: Unit, port_ids: Sequence[str]) -> list[str]:
    """The floating IP addresses associated with these ports (edge mode; none in dvs mode)."""
    if not port_ids:
        return []
    return [str(row.floating_ip_address) for row in l3_queries.port_floatingips(unit, port_ids)]
