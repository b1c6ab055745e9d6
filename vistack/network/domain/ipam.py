"""Pure IPAM arithmetic: CIDR and pool validation, default pools, picking a free address.

Nothing here touches the database: the service asks the repository which addresses are taken
and inserts its pick under the (subnet, address) primary key, which settles every race.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vistack.network.domain.errors import NeutronBadRequest, NeutronConflict, invalid

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: How many free addresses a retry picks among, after a concurrent create took the first one.
SPREAD = 64
#: How many candidate addresses one query asks the database about: the first query few (just
#: after the last pick the next address is nearly always free), each next one twice as many.
FIRST_WINDOW = 8
WINDOW = 128
MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def parse_cidr(value: Any, ip_version: int) -> IPNetwork:
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid IP subnet.")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise invalid(f"'{value}' is not a valid IP subnet.") from None
    if str(network) != value and network.with_prefixlen != value:
        raise invalid(f"'{value}' isn't a recommended CIDR, '{network}' is recommended.")
    if network.version != ip_version:
        raise invalid("Cidr and ip_version do not match.")
    if network.num_addresses < (4 if ip_version == 4 else 2):
        raise invalid(f"'{value}' is too small to hold an address for a port.")
    return network


def parse_ip(value: Any, what: str = "IP address") -> IPAddress:
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid {what}.")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise invalid(f"'{value}' is not a valid {what}.") from None


def usable_bounds(network: IPNetwork) -> tuple[int, int]:
    """First and last address a pool may hold: IPv4 loses network and broadcast, IPv6 the
    subnet-router anycast address (as Neutron's default pools)."""
    first = int(network.network_address) + 1
    last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    return first, last


def default_gateway(network: IPNetwork) -> str:
    return str(ipaddress.ip_address(usable_bounds(network)[0]))


def default_pools(network: IPNetwork, gateway: str | None) -> list[dict[str, str]]:
    first, last = usable_bounds(network)
    ranges = [(first, last)]
    if gateway is not None:
        ranges = _exclude(ranges, int(ipaddress.ip_address(gateway)))
    return [_pool(start, end) for start, end in ranges]


def _exclude(ranges: list[tuple[int, int]], address: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        if start <= address <= end:
            if start < address:
                out.append((start, address - 1))
            if address < end:
                out.append((address + 1, end))
        else:
            out.append((start, end))
    return out


def _pool(start: int, end: int) -> dict[str, str]:
    return {"start": str(ipaddress.ip_address(start)), "end": str(ipaddress.ip_address(end))}


def check_gateway(network: IPNetwork, gateway: Any) -> str | None:
    """The gateway as stored; refused when outside the subnet or its network/broadcast."""
    if gateway is None:
        return None
    address = parse_ip(gateway, "IP address")
    first, last = usable_bounds(network)
    if address.version != network.version or not first <= int(address) <= last:
        raise NeutronBadRequest(
            f"Invalid input for operation: Gateway ip {gateway} is not a usable address "
            f"of subnet {network}.",
            "InvalidInput",
        )
    return str(address)


def check_pools(network: IPNetwork, pools: Any, gateway: str | None) -> list[dict[str, str]]:
    if not isinstance(pools, list):
        raise invalid("allocation_pools must be a list of {'start', 'end'}.")
    ranges: list[tuple[int, int]] = []
    for pool in pools:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise invalid(f"'{pool}' is not a valid allocation pool ({{'start', 'end'}}).")
        start, end = parse_ip(pool["start"]), parse_ip(pool["end"])
        if start.version != network.version or end.version != network.version:
            raise invalid(f"Allocation pool {pool} has the wrong IP version.")
        if int(start) > int(end):
            raise invalid(f"The allocation pool {start}-{end} is not valid: start after end.")
        first, last = usable_bounds(network)
        if int(start) < first or int(end) > last:
            raise NeutronBadRequest(
                f"The allocation pool {start}-{end} spans beyond the subnet cidr {network}.",
                "OutOfBoundsAllocationPool",
            )
        ranges.append((int(start), int(end)))
    ranges.sort()
    for (_, end_a), (start_b, _) in itertools.pairwise(ranges):
        if start_b <= end_a:
            raise NeutronBadRequest(
                "Found overlapping allocation pools in the request.", "OverlappingAllocationPools"
            )
    if gateway is not None:
        address = int(ipaddress.ip_address(gateway))
        if any(start <= address <= end for start, end in ranges):
            raise NeutronConflict(
                f"Gateway ip {gateway} conflicts with allocation pool(s).",
                "GatewayConflictWithAllocationPools",
            )
    return [_pool(start, end) for start, end in ranges]


def check_nameservers(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise invalid("dns_nameservers must be a list of IP addresses.")
    servers = [str(parse_ip(v, "nameserver")) for v in value]
    if len(set(servers)) != len(servers):
        raise invalid(f"Duplicate nameserver in {value}.")
    return servers


def check_routes(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise invalid("host_routes must be a list of {'destination', 'nexthop'}.")
    routes: list[dict[str, str]] = []
    for route in value:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise invalid(f"'{route}' is not a valid host route ({{'destination', 'nexthop'}}).")
        try:
            destination = ipaddress.ip_network(str(route["destination"]), strict=False)
        except ValueError:
            raise invalid(f"'{route['destination']}' is not a valid IP subnet.") from None
        routes.append({"destination": str(destination), "nexthop": str(parse_ip(route["nexthop"]))})
    if len({(r["destination"], r["nexthop"]) for r in routes}) != len(routes):
        raise invalid(f"Duplicate host route in {value}.")
    return routes


def address_int(value: str) -> int:
    """An address as an integer: `socket.inet_pton`, an order faster than `ipaddress`."""
    family = socket.AF_INET6 if ":" in value else socket.AF_INET
    return int.from_bytes(socket.inet_pton(family, value), "big")


def address_str(value: int, version: int) -> str:
    """The integer as `str(ipaddress.ip_address(...))` spells it (the stored form)."""
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return str(ipaddress.IPv6Address(value))


def pool_ranges(pools: Sequence[dict[str, str]]) -> list[tuple[int, int]]:
    return sorted((address_int(p["start"]), address_int(p["end"])) for p in pools)


def _ranges_from(ranges: list[tuple[int, int]], start: int) -> Iterator[range]:
    """The pools' addresses in order from `start`, wrapping around to the first pool."""
    for first, last in ranges:
        if last >= start:
            yield range(max(first, start), last + 1)
    for first, last in ranges:
        if first < start:
            yield range(first, min(last, start - 1) + 1)


def find_free(
    pools: Sequence[dict[str, str]],
    version: int,
    start: int,
    exclude: set[str],
    taken_among: Callable[[list[str]], set[str]],
    attempt: int,
) -> str | None:
    """A free address of the pools, or None when they are exhausted, without loading every
    allocated address: the pools are walked from `start` (wrapping around) a window at a time,
    asking `taken_among` which of the window's addresses are allocated.

    The first attempt takes the first free address from `start`; a retry (a concurrent create
    took it) picks at random among the next free ones, so racing creates spread out instead of
    colliding again on the same address.
    """
    spread = 1 if attempt == 0 else SPREAD
    ranges = pool_ranges(pools)
    free: list[str] = []
    window: list[str] = []
    size = FIRST_WINDOW if attempt == 0 else WINDOW

    def settle() -> None:
        nonlocal size
        taken = taken_among(window)
        free.extend(a for a in window if a not in taken)
        window.clear()
        size = min(size * 2, WINDOW)

    for span in _ranges_from(ranges, start):
        for address in span:
            text = address_str(address, version)
            if text in exclude:
                continue
            window.append(text)
            if len(window) >= size:
                settle()
                if len(free) >= spread:
                    return random.choice(free[:spread])
    if window:
        settle()
    if not free:
        return None
    return random.choice(free[:spread])


def random_mac() -> str:
    """A MAC in Neutron's default `fa:16:3e` OUI (locally administered)."""
    tail = secrets.token_bytes(3)
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def check_mac(value: Any) -> str:
    if not isinstance(value, str) or not MAC_RE.match(value.lower()):
        raise invalid(f"'{value}' is not a valid MAC address.")
    mac = value.lower()
    if mac == "00:00:00:00:00:00" or int(mac.split(":")[0], 16) & 1:
        raise invalid(f"'{value}' is not a valid unicast MAC address.")
    return mac


class AddressClaims:
    """Addresses this process has picked for transactions not yet ended, per subnet.

    The database's unique key decides what is free; these only keep this process's concurrent
    creates from picking the same next address, which one of them would then lose at insert
    (a whole retried transaction: at 16 concurrent creates, one in twelve).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, set[str]] = {}

    def held(self, subnet_id: str) -> set[str]:
        with self._lock:
            return set(self._held.get(subnet_id, ()))

    def claim(self, subnet_id: str, address: str) -> bool:
        """Take `address`; False when another transaction of this process has it."""
        with self._lock:
            held = self._held.setdefault(subnet_id, set())
            if address in held:
                return False
            held.add(address)
            return True

    def release(self, subnet_id: str, address: str) -> None:
        with self._lock:
            held = self._held.get(subnet_id)
            if held is not None:
                held.discard(address)
                if not held:
                    del self._held[subnet_id]
