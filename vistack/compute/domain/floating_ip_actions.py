"""`addFloatingIp` / `removeFloatingIp` (microversions 2.1 to 2.43): Nova's proxies to Neutron
that associate a floating IP with one of a server's fixed addresses, done here through this
cloud's Neutron with the caller's own rights (so Neutron's policy and checks still apply).

From 2.44 Nova removed them (and `addFixedIp` / `removeFixedIp`): the API answers 404 and
clients call Neutron themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, VistackError
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.servers import server_not_found
from vistack.network.domain.service import NetworkService


def _address(argument: Any, action: str) -> tuple[str, str | None]:
    """(address, fixed_address) of the action's body, checked as Nova's schema."""
    if not isinstance(argument, Mapping) or not isinstance(argument.get("address"), str):
        raise BadRequest(f"Invalid input for field/attribute {action}. 'address' is required")
    allowed = {"address", "fixed_address"} if action == "addFloatingIp" else {"address"}
    extra = sorted(set(argument) - allowed)
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, extra))} "
            f"{'was' if len(extra) == 1 else 'were'} unexpected)"
        )
    fixed = argument.get("fixed_address")
    if fixed is not None and not isinstance(fixed, str):
        raise BadRequest("Invalid input for field/attribute fixed_address. It must be a string.")
    return argument["address"], fixed


class FloatingIpActions:
    """The two floating IP actions of a server."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, networks: NetworkService) -> None:
        self._store = store
        self._policy = policy
        self._networks = networks

    def _ports(self, context: RequestContext, server_id: str, rule: str) -> list[str]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            target = {"project_id": row.project_id} if row is not None else {}
            if row is None or not self._policy.check(
                "os_compute_api:servers:show", context, target
            ):
                raise server_not_found(server_id)
            self._policy.authorize(f"os_compute_api:os-floating-ips:{rule}", context, target)
            return list(row.port_ids or [])

    def _floating_ip(self, context: RequestContext, address: str) -> dict[str, Any]:
        for fip in self._networks.floatingips.list_floatingips(context):
            if fip.get("floating_ip_address") == address:
                return fip
        raise NotFound(f"floating IP not found: {address}")

    def add(self, context: RequestContext, server_id: str, argument: Any) -> None:
        """Associate the floating IP `address` with the server's `fixed_address` (else its
        first IPv4 address).

        :raises NotFound: no such server or floating IP. :raises BadRequest: the server has
            no address, the fixed address is not the server's, or Neutron refused.
        """
        address, fixed = _address(argument, "addFloatingIp")
        port_ids = self._ports(context, server_id, "add")
        fip = self._floating_ip(context, address)
        choice: tuple[str, str] | None = None
        for port_id in port_ids:
            port = self._networks.get_port(context, port_id)
            for entry in port.get("fixed_ips", []):
                ip = str(entry.get("ip_address", ""))
                if (fixed is not None and ip == fixed) or (fixed is None and ":" not in ip):
                    choice = (port_id, ip)
                    break
            if choice is not None:
                break
        if not port_ids:
            raise BadRequest(f"No nw_info cache associated with instance {server_id}")
        if choice is None:
            if fixed is not None:
                raise BadRequest("Specified fixed address not assigned to instance")
            raise BadRequest(f"No fixed IPs associated to instance {server_id}")
        body = {"floatingip": {"port_id": choice[0], "fixed_ip_address": choice[1]}}
        try:
            self._networks.floatingips.update_floatingip(context, fip["id"], body)
        except VistackError as exc:
            raise BadRequest(
                f"Unable to associate floating IP {address} to fixed IP {choice[1]} for "
                f"instance {server_id}. Error: {exc}"
            ) from None

    def remove(self, context: RequestContext, server_id: str, argument: Any) -> None:
        """Dissociate the floating IP `address` from the server.

        :raises Conflict: it is not associated with this server.
        """
        address, _ = _address(argument, "removeFloatingIp")
        port_ids = self._ports(context, server_id, "remove")
        fip = self._floating_ip(context, address)
        if fip.get("port_id") not in port_ids:
            raise Conflict(f"Floating IP {address} is not associated with instance {server_id}.")
        body = {"floatingip": {"port_id": None}}
        self._networks.floatingips.update_floatingip(context, fip["id"], body)
