"""Neutron's `extra_dhcp_opt`: per-port DHCP options, checked, stored and shown here.

The edge's dnsmasq sends a port's IPv4 options to that port only (see `served`); IPv6 ones are
kept and shown, as Neutron does, but the edge serves IPv4 DHCP only. The dvs backend runs no
DHCP server at all, so there the attribute is refused rather than silently kept.

Values are checked strictly, because dnsmasq reads them back from a text file: a newline would
start another directive, `"` and `\\` are unquoted and unescaped, `#` may start a comment, and a
comma splits a value into a list, harmless for the options that are lists but a silent
corruption of a single string such as a boot file name.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from vistack.network.db import dhcp_option_store as store
from vistack.network.db.repository import Unit
from vistack.network.domain.errors import NeutronBadRequest, invalid
from vistack.network.domain.models import NetworkOptions

ATTRIBUTE = "extra_dhcp_opts"
MAX_VALUE = 255
NO_DHCP_MESSAGE = (
    "extra_dhcp_opts is not supported by the dvs network backend: it runs no DHCP server, so "
    "the options would never be sent. Nothing was changed; leave extra_dhcp_opts out (or use "
    "the edge backend, which serves them)."
)

#: How dnsmasq parses a value: one IPv4 address, a list of them, an integer, a single string
#: (no comma), DNS names, (destination, gateway) pairs, or left to dnsmasq (anything else).
Kind = Literal["addr", "addrs", "int", "text", "domains", "routes", "raw"]

#: The dnsmasq IPv4 option names a port may set (`dnsmasq --help dhcp`, less what only a
#: client sends), with their number and value kind.
V4_OPTIONS: dict[str, tuple[int, Kind]] = {
    "netmask": (1, "addr"),
    "time-offset": (2, "int"),
    "router": (3, "addrs"),
    "dns-server": (6, "addrs"),
    "log-server": (7, "addrs"),
    "lpr-server": (9, "addrs"),
    "boot-file-size": (13, "int"),
    "domain-name": (15, "text"),
    "swap-server": (16, "addr"),
    "root-path": (17, "text"),
    "extension-path": (18, "text"),
    "ip-forward-enable": (19, "int"),
    "non-local-source-routing": (20, "int"),
    "policy-filter": (21, "routes"),
    "max-datagram-reassembly": (22, "int"),
    "default-ttl": (23, "int"),
    "mtu": (26, "int"),
    "all-subnets-local": (27, "int"),
    "router-discovery": (31, "int"),
    "router-solicitation": (32, "addr"),
    "static-route": (33, "routes"),
    "trailer-encapsulation": (34, "int"),
    "arp-timeout": (35, "int"),
    "ethernet-encap": (36, "int"),
    "tcp-ttl": (37, "int"),
    "tcp-keepalive": (38, "int"),
    "nis-domain": (40, "text"),
    "nis-server": (41, "addrs"),
    "ntp-server": (42, "addrs"),
    "netbios-ns": (44, "addrs"),
    "netbios-dd": (45, "addrs"),
    "netbios-nodetype": (46, "int"),
    "netbios-scope": (47, "text"),
    "x-windows-fs": (48, "addrs"),
    "x-windows-dm": (49, "addrs"),
    "T1": (58, "int"),
    "T2": (59, "int"),
    "nis+-domain": (64, "text"),
    "nis+-server": (65, "addrs"),
    "tftp-server": (66, "text"),
    "bootfile-name": (67, "text"),
    "mobile-ip-home": (68, "addrs"),
    "smtp-server": (69, "addrs"),
    "pop3-server": (70, "addrs"),
    "nntp-server": (71, "addrs"),
    "irc-server": (74, "addrs"),
    "posix-timezone": (100, "text"),
    "tzdb-timezone": (101, "text"),
    "domain-search": (119, "domains"),
    "sip-server": (120, "raw"),
    "classless-static-route": (121, "routes"),
    "tftp-server-address": (150, "addrs"),
    # Not an option: dnsmasq puts it in the BOOTP header's next-server field (siaddr).
    "server-ip-address": (255, "addr"),
}
#: The dnsmasq DHCPv6 option names (`dnsmasq --help dhcp6`): stored and shown only.
V6_OPTIONS: dict[str, tuple[int, Kind]] = {
    "sip-server-domain": (21, "domains"),
    "sip-server": (22, "addrs"),
    "dns-server": (23, "addrs"),
    "domain-search": (24, "domains"),
    "nis-server": (27, "addrs"),
    "nis+-server": (28, "addrs"),
    "nis-domain": (29, "text"),
    "nis+-domain": (30, "text"),
    "sntp-server": (31, "addrs"),
    "information-refresh-time": (32, "int"),
    "posix-timezone": (41, "text"),
    "tzdb-timezone": (42, "text"),
    "ntp-server": (56, "addrs"),
    "bootfile-url": (59, "text"),
    "bootfile-param": (60, "raw"),
}
KNOWN = {4: V4_OPTIONS, 6: V6_OPTIONS}
_NUMBER = re.compile(r"[1-9][0-9]{0,2}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+")
#: Characters dnsmasq's file reader treats specially (quoting, escapes, comments).
_SPECIAL = set('"\\#')

#: One requested option: (name, IP version, value; None removes it on an update).
Request = tuple[str, int, str | None]


def check_backend(options: NetworkOptions) -> None:
    """Refuse the attribute where no DHCP server would ever send the options."""
    if not options.l3:
        raise NeutronBadRequest(NO_DHCP_MESSAGE)


def _number(name: str, version: int) -> int:
    """The option number `name` stands for (a known name or a number), for duplicate checks."""
    known = KNOWN[version].get(name)
    return known[0] if known is not None else int(name)


def _kind(name: str, version: int) -> Kind:
    known = KNOWN[version].get(name)
    if known is not None:
        return known[1]
    for kind_of in KNOWN[version].values():
        if str(kind_of[0]) == name:
            return kind_of[1]
    return "raw"


def _check_name(value: Any, version: int) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"'{value}' is not a valid opt_name: a non-empty string is required.")
    if value in KNOWN[version]:
        return value
    if _NUMBER.fullmatch(value) and 1 <= int(value) <= 254:
        return value
    raise invalid(
        f"opt_name '{value[:64]}' is not a DHCP option dnsmasq knows for IPv{version}: use a "
        f"number 1..254 or one of {', '.join(sorted(KNOWN[version]))}."
    )


def _check_version(value: Any) -> int:
    if isinstance(value, bool):
        raise invalid(f"ip_version '{value}' must be 4 or 6.")
    if isinstance(value, int) and value in (4, 6):
        return value
    if isinstance(value, str) and value.strip() in {"4", "6"}:
        return int(value)
    raise invalid(f"ip_version '{value}' must be 4 or 6.")


def _addresses(value: str, single: bool) -> bool:
    parts = value.split(",")
    if single and len(parts) != 1:
        return False
    try:
        for part in parts:
            ipaddress.ip_address(part)
    except ValueError:
        return False
    return True


def _routes(value: str) -> bool:
    parts = value.split(",")
    if len(parts) % 2:
        return False
    try:
        for destination, gateway in zip(parts[::2], parts[1::2], strict=True):
            ipaddress.ip_network(destination, strict=False)
            ipaddress.ip_address(gateway)
    except ValueError:
        return False
    return True


def _check_value(name: str, version: int, value: Any) -> str:
    """`value` as dnsmasq will read it back unchanged, or a 400 saying what is wrong."""
    if not isinstance(value, str) or not value:
        raise invalid(f"opt_value of {name} must be a non-empty string (or null to remove it).")
    if len(value) > MAX_VALUE:
        raise invalid(f"opt_value of {name} exceeds the maximum length of {MAX_VALUE}.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise invalid(f"opt_value of {name} must not contain control characters or newlines.")
    if _SPECIAL & set(value) or value != value.strip():
        raise invalid(
            f"opt_value of {name} must not contain double quotes, backslashes or '#', nor start "
            "or end with a space: dnsmasq would read it back differently."
        )
    kind = _kind(name, version)
    if kind == "text" and "," in value:
        raise invalid(
            f"opt_value of {name} must not contain a comma: dnsmasq would split it into a list."
        )
    if kind == "int" and not value.isdigit():
        raise invalid(f"opt_value of {name} must be a non-negative integer.")
    if kind in {"addr", "addrs"} and not _addresses(value, kind == "addr"):
        what = "an IP address" if kind == "addr" else "IP addresses separated by commas"
        raise invalid(f"opt_value of {name} must be {what}, not '{value[:64]}'.")
    if kind == "routes" and not _routes(value):
        raise invalid(
            f"opt_value of {name} must be destination,gateway pairs separated by commas "
            "(e.g. 10.1.0.0/16,10.0.0.1)."
        )
    if kind == "domains" and not all(_DOMAIN.fullmatch(d) for d in value.split(",")):
        raise invalid(f"opt_value of {name} must be domain names separated by commas.")
    return value


def requested(value: Any) -> list[Request]:
    """The options a create or update asks for, all checked before anything is written.

    Neutron's semantics: `ip_version` defaults to 4 (a string "4" is accepted, as its
    converter does), a null `opt_value` means "remove"; one option (by number, so
    `bootfile-name` and `67` are the same) at most once per IP version."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(
            "extra_dhcp_opts must be a list of {'opt_name', 'opt_value', 'ip_version'} objects."
        )
    out: list[Request] = []
    seen: set[tuple[str | int, int] | None] = set()
    for item in value:
        if not isinstance(item, dict) or "opt_name" not in item:
            raise invalid(f"'{item}' is not a valid extra DHCP option: opt_name is required.")
        unknown = sorted(set(item) - {"opt_name", "opt_value", "ip_version"})
        if unknown:
            raise invalid(f"Unrecognized key(s) {', '.join(unknown)} in extra DHCP option.")
        version = _check_version(item.get("ip_version", 4))
        name = _check_name(item["opt_name"], version)
        raw = item.get("opt_value")
        option_value = None if raw is None else _check_value(name, version, raw)
        # One entry per name, and one value per option number (a removal of `bootfile-name`
        # next to a new `67` is a rename).
        number = (_number(name, version), version) if option_value is not None else None
        if (name, version) in seen or number in seen:
            raise invalid(f"Duplicate extra DHCP option {name} (IPv{version}) in the request.")
        seen.update({(name, version), number} - {None})
        out.append((name, version, option_value))
    return out


def view(rows: Sequence[tuple[str, int, str]]) -> list[dict[str, Any]]:
    """A port's `extra_dhcp_opts` as Neutron renders it, in a stable order."""
    return [
        {"opt_name": name, "opt_value": value, "ip_version": version}
        for name, version, value in sorted(rows, key=lambda r: (r[1], r[0]))
    ]


def shown(rows: Mapping[str, Sequence[tuple[str, int, str]]]) -> dict[str, list[dict[str, Any]]]:
    """Port id -> its rendered options, from `listing.port_dhcp_options` (absent: none)."""
    return {port_id: view(options) for port_id, options in rows.items()}


def create(unit: Unit, port_id: str, asked: list[Request]) -> list[dict[str, Any]]:
    """Store a new port's options (a null value on create is simply not set, as Neutron)."""
    rows = [(n, v, value) for n, v, value in asked if value is not None]
    store.add(unit.session, port_id, rows)
    return view(rows)


def update(unit: Unit, port_id: str, asked: list[Request]) -> list[dict[str, Any]]:
    """Replace by (opt_name, ip_version), remove those asked with a null value, keep the
    rest; refused when the result would send one option number twice (`67` next to a kept
    `bootfile-name`)."""
    result = store.current(unit.session, port_id)
    for name, version, value in asked:
        if value is None:
            result.pop((name, version), None)
        else:
            result[(name, version)] = value
    numbers = [(_number(n, v), v) for n, v in result]
    if len(set(numbers)) != len(numbers):
        raise invalid(
            "extra_dhcp_opts would set one DHCP option twice (by name and by number); remove "
            "one of them with opt_value null."
        )
    store.replace(unit.session, port_id, result)
    return view([(n, v, value) for (n, v), value in result.items()])


def served(options: Sequence[tuple[str, int, str]]) -> tuple[tuple[str, str], ...]:
    """The (name or number, value) pairs the edge's dnsmasq sends: the IPv4 options whose
    value dnsmasq can encode for an IPv4 client. An address-typed one holding an IPv6
    address (Neutron takes those, e.g. tempest's IPv6 run) is shown but not served."""
    out: list[tuple[str, str]] = []
    for name, version, value in sorted(options, key=lambda r: (r[1], r[0])):
        if version != 4:
            continue
        if _kind(name, 4) in {"addr", "addrs", "routes"}:
            parts = value.split(",")
            addresses = parts if _kind(name, 4) != "routes" else parts[1::2]
            if any(ipaddress.ip_address(a).version != 4 for a in addresses):
                continue
            if _kind(name, 4) == "routes" and any(
                ipaddress.ip_network(d, strict=False).version != 4 for d in parts[::2]
            ):
                continue
        out.append((name, value))
    return tuple(out)


def served_by_port(unit: Unit) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every port's served options (`served`), in one query: for the edge state's compile."""
    return {port_id: served(rows) for port_id, rows in store.every_port(unit.session).items()}
