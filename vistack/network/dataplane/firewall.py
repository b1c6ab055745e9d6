"""Security groups flattened into per-port firewall rules for the edge agent.

Each filtered port carries its own rule list; a rule naming a remote group keeps the group's id,
and the state carries each such group's member addresses once (their fixed IPs and address pair
IPs, as Neutron's agents expand them), which the agent turns into one kernel set per group: a
group of N ports costs N set elements, not N rules in each of its N ports' chains. Only IPv4 is
compiled: the segments carry IPv4 only, and the agent would ignore IPv6 rules anyway.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import defaultdict
from collections.abc import Mapping, Sequence

from vistack.edge.state import AddressGroup, Direction, FirewallRule, PortFirewall
from vistack.network.db.records import AllocationRecord, PortRecord
from vistack.network.db.tables import SecurityGroupRuleRow
from vistack.network.domain.security import PROTOCOLS, normalized_cidr

#: Protocol names the agent renders with their own matches (ports, ICMP type/code); every other
#: protocol is handed over as its number, which the agent matches as `meta l4proto <n>`.
_NAMED = {"tcp", "udp", "icmp"}


def is_plugged(port: PortRecord) -> bool:
    """An instance's port: it has a device and is not one of the network's own (`network:*`)
    ports (DHCP, router legs, floating IPs). Only such a port is a NIC on the wire; a port
    nothing uses has no traffic to filter, and leaving it out keeps the firewall (one chain
    per port) as small as the instances, not as the ports made ahead of time."""
    return bool(port.device_id) and not port.device_owner.startswith("network:")


def is_filtered(port: PortRecord) -> bool:
    """Neutron's agents filter a plugged port whose port security is on."""
    return port.port_security_enabled and is_plugged(port)


def ipv4_addresses(port: PortRecord, allocations: Sequence[AllocationRecord]) -> tuple[str, ...]:
    """The IPv4 addresses a port may send from: its fixed IPs and its single-address allowed
    address pairs (a pair naming a whole prefix cannot be an nft address of the agent's match,
    so it is left out: such a port can only send from its own addresses)."""
    # IPAM stores addresses in canonical form: an IPv4 one is the one without a colon.
    found = [a.ip_address for a in allocations if ":" not in a.ip_address]
    for pair in port.allowed_address_pairs or []:
        network = ipaddress.ip_network(pair["ip_address"], strict=False)
        if network.version == 4 and network.prefixlen == 32:
            found.append(str(network.network_address))
    return tuple(sorted(set(found), key=socket.inet_aton))


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


def _rule(row: SecurityGroupRuleRow) -> FirewallRule | None:
    """One database rule as an agent rule (None for what the agent does not filter: IPv6).
    A remote group stays a reference; its members are the state's `AddressGroup`. A prefix is
    matched as the network it names (`normalized_cidr`), host bits as sent dropped."""
    if row.ethertype != "IPv4" or row.direction not in ("ingress", "egress"):
        return None
    direction: Direction = "ingress" if row.direction == "ingress" else "egress"
    return FirewallRule(
        direction=direction,
        protocol=_protocol(row.protocol),
        port_min=row.port_range_min,
        port_max=row.port_range_max,
        remote_ip_prefix=None if row.remote_group_id else normalized_cidr(row.remote_ip_prefix),
        remote_group=row.remote_group_id,
    )


def port_firewalls(
    ports: Sequence[PortRecord],
    addresses: Mapping[str, tuple[str, ...]],
    port_groups: Mapping[str, list[str]],
    rules: Sequence[SecurityGroupRuleRow],
) -> tuple[tuple[PortFirewall, ...], tuple[AddressGroup, ...]]:
    """A `PortFirewall` for every filtered port (a port with no group gets no rule: everything
    to and from it is dropped, as in Neutron), and a rule-less one for every admin-down
    instance port, port security or not: Neutron passes no traffic of a port that is down
    (the agent still lets DHCP through, which is harmless). With them, the members' addresses
    of every group a rule names as its remote group (every port of the group counts, plugged
    or not, as Neutron's agents expand them)."""
    by_group: dict[str, list[FirewallRule]] = defaultdict(list)
    for row in rules:
        rule = _rule(row)
        if rule is not None:
            by_group[row.security_group_id].append(rule)
    out: list[PortFirewall] = []
    named: set[str] = set()
    for port in ports:
        down = not port.admin_state_up and is_plugged(port)
        if not is_filtered(port) and not down:
            continue
        flattened: list[FirewallRule] = []
        for group in [] if down else port_groups.get(port.id, []):
            flattened.extend(by_group.get(group, []))
        named.update(r.remote_group for r in flattened if r.remote_group)
        out.append(
            PortFirewall(
                port_id=port.id,
                network_id=port.network_id,
                mac=port.mac_address,
                ips=addresses.get(port.id, ()),
                rules=tuple(dict.fromkeys(flattened)),
            )
        )
    members: dict[str, list[str]] = {group: [] for group in named}
    for port in ports:
        for group in port_groups.get(port.id, []):
            if group in members:
                members[group].extend(addresses.get(port.id, ()))
    groups = tuple(
        AddressGroup(group, tuple(sorted(set(ips), key=ipaddress.IPv4Address)))
        for group, ips in sorted(members.items())
    )
    return tuple(out), groups
