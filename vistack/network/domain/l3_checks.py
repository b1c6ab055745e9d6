"""What routers and floating IPs share: Neutron's L3 faults, input checks and the legs' ports.

Every fault is Neutron's (type and sentence), since clients and Tempest match on them. The
checks are pure: they get what the database says and answer or raise, so the services stay
about ordering and locking.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.network.db.l3_queries import disassociate_port, floating_port_owner, router
from vistack.network.db.l3_tables import (
    FLOATINGIP_OWNER,
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    FloatingIpRow,
    RouterRow,
)
from vistack.network.db.repository import Unit
from vistack.network.db.tables import PortRow
from vistack.network.domain import ipam
from vistack.network.domain.attributes import boolean
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    invalid,
)

#: Neutron's default `max_routes`: extra routes one router may have.
MAX_ROUTES = 30
L3_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATINGIP_OWNER)


def bad_request(resource: str, message: str) -> NeutronBadRequest:
    """neutron-lib's `BadRequest`: "Bad router request: ..."."""
    return NeutronBadRequest(f"Bad {resource} request: {message}", "BadRequest")


def router_not_found(router_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Router {router_id} could not be found", "RouterNotFound")


def floatingip_not_found(floatingip_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Floating IP {floatingip_id} could not be found", "FloatingIPNotFound")


def not_external(resource: str, network_id: str) -> NeutronBadRequest:
    if resource == "floatingip":
        return bad_request(resource, f"Network {network_id} is not a valid external network.")
    return bad_request(resource, f"Network {network_id} is not an external network.")


def gateway_in_use(router_id: str, network_id: str) -> NeutronConflict:
    return NeutronConflict(
        f"Gateway cannot be updated for router {router_id}, since a gateway to external "
        f"network {network_id} is required by one or more floating IPs.",
        "RouterExternalGatewayInUseByFloatingIp",
    )


@dataclass(frozen=True)
class GatewayRequest:
    """`external_gateway_info` as asked: None members were not given."""

    network_id: str
    enable_snat: bool | None
    fixed_ips: list[dict[str, str]] | None


def gateway_request(value: Any) -> GatewayRequest | None:
    """None or `{}` clears the gateway (as Neutron); otherwise a network is required."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise invalid(f"'{value}' is not a dictionary (external_gateway_info).")
    unknown = sorted(set(value) - {"network_id", "enable_snat", "external_fixed_ips"})
    if unknown:
        raise invalid(f"Unrecognized external_gateway_info key(s) {', '.join(unknown)}.")
    network_id = value.get("network_id")
    if not isinstance(network_id, str) or not network_id:
        raise invalid("external_gateway_info requires a network_id.")
    snat = value.get("enable_snat")
    fixed = value.get("external_fixed_ips")
    fixed_ips: list[dict[str, str]] | None = None
    if fixed is not None:
        if not isinstance(fixed, list):
            raise invalid("external_fixed_ips must be a list of {'subnet_id', 'ip_address'}.")
        fixed_ips = []
        for item in fixed:
            if not isinstance(item, dict) or not item or set(item) - {"subnet_id", "ip_address"}:
                raise invalid(f"'{item}' is not a valid external fixed IP.")
            if "ip_address" in item:
                ipam.parse_ip(item["ip_address"])
            fixed_ips.append({k: str(v) for k, v in item.items()})
    return GatewayRequest(
        network_id=network_id,
        enable_snat=None if snat is None else boolean(snat, "enable_snat"),
        fixed_ips=fixed_ips,
    )


def check_routes(
    value: Any, cidrs: Sequence[str], router_ips: Iterable[str], router_id: str
) -> list[dict[str, str]]:
    """Extra routes as stored: each nexthop inside one of the router's interface subnets and
    not one of the router's own addresses; at most `MAX_ROUTES`, no duplicates."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("routes must be a list of {'destination', 'nexthop'}.")
    routes: list[dict[str, str]] = []
    for route in value:
        entry = _route(route)
        if entry in routes:
            raise invalid(f"Duplicate route '{route}'.")
        routes.append(entry)
    if len(routes) > MAX_ROUTES:
        raise NeutronBadRequest(
            f"Unable to complete operation for {router_id}. The number of routes exceeds "
            f"the maximum {MAX_ROUTES}.",
            "RoutesExhausted",
        )
    own = set(router_ips)
    networks = [ipaddress.ip_network(c) for c in cidrs]
    for entry in routes:
        nexthop = ipaddress.ip_address(entry["nexthop"])
        if ipaddress.ip_network(entry["destination"]).version != nexthop.version:
            raise invalid_routes(entry, "the destination and nexthop IP versions differ.")
        if not any(nexthop in network for network in networks):
            raise invalid_routes(entry, "the nexthop is not connected with router.")
        if entry["nexthop"] in own:
            raise invalid_routes(entry, "the nexthop is used by router.")
    return routes


def _route(route: Any) -> dict[str, str]:
    """One `{'destination', 'nexthop'}` route in its stored form (format only)."""
    if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
        raise invalid(f"'{route}' is not a valid route ({{'destination', 'nexthop'}}).")
    try:
        destination = ipaddress.ip_network(str(route["destination"]), strict=False)
    except ValueError:
        raise invalid(f"'{route['destination']}' is not a valid IP subnet.") from None
    nexthop = ipam.parse_ip(route["nexthop"], "nexthop")
    return {"destination": str(destination), "nexthop": str(nexthop)}


def invalid_routes(route: dict[str, str], reason: str) -> NeutronBadRequest:
    return NeutronBadRequest(f"Invalid format for routes: [{route}], {reason}", "InvalidRoutes")


def route_changes(body: Any) -> list[dict[str, str]]:
    """The `{"router": {"routes": [...]}}` body of add_extraroutes / remove_extraroutes,
    normalised (format only: what they may point at is checked on the result)."""
    attrs = body.get("router") if isinstance(body, dict) else None
    if not isinstance(attrs, dict) or set(attrs) != {"routes"}:
        raise NeutronBadRequest(
            "Resource body required: the request body must be {'router': {'routes': [...]}}."
        )
    if not isinstance(attrs["routes"], list):
        raise invalid("routes must be a list of {'destination', 'nexthop'}.")
    out: list[dict[str, str]] = []
    for route in attrs["routes"]:
        entry = _route(route)
        if entry not in out:
            out.append(entry)
    return out


def overlap_check(attached: dict[str, str], new: dict[str, str], router_id: str) -> None:
    """Refuse a subnet already on the router, or one whose cidr overlaps an attached one's
    (the router could not tell which leg an address is behind)."""
    for subnet_id, cidr in new.items():
        if subnet_id in attached:
            raise bad_request("router", f"Router already has a port on subnet {subnet_id}.")
        for other_id, other in attached.items():
            if ipaddress.ip_network(other).overlaps(ipaddress.ip_network(cidr)):
                raise bad_request(
                    "router",
                    f"Cidr {cidr} of subnet {subnet_id} overlaps with cidr {other} of "
                    f"subnet {other_id}.",
                )


def interface_info(
    router_id: str,
    project_id: str,
    port: PortRow,
    subnet_ids: Sequence[str],
    tags: Sequence[str],
) -> dict[str, Any]:
    """Neutron's add/remove_router_interface answer (not wrapped in a `router` key)."""
    return {
        "id": router_id,
        "tenant_id": project_id,
        "project_id": project_id,
        "port_id": port.id,
        "network_id": port.network_id,
        "subnet_id": subnet_ids[0] if subnet_ids else None,
        "subnet_ids": list(subnet_ids),
        "tags": list(tags),
    }


def touch(row: RouterRow | FloatingIpRow | PortRow) -> None:
    """A change of the resource: a new `updated_at` and the next revision."""
    row.updated_at = utcnow()
    row.revision_number = (row.revision_number or 0) + 1


def leg_port(
    network_id: str, project_id: str, owner: str, device_id: str, description: str = ""
) -> PortRow:
    """A new port for a router leg, a floating IP or a network's DHCP service: no security
    groups (Neutron gives none to `network:*` ports), a fresh MAC (unique per network: a clash
    is a retried collision)."""
    now = utcnow()
    return PortRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        network_id=network_id,
        name="",
        description=description,
        mac_address=ipam.random_mac(),
        admin_state_up=True,
        status="N/A" if owner == FLOATINGIP_OWNER else "ACTIVE",
        device_owner=owner,
        device_id=device_id,
        port_security_enabled=False,
        allowed_address_pairs=[],
        binding_host_id="",
        binding_vnic_type="normal",
        binding_profile={},
        tags=[],
        created_at=now,
        updated_at=now,
        revision_number=0,
    )


def before_port_delete(unit: Unit, port: PortRow) -> None:
    """The port API's delete guard: a router leg or a floating IP's port goes with its owner
    (409 while that exists, as Neutron), and floating IPs mapped to a port that goes are
    left unassociated."""
    if port.device_owner in L3_OWNERS and port.device_id:
        owned = (
            floating_port_owner(unit, port)
            if port.device_owner == FLOATINGIP_OWNER
            else router(unit, port.device_id) is not None
        )
        if owned:
            raise NeutronConflict(
                f"Port {port.id} cannot be deleted directly via the port API: has device "
                f"owner {port.device_owner}.",
                "ServicePortInUse",
            )
    disassociate_port(unit, port.id)
