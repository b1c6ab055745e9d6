"""A server's security groups: `addSecurityGroup`, `removeSecurityGroup` and
`GET /servers/{id}/os-security-groups`, done as Nova's Neutron driver does them.

Security groups belong to ports, not to servers: adding one adds it to every port of the
server, removing one takes it off every port that has it (a 404 only when none had it), and
the server's groups are the union of its ports'. The server keeps the names it shows in its
`security_groups` attribute in step.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, VistackError
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.access import authorized_server
from vistack.compute.domain.models import Server
from vistack.network.domain.query import ListRequest
from vistack.network.domain.service import NetworkService


def group_name_of(body: Any, action: str) -> str:
    """The group a `{action: {"name": ...}}` body names, with Nova's messages."""
    argument = body
    if not isinstance(argument, dict):
        raise BadRequest("Missing parameter dict")
    if "name" not in argument:
        raise BadRequest("Security group not specified")
    name = argument["name"]
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Security group name cannot be empty")
    return name


class ServerSecurityGroups:
    """The security groups of servers' ports, with the caller's context."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, networks: NetworkService):
        self._store = store
        self._policy = policy
        self._networks = networks

    def _server(self, context: RequestContext, server_id: str, rule: str) -> Server:
        rule = f"os_compute_api:os-security-groups:{rule}"
        return authorized_server(self._store, self._policy, context, server_id, rule)

    def _ports(self, context: RequestContext, server_id: str) -> list[dict[str, Any]]:
        asked = ListRequest(params=(("device_id", server_id),))
        return list(self._networks.list_ports(context, asked))

    def _find(self, context: RequestContext, name: str) -> dict[str, Any]:
        """A group by id, else by name among the caller's project's (Neutron client's rule)."""
        groups = self._networks.security.list_groups(context, ListRequest())
        by_id = [g for g in groups if g["id"] == name]
        if by_id:
            return by_id[0]
        named = [g for g in groups if g["name"] == name and g["project_id"] == context.project_id]
        if len(named) > 1:
            raise Conflict(
                f"Multiple security_group matches found for name '{name}', use an ID to be more "
                "specific."
            )
        if not named:
            raise NotFound(f"Security group {name} is not found for project {context.project_id}")
        return named[0]

    def add(self, context: RequestContext, server_id: str, name: str) -> None:
        """Add the group to every port of the server.

        :raises NotFound: no such server or group, or the server has no port.
        :raises BadRequest: a port cannot carry security groups (port security off, no IP).
        """
        server = self._server(context, server_id, "add")
        group = self._find(context, name)
        ports = self._ports(context, server_id)
        if not ports:
            raise NotFound(f"instance_id {server_id} could not be found as device id on any ports")
        for port in ports:
            if not port.get("port_security_enabled", True) or not port.get("fixed_ips"):
                raise BadRequest(
                    "Network requires port_security_enabled and subnet associated in order to "
                    "apply security groups."
                )
        for port in ports:
            current = list(port.get("security_groups") or [])
            if group["id"] not in current:
                self._set_groups(context, port["id"], [*current, group["id"]])
        self._remember(server, add=group["name"])

    def remove(self, context: RequestContext, server_id: str, name: str) -> None:
        """Take the group off every port that has it.

        :raises NotFound: no such server or group, or no port of the server has it.
        """
        server = self._server(context, server_id, "remove")
        group = self._find(context, name)
        found = False
        for port in self._ports(context, server_id):
            current = list(port.get("security_groups") or [])
            if group["id"] in current:
                self._set_groups(context, port["id"], [g for g in current if g != group["id"]])
                found = True
        if not found:
            raise NotFound(f"Security group {name} not associated with the instance {server_id}")
        self._remember(server, remove=group["name"])

    def _set_groups(self, context: RequestContext, port_id: str, groups: list[str]) -> None:
        try:
            self._networks.update_port(context, port_id, {"port": {"security_groups": groups}})
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Port id {port_id} could not be found.") from None
            raise

    def _remember(self, server: Server, *, add: str = "", remove: str = "") -> None:
        """Keep the names the server shows (`security_groups`) in step with its ports."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server.id)
            if row is None:
                return
            names = list(row.security_groups or [])
            if add and add not in names:
                names.append(add)
            if remove:
                names = [n for n in names if n != remove]
            queries.set_fields(unit, server.id, security_groups=names)

    def list_groups(self, context: RequestContext, server_id: str) -> list[dict[str, Any]]:
        """The groups of the server's ports in Nova's format (ingress rules only), sorted by
        project and name."""
        self._server(context, server_id, "list")
        wanted: list[str] = []
        for port in self._ports(context, server_id):
            wanted.extend(g for g in port.get("security_groups") or [] if g not in wanted)
        if not wanted:
            return []
        groups = {g["id"]: g for g in self._networks.security.list_groups(context, ListRequest())}
        shown = [nova_group(groups[g], groups) for g in wanted if g in groups]
        return sorted(shown, key=lambda g: (g["tenant_id"], g["name"]))


def nova_group(group: dict[str, Any], known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A Neutron group as Nova's `os-security-groups` shows it."""
    return {
        "id": group["id"],
        "name": group["name"],
        "description": group.get("description") or "",
        "tenant_id": group["project_id"],
        "rules": [
            nova_rule(rule, group["id"], known)
            for rule in group.get("security_group_rules") or []
            if rule.get("direction") == "ingress"
        ],
    }


def nova_rule(
    rule: dict[str, Any], group_id: str, known: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Nova's rule form: a protocol without ports is 1-65535 (TCP/UDP) or -1 (others); a
    rule is either for a remote group or for an address range (0.0.0.0/0 when none)."""
    protocol = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        low, high = (1, 65535) if str(protocol).upper() in ("TCP", "UDP") else (-1, -1)
    view: dict[str, Any] = {
        "id": rule["id"],
        "parent_group_id": group_id,
        "ip_protocol": protocol,
        "from_port": low,
        "to_port": high,
        "group": {},
        "ip_range": {},
    }
    remote = rule.get("remote_group_id")
    if remote:
        source = known.get(remote, {})
        view["group"] = {"name": source.get("name"), "tenant_id": source.get("project_id")}
    else:
        view["ip_range"] = {"cidr": rule.get("remote_ip_prefix") or "0.0.0.0/0"}
    return view
