"""Naming and validation of everything the agent creates.

Names are derived from Neutron ids so that a restarted agent finds its own objects again, and every
value that reaches a command line is validated here first: the agent never uses a shell, and an id
or address that does not look right is refused rather than passed to `ip`/`nft`/`dnsmasq`.
Linux limits interface names to 15 characters, hence the short ids.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from vistack.edge.errors import EdgeError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_NFT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

SHORT = 11


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise EdgeError(f"invalid id {value!r}")
    return value


def check_ifname(value: str) -> str:
    if not _IFNAME.match(value):
        raise EdgeError(f"invalid interface name {value!r} (at most 15 characters)")
    return value


def check_mac(value: str) -> str:
    mac = value.lower()
    if not _MAC.match(mac):
        raise EdgeError(f"invalid MAC address {value!r}")
    return mac


def check_hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise EdgeError(f"invalid hostname {value!r}")
    return value


def check_nft_name(value: str) -> str:
    if not _NFT_NAME.match(value):
        raise EdgeError(f"invalid nftables name {value!r}")
    return value


def check_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as exc:
        raise EdgeError(f"invalid IPv4 address {value!r}") from exc


def check_ipv4_net(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        raise EdgeError(f"invalid IPv4 network {value!r}") from exc


def short(identifier: str, length: int = SHORT) -> str:
    """The first `length` alphanumerics of an id: UUIDs stay unique in practice at 11 hex digits."""
    return re.sub(r"[^a-z0-9]", "", check_id(identifier).lower())[:length]


def zone(network_id: str) -> int:
    """A stable conntrack zone (1..65535) for a network's segment."""
    digest = hashlib.sha256(check_id(network_id).encode()).digest()
    return int.from_bytes(digest[:2], "big") % 65535 + 1


def bridge(network_id: str) -> str:
    return f"vs-{short(network_id)}"


def vlan_if(trunk: str, vlan: int) -> str:
    if not 1 <= vlan <= 4094:
        raise EdgeError(f"invalid VLAN id {vlan}")
    return check_ifname(f"{trunk}.{vlan}")


def dhcp_ns(network_id: str) -> str:
    return f"qdhcp-{check_id(network_id)}"


def dhcp_port(network_id: str) -> str:
    """The DHCP port inside the qdhcp namespace."""
    return f"ns-{short(network_id)}"


def dhcp_peer(network_id: str) -> str:
    """The DHCP port's host end, plugged into the segment bridge."""
    return f"td{short(network_id)}"


def router_ns(router_id: str) -> str:
    return f"qrouter-{check_id(router_id)}"


def router_port(subnet_id: str) -> str:
    return f"qr-{short(subnet_id)}"


def router_peer(subnet_id: str) -> str:
    return f"tr{short(subnet_id)}"


def gateway_port(router_id: str) -> str:
    return f"qg-{short(router_id)}"


def gateway_peer(router_id: str) -> str:
    return f"tg{short(router_id)}"
