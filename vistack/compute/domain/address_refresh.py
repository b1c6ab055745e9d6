"""A server's cached `addresses`, rebuilt from its ports as Neutron has them now.

Nova caches a server's network info and refreshes it when told (inject_network_info, Neutron's
`network-changed` events). Both paths read the ports the same way and keep the floating
addresses of ports still plugged, which Neutron reports on the floating IP, not on the port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import VistackError
from vistack.compute.domain.interface_request import address_entries
from vistack.network.domain.service import NetworkService

Addresses = dict[str, list[dict[str, Any]]]


def fixed_addresses(
    networks: NetworkService, context: RequestContext, port_ids: Iterable[str]
) -> tuple[Addresses, dict[str, str]]:
    """(fixed addresses by network name, network name by MAC) of the ports that still exist
    (a port deleted in Neutron is no longer part of the server's network)."""
    fixed: Addresses = {}
    names: dict[str, str] = {}
    for port_id in port_ids:
        try:
            port = networks.get_port(context, port_id)
            name, _ = networks.portgroup_of(context, port["network_id"])
        except VistackError as exc:
            if exc.status == 404:
                continue
            raise
        names[str(port["mac_address"]).lower()] = name
        fixed.setdefault(name, []).extend(address_entries(port))
    return fixed, names


def with_floating(
    fixed: Addresses, names: Mapping[str, str], cached: Mapping[str, Any] | None
) -> Addresses:
    """`fixed` plus the cached floating addresses of the ports in `names` (by MAC)."""
    addresses = {name: list(entries) for name, entries in fixed.items()}
    for entries in (cached or {}).values():
        for entry in entries:
            mac = str(entry.get("OS-EXT-IPS-MAC:mac_addr", "")).lower()
            if entry.get("OS-EXT-IPS:type") == "floating" and mac in names:
                addresses.setdefault(names[mac], []).append(entry)
    return addresses
