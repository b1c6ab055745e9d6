"""Metering in a router namespace: one nft table, one named counter per label, read back as JSON.

The table (`inet vistack_meter`, so IPv4 and IPv6 rules render alike) hooks `forward`, the path
of every packet the router routes between its legs, and looks only at the gateway leg: a packet
leaving through it (`oifname qg-*`) is egress, one arriving on it (`iifname qg-*`) ingress, as
Neutron's iptables metering driver counts. NAT does not blur the addresses: forward runs after
DNAT and before SNAT, so rules see the instances' fixed addresses on the inside and the real
peers outside. Each label has a chain per direction: its `excluded` rules `return` first, then
its counting rules count into the label's counter and `return`, so a packet is counted once per
label however many of its rules match.

Tables are replaced whole like the other tables, which would zero the counters; the agent avoids
that twice over. An apply that does not change the rendering (the label set and rules are the
same) does not touch the table at all; one that does passes the counts read just before into
the new table (`counter ... { packets N bytes M }`) for the labels that stay, so only the
packets of the few microseconds between that read and the swap go uncounted. A label removed
takes its counter with it.

The counter's name is derived from the label id; its comment is the label id itself, which is
how `read_counters` maps counters back to labels.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping

from vistack.edge import names
from vistack.edge.errors import EdgeError
from vistack.edge.state import MeterLabel, MeterRule

TABLE = "vistack_meter"
#: Counts per label id: (packets, bytes).
Counts = Mapping[str, tuple[int, int]]


def counter_name(label_id: str) -> str:
    """`l_` and the label id's alphanumerics: nft object names are identifiers."""
    return "l_" + re.sub(r"[^a-z0-9]", "", names.check_id(label_id).lower())


def _network(prefix: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A validated prefix (it reaches the `nft` input: never anything but a network)."""
    try:
        return ipaddress.ip_network(prefix, strict=False)
    except ValueError as exc:
        raise EdgeError(f"invalid IP network {prefix!r}") from exc


def _match(rule: MeterRule) -> str:
    """The nft match of a rule's prefixes (empty: every packet of that direction)."""
    parts: list[str] = []
    for field, prefix in (("saddr", rule.source_ip_prefix), ("daddr", rule.destination_ip_prefix)):
        if prefix is None:
            continue
        net = _network(prefix)
        parts.append(f"{'ip' if net.version == 4 else 'ip6'} {field} {net}")
    return " ".join(parts)


def _chain(name: str, counter: str, rules: Iterable[MeterRule]) -> list[str]:
    ordered = sorted(rules, key=lambda r: not r.excluded)  # excluded first, stable otherwise
    lines = [f"  chain {name} {{"]
    for rule in ordered:
        match = _match(rule)
        verdict = "return" if rule.excluded else f'counter name "{counter}" return'
        lines.append(f"    {match} {verdict}" if match else f"    {verdict}")
    return [*lines, "  }"]


def render(
    table: str, labels: Iterable[MeterLabel], gateway_if: str, counts: Counts | None = None
) -> str:
    """The router's metering table. `counts` (by label id) seeds the counters: the agent passes
    the values it read from the table this one replaces, so a swap keeps the totals."""
    names.check_nft_name(table)
    gw = names.check_ifname(gateway_if)
    ordered = sorted(labels, key=lambda label: label.label_id)
    out = [f"table inet {table} {{"]
    jumps: dict[str, list[str]] = {"ingress": [], "egress": []}
    chains: list[str] = []
    seen: set[str] = set()
    for index, label in enumerate(ordered):
        counter = counter_name(label.label_id)
        if counter in seen:
            raise EdgeError(f"metering labels share the counter name {counter}")
        seen.add(counter)
        packets, octets = (counts or {}).get(label.label_id, (0, 0))
        if packets < 0 or octets < 0:
            raise EdgeError(f"invalid carried count for label {label.label_id}")
        out += [
            f"  counter {counter} {{",
            f'    comment "{label.label_id}"',
            *([f"    packets {int(packets)} bytes {int(octets)}"] if packets or octets else []),
            "  }",
        ]
        for direction in ("ingress", "egress"):
            rules = [r for r in label.rules if r.direction == direction]
            if not rules:
                continue
            name = f"m{index}_{direction}"
            jumps[direction].append(f"    jump {name}")
            chains += _chain(name, counter, rules)
    out += [
        "  chain forward {",
        "    type filter hook forward priority filter - 10; policy accept;",
        f'    oifname "{gw}" jump egress',
        f'    iifname "{gw}" jump ingress',
        "  }",
        "  chain egress {",
        *jumps["egress"],
        "  }",
        "  chain ingress {",
        *jumps["ingress"],
        "  }",
        *chains,
        "}",
    ]
    return "\n".join(out) + "\n"


def parse_counters(text: str, table: str = TABLE) -> dict[str, tuple[int, int]]:
    """`nft -j list counters ...` output → {label id: (packets, bytes)} for `table`'s counters
    (those of other tables, or without a label comment, are not ours and are skipped)."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgeError(f"unreadable nft counters: {exc}") from exc
    out: dict[str, tuple[int, int]] = {}
    for item in data.get("nftables", []) if isinstance(data, dict) else []:
        counter = item.get("counter") if isinstance(item, dict) else None
        if not isinstance(counter, dict) or counter.get("table") != table:
            continue
        label_id = counter.get("comment")
        if not isinstance(label_id, str) or counter.get("name") != _safe_name(label_id):
            continue
        out[label_id] = (int(counter.get("packets", 0)), int(counter.get("bytes", 0)))
    return out


def _safe_name(label_id: str) -> str | None:
    try:
        return counter_name(label_id)
    except EdgeError:
        return None
