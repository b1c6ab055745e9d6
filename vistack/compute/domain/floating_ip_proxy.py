"""Nova's floating IP proxies (`os-floating-ips`, `os-floating-ip-pools`, 2.1 to 2.35): Neutron's
floating IPs in Nova's form (`ip`, `pool`, `fixed_ip`, `instance_id`) and the external networks
as pools, read, allocated and released through this cloud's Neutron with the caller's rights.

A create that names no pool takes the one external network the caller sees (Nova's
`default_floating_pool` is a name the operator configures; here, with one external network,
there is nothing to choose).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Forbidden, NotFound, VistackError
from vistack.network.domain.service import NetworkService


class FloatingIpProxy:
    """The floating IP proxies' reads and changes."""

    def __init__(self, networks: NetworkService) -> None:
        self._networks = networks

    def pools(self, context: RequestContext) -> list[dict[str, Any]]:
        """The external networks the caller sees."""
        return [n for n in self._networks.list_networks(context) if n.get("router:external")]

    def _view(self, fip: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        details = fip.get("port_details") or {}
        device = (
            details.get("device_id")
            if str(details.get("device_owner", "")).startswith("compute:")
            else None
        )
        return {
            "id": fip["id"],
            "ip": fip["floating_ip_address"],
            "pool": names.get(fip["floating_network_id"], fip["floating_network_id"]),
            "fixed_ip": fip.get("fixed_ip_address"),
            "instance_id": device or None,
        }

    def _names(self, context: RequestContext) -> dict[str, str]:
        return {n["id"]: n.get("name") or n["id"] for n in self.pools(context)}

    def list_ips(self, context: RequestContext) -> list[dict[str, Any]]:
        names = self._names(context)
        mine = [
            f
            for f in self._networks.floatingips.list_floatingips(context)
            if f.get("project_id") == context.project_id
        ]
        return [self._view(f, names) for f in mine]

    def get(self, context: RequestContext, fip_id: str) -> dict[str, Any]:
        try:
            fip = self._networks.floatingips.get_floatingip(context, fip_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Floating IP not found for ID {fip_id}") from None
            raise
        return self._view(fip, self._names(context))

    def allocate(self, context: RequestContext, body: Any) -> dict[str, Any]:
        """A new floating IP from `{"pool": name or id}` (or the only pool).

        :raises NotFound: no such pool, or no address left in it.
        :raises Forbidden: the project's floating IP quota is used up.
        """
        wanted = body.get("pool") if isinstance(body, Mapping) else None
        if wanted is not None and not isinstance(wanted, str):
            raise BadRequest("Invalid input for field/attribute pool. Value must be a string.")
        pools = self.pools(context)
        if wanted is None:
            matched = pools if len(pools) == 1 else []
        else:
            matched = [p for p in pools if wanted in (p["id"], p.get("name"))]
        if len(matched) != 1:
            raise NotFound("Floating IP pool not found.")
        pool = matched[0]
        name = pool.get("name") or pool["id"]
        request = {"floatingip": {"floating_network_id": pool["id"]}}
        try:
            made = self._networks.floatingips.create_floatingip(context, request)
        except VistackError as exc:
            if exc.status in (403, 409) and "quota" in exc.message.lower():
                raise Forbidden(f"IP allocation over quota in pool {name}.") from None
            if exc.status == 409:
                raise NotFound(f"No more floating IPs in pool {name}.") from None
            raise
        return self._view(made, {pool["id"]: name})

    def release(self, context: RequestContext, fip_id: str) -> None:
        self.get(context, fip_id)
        self._networks.floatingips.delete_floatingip(context, fip_id)
