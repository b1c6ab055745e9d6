"""What a `POST /servers/{id}/os-interface` asks (Nova's `attach_interfaces.create` schema,
`tag` from 2.49) and how a port's addresses appear on the server (as a build records them)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.errors import BadRequest

_TAG = re.compile(r"^[^,/]*$")


@dataclass(frozen=True)
class AttachRequest:
    """What a `POST os-interface` asks: a port, or a network (with an address), or neither
    (the one network the project can use)."""

    port_id: str | None = None
    network_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


def parse_attach(body: Any, *, tags: bool) -> AttachRequest:
    """Nova's `attach_interfaces.create` schema (`tag` from 2.49) and its two extra rules.

    :raises BadRequest: an invalid body, both a port and a network, or an address without a
        network.
    """
    if body is None or (isinstance(body, Mapping) and not body):
        return AttachRequest()
    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be an object.")
    _no_extra(body, {"interfaceAttachment"}, "")
    attachment = body.get("interfaceAttachment")
    if attachment is None:
        return AttachRequest()
    if not isinstance(attachment, Mapping):
        raise BadRequest("Invalid input for field/attribute interfaceAttachment.")
    allowed = {"net_id", "port_id", "fixed_ips"} | ({"tag"} if tags else set())
    _no_extra(attachment, allowed, "interfaceAttachment")
    port_id = _uuid(attachment.get("port_id"), "port_id")
    network_id = _uuid(attachment.get("net_id"), "net_id")
    fixed_ip = _fixed_ip(attachment.get("fixed_ips"))
    tag = attachment.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > 60 or not _TAG.match(tag)):
        raise BadRequest(
            "Invalid input for field/attribute tag. A tag is at most 60 characters, "
            "without ',' or '/'."
        )
    if network_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if fixed_ip and not network_id:
        raise BadRequest("Must input network_id when request IP address")
    return AttachRequest(port_id, network_id, fixed_ip, tag)


def _no_extra(value: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(value) - allowed
    if unknown:
        names = ", ".join(sorted(map(repr, unknown)))
        prefix = f"Invalid input for field/attribute {where}. " if where else ""
        raise BadRequest(f"{prefix}Additional properties are not allowed ({names} were unexpected)")


def _uuid(value: Any, name: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _bad_uuid(name, value)
    except ValueError:
        return _bad_uuid(name, value)


def _bad_uuid(name: str, value: Any) -> str:
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. Not a UUID.")


def _fixed_ip(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], Mapping):
        raise BadRequest("Invalid input for field/attribute fixed_ips: one {'ip_address': ...}.")
    entry = value[0]
    _no_extra(entry, {"ip_address"}, "fixed_ips")
    address = entry.get("ip_address")
    try:
        return str(ipaddress.ip_address(str(address)))
    except (TypeError, ValueError):
        raise BadRequest(
            f"Invalid input for field/attribute ip_address. Value: {address}. Not an IP address."
        ) from None


def address_entries(port: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A port's fixed addresses as the server's `addresses` shows them (as a build records)."""
    return [
        {
            "version": 6 if ":" in fixed["ip_address"] else 4,
            "addr": fixed["ip_address"],
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
        }
        for fixed in port.get("fixed_ips", [])
    ]


def without_mac(
    addresses: Mapping[str, list[dict[str, Any]]], mac: str
) -> dict[str, list[dict[str, Any]]]:
    """`addresses` without the entries of the NIC with `mac` (networks left empty dropped)."""
    kept: dict[str, list[dict[str, Any]]] = {}
    for network, entries in addresses.items():
        left = [e for e in entries if str(e.get("OS-EXT-IPS-MAC:mac_addr", "")).lower() != mac]
        if left:
            kept[network] = left
    return kept
