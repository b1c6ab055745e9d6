"""Rendering of the nftables tables the agent owns, as text for `nft -f`.

Tables are always replaced whole (`add`, `delete`, re-create, in one `nft -f` transaction) so a
security group update is atomic: the kernel swaps the ruleset at once and no packet sees half of it.
Rendering is pure, which keeps it unit-testable without root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vistack.edge import names
from vistack.edge.errors import EdgeError
from vistack.edge.state import AddressGroup, FirewallRule, PortFirewall, Router

_L4_NAMES = {"sctp", "gre", "esp", "ah", "udplite", "dccp"}


def replace_table(family: str, table: str, body: str) -> str:
    """A transaction that swaps `table` for the rendered body (creating it if missing)."""
    names.check_nft_name(table)
    return f"table {family} {table} {{}}\ndelete table {family} {table}\n{body}"


def delete_table(family: str, table: str) -> str:
    names.check_nft_name(table)
    return f"table {family} {table} {{}}\ndelete table {family} {table}\n"


def _port_range(low: int | None, high: int | None) -> str:
    for p in (low, high):
        if p is not None and not 0 <= p <= 65535:
            raise EdgeError(f"invalid port {p}")
    if low is None:
        raise EdgeError("port range without a minimum")
    if high is None or high == low:
        return str(low)
    if high < low:
        raise EdgeError(f"invalid port range {low}-{high}")
    return f"{low}-{high}"


def group_set(group_id: str) -> str:
    """The name of the kernel set holding a security group's member addresses."""
    return "g_" + names.short(group_id, 24)


def rule_match(rule: FirewallRule) -> str:
    """The nft match expression of one security group rule, seen from the port."""
    parts: list[str] = []
    side = "saddr" if rule.direction == "ingress" else "daddr"
    if rule.remote_group:
        parts.append(f"ip {side} @{group_set(rule.remote_group)}")
    elif rule.remote_ip_prefix:
        parts.append(f"ip {side} {names.check_ipv4_net(rule.remote_ip_prefix)}")
    proto = (rule.protocol or "").lower()
    if proto in ("", "any"):
        pass
    elif proto in ("tcp", "udp", "6", "17"):
        proto = {"6": "tcp", "17": "udp"}.get(proto, proto)
        if rule.port_min is None and rule.port_max is None:
            parts.append(f"meta l4proto {proto}")
        else:
            low = rule.port_min if rule.port_min is not None else 0
            parts.append(f"{proto} dport {_port_range(low, rule.port_max)}")
    elif proto in ("icmp", "1"):
        if rule.port_min is None:
            parts.append("meta l4proto icmp")
        else:
            if not 0 <= rule.port_min <= 255:
                raise EdgeError(f"invalid ICMP type {rule.port_min}")
            parts.append(f"icmp type {rule.port_min}")
            if rule.port_max is not None:
                if not 0 <= rule.port_max <= 255:
                    raise EdgeError(f"invalid ICMP code {rule.port_max}")
                parts.append(f"icmp code {rule.port_max}")
    elif proto.isdigit() and 0 <= int(proto) <= 255:
        parts.append(f"meta l4proto {int(proto)}")
    elif proto in _L4_NAMES:
        parts.append(f"meta l4proto {proto}")
    else:
        raise EdgeError(f"unsupported protocol {rule.protocol!r}")
    return " ".join(parts)


def _line(match: str, verdict: str) -> str:
    return f"    {match} {verdict}" if match else f"    {verdict}"


def _address_sets(groups: Iterable[AddressGroup], named: set[str]) -> list[str]:
    """A set per remote group some rule names (empty sets too: such a rule matches nobody)."""
    out: list[str] = []
    for group in sorted(groups, key=lambda g: g.group_id):
        name = group_set(group.group_id)
        if name not in named:
            continue
        named.discard(name)
        addresses = sorted({names.check_ipv4(a) for a in group.addresses})
        out += [f"  set {name} {{", "    type ipv4_addr;"]
        if addresses:
            out.append("    elements = { " + ", ".join(addresses) + " }")
        out.append("  }")
    for name in sorted(named):  # named by a rule, no member known: empty, matches nothing
        out += [f"  set {name} {{", "    type ipv4_addr;", "  }"]
    return out


def render_firewall(
    table: str,
    bridges: Sequence[tuple[str, int]],
    ports: Iterable[tuple[str, PortFirewall]],
    groups: Iterable[AddressGroup] = (),
) -> str:
    """The host's firewall table: one conntrack zone per segment bridge, then per-port chains.

    Bridged traffic reaches the inet hooks through br_netfilter (`nf_call_iptables` is set per
    bridge), where in/out interfaces are the bridges. The forward chain accepts established
    traffic, then finds the port's chains in two verdict maps, keyed by (bridge, MAC, source
    address) going out and (bridge, destination address) coming in: one lookup whatever the
    number of ports. A port's egress chain `return`s what it allows (so the destination port's
    ingress chain still runs); its ingress chain ends in drop. Remote security groups are kernel
    sets (`@g_<group>`), so a group of N members costs one rule per port, not N. IPv6 rules are
    not rendered yet (the segments carry IPv4 only).
    """
    names.check_nft_name(table)
    out = [
        f"table inet {table} {{",
        "  chain zones {",
        "    type filter hook prerouting priority raw; policy accept;",
    ]
    out += [f'    iifname "{names.check_ifname(br)}" ct zone set {zone}' for br, zone in bridges]
    out.append("  }")
    chains: list[str] = []
    jumps_out: list[str] = []
    jumps_in: list[str] = []
    named: set[str] = set()
    for bridge, port in ports:
        pid = names.short(port.port_id, 20)
        mac = names.check_mac(port.mac)
        ips = sorted(names.check_ipv4(ip) for ip in port.ips)
        if not ips:
            continue
        br = names.check_ifname(bridge)
        jumps_out += [f'"{br}" . {mac} . {ip} : jump o_{pid}' for ip in ips]
        jumps_in += [f'"{br}" . {ip} : jump i_{pid}' for ip in ips]
        named.update(group_set(r.remote_group) for r in port.rules if r.remote_group)
        egress = [r for r in port.rules if r.direction == "egress" and r.ethertype == "IPv4"]
        ingress = [r for r in port.rules if r.direction == "ingress" and r.ethertype == "IPv4"]
        chains += [f"  chain o_{pid} {{", "    udp sport 68 udp dport 67 return"]
        chains += [_line(rule_match(r), "return") for r in egress]
        chains += ["    drop", "  }", f"  chain i_{pid} {{", "    udp sport 67 udp dport 68 accept"]
        chains += [_line(rule_match(r), "accept") for r in ingress]
        chains += ["    drop", "  }"]
    # Sets before the chains whose rules name them, chains before the maps that jump to them.
    out += _address_sets(groups, named) + chains
    out += [
        "  map egress_ports {",
        "    type ifname . ether_addr . ipv4_addr : verdict;",
        *_elements(jumps_out),
        "  }",
        "  map ingress_ports {",
        "    type ifname . ipv4_addr : verdict;",
        *_elements(jumps_in),
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        "    ct state established,related accept",
        "    iifname . ether saddr . ip saddr vmap @egress_ports",
        "    oifname . ip daddr vmap @ingress_ports",
        "  }",
        "}",
    ]
    return "\n".join(out) + "\n"


def _elements(entries: Sequence[str]) -> list[str]:
    """A map's `elements` line (none for an empty map: nft refuses `elements = { }`)."""
    return ["    elements = { " + ", ".join(entries) + " }"] if entries else []


def render_router_nat(table: str, router: Router, gateway_if: str) -> str:
    """A router's NAT: floating IPs as 1:1 DNAT+SNAT, then SNAT of the rest to the gateway IP."""
    names.check_nft_name(table)
    gw = names.check_ifname(gateway_if)
    pre: list[str] = []
    post: list[str] = []
    for fip in sorted(router.floating_ips, key=lambda f: f.floating_ip):
        floating = names.check_ipv4(fip.floating_ip)
        fixed = names.check_ipv4(fip.fixed_ip)
        pre.append(f"    ip daddr {floating} dnat to {fixed}")
        post.append(f'    oifname "{gw}" ip saddr {fixed} snat to {floating}')
    if router.gateway and router.gateway.enable_snat:
        post.append(f'    oifname "{gw}" snat to {names.check_ipv4(router.gateway.ip)}')
    return (
        "\n".join(
            [
                f"table ip {table} {{",
                "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                *pre,
                "  }",
                "  chain postrouting {",
                "    type nat hook postrouting priority srcnat; policy accept;",
                *post,
                "  }",
                "}",
            ]
        )
        + "\n"
    )


def render_router_metadata(table: str, address: str) -> str:
    """A router's input filter for the metadata address it carries on `lo`.

    The proxy listens on `address`:80 in the router namespace; only the tenant legs (`qr-*`) and
    the namespace itself may reach it, not the external network behind `qg-*`.
    """
    names.check_nft_name(table)
    ip = names.check_ipv4(address)
    return (
        "\n".join(
            [
                f"table ip {table} {{",
                "  chain input {",
                "    type filter hook input priority filter; policy accept;",
                f'    ip daddr {ip} iifname "qr-*" accept',
                f'    ip daddr {ip} iifname "lo" accept',
                f"    ip daddr {ip} drop",
                "  }",
                "}",
            ]
        )
        + "\n"
    )
