"""Nova's security group proxy (`/v2.1/os-security-groups` and `/os-security-group-rules`,
microversions 2.1 to 2.35): Neutron's security groups in Nova's form, read and changed
through this cloud's Neutron with the caller's rights.

Nova checks a group's name and description and a rule's protocol, ports and address range
itself, with its own messages, before Neutron sees them; Neutron's refusals come back in
Nova's terms (a group in use or the default group cannot be deleted: 400; a duplicate rule:
400).
"""

from __future__ import annotations

import ipaddress
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, VistackError
from vistack.compute.domain.server_security_groups import nova_group, nova_rule
from vistack.network.domain.query import ListRequest
from vistack.network.domain.service import NetworkService


def _text(value: Any, field: str) -> str:
    """Nova's `validate_property`: a string, not blank, at most 255 characters."""
    if not isinstance(value, str):
        raise BadRequest(f"Security group {field} is not a string or unicode")
    stripped = value.strip()
    if not stripped:
        raise BadRequest(f"Security group {field} cannot be empty.")
    if len(stripped) > 255:
        raise BadRequest(f"Security group {field} should not be greater than 255 characters.")
    return value


def _group_body(body: Any) -> dict[str, str]:
    if not isinstance(body, Mapping) or not isinstance(body.get("security_group"), Mapping):
        raise BadRequest("The request body must be an object with a 'security_group' object.")
    group = body["security_group"]
    return {
        "name": _text(group.get("name"), "name"),
        "description": _text(group.get("description"), "description"),
    }


def _port(value: Any, icmp: bool) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        if icmp:
            raise BadRequest("Type and Code must be integers for ICMP protocol type") from None
        raise BadRequest("To and From ports must be integers") from None


def _cidr(value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """Nova's `parse_cidr`: an address range (URL-quoted or not) that must name its prefix
    length, host bits allowed; none is 0.0.0.0/0. A zero prefix length is only for 0.0.0.0
    or ::. The host bits stay: Nova hands the range to Neutron as it came, and Neutron keeps
    it so (its `normalized_cidr` is the network), so every read shows the range as sent."""
    if not value:
        return ipaddress.ip_interface("0.0.0.0/0")
    if not isinstance(value, str):
        raise BadRequest(f"Invalid cidr {value}.")
    text = urllib.parse.unquote(value)
    length = text.partition("/")[2]
    try:
        if not length or "%" in text:  # no zone index: it names an interface, not a range
            raise ValueError(text)
        interface = ipaddress.ip_interface(text)
    except ValueError:
        raise BadRequest(f"Invalid cidr {value}.") from None
    if interface.network.prefixlen == 0 and not interface.ip.is_unspecified:
        raise BadRequest(f"Bad prefix for network in cidr {text}")
    return interface


def _rule_body(rule: Mapping[str, Any], parent: str) -> dict[str, Any]:
    """A Nova rule (`ip_protocol`, `from_port`, `to_port`, `cidr` or `group_id`) as the
    Neutron rule it makes, checked with Nova's rules and messages."""
    protocol = rule.get("ip_protocol")
    low, high = rule.get("from_port"), rule.get("to_port")
    remote_group = rule.get("group_id")
    cidr = rule.get("cidr")
    neutron: dict[str, Any] = {"security_group_id": parent, "direction": "ingress"}
    if remote_group:
        neutron["remote_group_id"] = str(remote_group)
        neutron["ethertype"] = "IPv4"
    else:
        interface = _cidr(cidr)
        neutron["remote_ip_prefix"] = str(interface)
        neutron["ethertype"] = f"IPv{interface.version}"
    if not (protocol and low is not None and high is not None):
        if not remote_group:  # an address range needs a protocol and ports
            raise BadRequest("Not enough parameters to build a valid rule.")
        return neutron
    name = str(protocol).upper()
    first, last = _port(low, name == "ICMP"), _port(high, name == "ICMP")
    if name not in ("TCP", "UDP", "ICMP"):
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if name in ("TCP", "UDP"):
        if first > last:
            raise BadRequest(
                f"Invalid port range {first}:{last}. Former value cannot be greater than the later"
            )
        if first < 1 or last > 65535:
            raise BadRequest(
                f"Invalid port range {first}:{last}. Valid {name} ports should be between 1-65535"
            )
        neutron.update(port_range_min=first, port_range_max=last)
    else:
        if not (-1 <= first <= 255 and -1 <= last <= 255):
            raise BadRequest(
                f"Invalid port range {first}:{last}. For ICMP, the type:code must be valid"
            )
        neutron["port_range_min"] = None if first == -1 else first
        neutron["port_range_max"] = None if last == -1 else last
    neutron["protocol"] = name.lower()
    return neutron


class SecurityGroupProxy:
    """The security group proxy's reads and changes."""

    def __init__(self, networks: NetworkService) -> None:
        self._networks = networks

    def _known(self, context: RequestContext) -> dict[str, dict[str, Any]]:
        groups = self._networks.security.list_groups(context, ListRequest())
        return {g["id"]: g for g in groups}

    def _group(self, context: RequestContext, group_id: str) -> dict[str, Any]:
        try:
            return self._networks.security.get_group(context, group_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Security group {group_id} not found.") from None
            raise

    def list_groups(self, context: RequestContext, *, all_tenants: bool) -> list[dict[str, Any]]:
        """The caller's project's groups (every project's for an administrator asking
        `all_tenants`), in Nova's form."""
        known = self._known(context)
        groups = [g for g in known.values() if all_tenants or g["project_id"] == context.project_id]
        return [nova_group(g, known) for g in sorted(groups, key=lambda g: g["name"])]

    def show(self, context: RequestContext, group_id: str) -> dict[str, Any]:
        return nova_group(self._group(context, group_id), self._known(context))

    def create(self, context: RequestContext, body: Any) -> dict[str, Any]:
        fields = _group_body(body)
        made = self._networks.security.create_group(context, {"security_group": fields})
        return nova_group(made, self._known(context))

    def update(self, context: RequestContext, group_id: str, body: Any) -> dict[str, Any]:
        fields = _group_body(body)
        self._group(context, group_id)
        try:
            changed = self._networks.security.update_group(
                context, group_id, {"security_group": fields}
            )
        except VistackError as exc:
            if exc.status == 409:
                raise BadRequest(exc.message) from None
            raise
        return nova_group(changed, self._known(context))

    def delete(self, context: RequestContext, group_id: str) -> None:
        self._group(context, group_id)
        try:
            self._networks.security.delete_group(context, group_id)
        except VistackError as exc:
            if exc.status == 409:  # in use, or the default group
                raise BadRequest(exc.message) from None
            raise

    def create_rule(self, context: RequestContext, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping) or not isinstance(
            body.get("security_group_rule"), Mapping
        ):
            raise BadRequest("The request body must have a 'security_group_rule' object.")
        rule = body["security_group_rule"]
        parent = rule.get("parent_group_id")
        if not isinstance(parent, str | int) or not str(parent):
            raise BadRequest("Invalid input for field/attribute parent_group_id.")
        if not _is_uuid(str(parent)):
            raise BadRequest("Security group id should be uuid")
        self._group(context, str(parent))
        if rule.get("group_id"):
            self._group(context, str(rule["group_id"]))
        neutron = _rule_body(rule, str(parent))
        try:
            made = self._networks.security.create_rule(context, {"security_group_rule": neutron})
        except VistackError as exc:
            if exc.status == 409:
                raise BadRequest(f"This rule already exists in group {parent}") from None
            raise
        return nova_rule(made, str(parent), self._known(context))

    def delete_rule(self, context: RequestContext, rule_id: str) -> None:
        try:
            self._networks.security.delete_rule(context, rule_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Security group rule {rule_id} not found.") from None
            raise


def _is_uuid(value: str) -> bool:
    """Neutron's security groups have uuids: any other id is a bad request, not a lookup."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
