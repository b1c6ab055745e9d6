"""Security groups flattened into per-port firewall rules for the edge agent.

The agent knows nothing of groups: each filtered port carries its own rule list, with a remote
group expanded into /32 prefixes of that group's member ports (their fixed IPs and address pair
IPs, as Neutron's agents expand them). Only IPv4 is compiled: the segments carry IPv4 only, and
the agent would ignore IPv6 rules anyway.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from vistack.edge.state import Direction, FirewallRule, PortFirewall
from vistack.network.db.tables import IpAllocationRow, PortRow, SecurityGroupRuleRow
from vistack.network.domain.security import PROTOCOLS

#: Protocol names the agent renders with their own matches (ports, ICMP type/code); every other
#: protocol is handed over as its number, which the agent matches as `meta l4proto <n>`.
_NAMED = {"tcp", "udp", "icmp"}


def is_plugged(port: PortRow) -> bool:
    """An instance's port: it has a device and is not one of the network's own (`network:*`)
    ports (DHCP, router legs, floating IPs). Only such a port is a NIC on the wire; a port
    nothing uses has no traffic to filter, and leaving it out keeps the firewall (one chain
    per port) as small as the instances, not as the ports made ahead of time."""
    return bool(port.device_id) and not port.device_owner.startswith("network:")


def is_filtered(port: PortRow) -> bool:
    """Neutron's agents filter a plugged port whose port security is on."""
    return port.port_security_enabled and is_plugged(port)


def ipv4_addresses(port: PortRow, allocations: Sequence[IpAllocationRow]) -> tuple[str, ...]:
    """The IPv4 addresses a port may send from: its fixed IPs and its single-address allowed
    address pairs (a pair naming a whole prefix cannot be an nft address of the agent's match,
    so it is left out: such a port can only send from its own addresses)."""
    found: list[str] = []
    for allocation in allocations:
        if ipaddress.ip_address(allocation.ip_address).version == 4:
            found.append(allocation.ip_address)
    for pair in port.allowed_address_pairs or []:
        network = ipaddress.ip_network(pair["ip_address"], strict=False)
        if network.version == 4 and network.prefixlen == 32:
            found.append(str(network.network_address))
    return tuple(sorted(set(found), key=ipaddress.IPv4Address))


def _protocol(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.lower()
    if text in _NAMED:
        return text
    number = PROTOCOLS.get(text, int(text) if text.isdigit() else None)
    if number is None:  # the API stores names of PROTOCOLS and numbers only
        raise ValueError(f"unknown protocol {value!r} in the database")
    return {6: "tcp", 17: "udp", 1: "icmp"}.get(number, str(number))


def _rules(row: SecurityGroupRuleRow, members: Mapping[str, Iterable[str]]) -> list[FirewallRule]:
    """One database rule as agent rules: one per member address when it names a remote group
    (none at all when that group has no members: the rule then matches nobody)."""
    if row.ethertype != "IPv4" or row.direction not in ("ingress", "egress"):
        return []
    direction: Direction = "ingress" if row.direction == "ingress" else "egress"
    protocol = _protocol(row.protocol)
    if row.remote_group_id is not None:
        prefixes: list[str | None] = [f"{ip}/32" for ip in members.get(row.remote_group_id, ())]
    else:
        prefixes = [row.remote_ip_prefix]
    return [
        FirewallRule(
            direction=direction,
            protocol=protocol,
            port_min=row.port_range_min,
            port_max=row.port_range_max,
            remote_ip_prefix=prefix,
        )
        for prefix in prefixes
    ]


def port_firewalls(
    ports: Sequence[PortRow],
    addresses: Mapping[str, tuple[str, ...]],
    port_groups: Mapping[str, list[str]],
    rules: Sequence[SecurityGroupRuleRow],
) -> tuple[PortFirewall, ...]:
    """A `PortFirewall` for every filtered port (a port with no group gets no rule: everything
    to and from it is dropped, as in Neutron), and a rule-less one for every admin-down
    instance port, port security or not: Neutron passes no traffic of a port that is down
    (the agent still lets DHCP through, which is harmless)."""
    members: dict[str, list[str]] = defaultdict(list)
    for port in ports:
        for group in port_groups.get(port.id, []):
            members[group].extend(addresses.get(port.id, ()))
    by_group: dict[str, list[SecurityGroupRuleRow]] = defaultdict(list)
    for rule in rules:
        by_group[rule.security_group_id].append(rule)
    out: list[PortFirewall] = []
    for port in ports:
        down = not port.admin_state_up and is_plugged(port)
        if not is_filtered(port) and not down:
            continue
        flattened: list[FirewallRule] = []
        for group in [] if down else port_groups.get(port.id, []):
            for rule in by_group.get(group, []):
                flattened.extend(_rules(rule, members))
        out.append(
            PortFirewall(
                port_id=port.id,
                network_id=port.network_id,
                mac=port.mac_address,
                ips=addresses.get(port.id, ()),
                rules=tuple(dict.fromkeys(flattened)),
            )
        )
    return tuple(out)
