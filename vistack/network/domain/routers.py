"""Routers (edge backend): a gateway leg on an external network, interface legs on subnets,
extra routes. The data plane turns them into a namespace with SNAT; this is the API side.

Each leg is a port made through the core's IPAM (`PortOps._allocate`), so a router address is
an ordinary allocation and can never be handed out twice. Every change of a router runs in
one transaction that first takes the router's lock (`l3_queries.lock_router`): its checks
(attached subnets, overlapping cidrs, routes, floating IPs relying on a leg) then see what
any concurrent change of the same router committed, and a failure writes nothing.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.network.db import l3_queries as q
from vistack.network.db.l3_tables import ROUTER_GATEWAY, ROUTER_INTERFACE, RouterRow
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.tables import IpAllocationRow, NetworkRow, PortRow
from vistack.network.domain.attributes import boolean, check_attributes, named_view, text
from vistack.network.domain.base import MAX_ATTEMPTS
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    NeutronUnavailable,
    not_found,
)
from vistack.network.domain.l3_checks import (
    GatewayRequest,
    bad_request,
    check_routes,
    gateway_in_use,
    gateway_request,
    interface_info,
    leg_port,
    not_external,
    overlap_check,
    route_changes,
    router_not_found,
    touch,
)
from vistack.network.domain.query import stamp
from vistack.network.domain.revisions import check_revision
from vistack.network.domain.zones import check_router_hints, router_attributes, set_router_hints

if TYPE_CHECKING:
    from vistack.network.domain.ports import PortOps

ROUTER_CREATE = {
    "name",
    "description",
    "admin_state_up",
    "external_gateway_info",
    "availability_zone_hints",
    "project_id",
    "tenant_id",
}
ROUTER_UPDATE = {"name", "description", "admin_state_up", "external_gateway_info", "routes"}


def _fixed_ips(allocations: Sequence[IpAllocationRow]) -> list[dict[str, str]]:
    return [
        {"subnet_id": a.subnet_id, "ip_address": a.ip_address}
        for a in sorted(
            allocations,
            key=lambda a: (
                ipaddress.ip_address(a.ip_address).version,
                ipaddress.ip_address(a.ip_address),
            ),
        )
    ]


class RouterService:
    """Neutron's router operations, on the core service's store, policy and IPAM."""

    def __init__(self, core: PortOps) -> None:
        self._core = core
        self._store = core._store
        self._policy = core._policy

    # ---------------------------------------------------------------- reading

    @staticmethod
    def _target(row: RouterRow) -> dict[str, Any]:
        return {"target.project_id": row.project_id}

    def _visible(self, unit: Unit, context: RequestContext, router_id: str) -> RouterRow:
        row = q.router(unit, router_id)
        if row is None or not self._policy.check("get_router", context, self._target(row)):
            raise router_not_found(router_id)
        return row

    def taggable(
        self, unit: Unit, context: RequestContext, router_id: str
    ) -> tuple[RouterRow, dict[str, Any]]:
        row = self._visible(unit, context, router_id)
        return row, self._target(row)

    @staticmethod
    def _view(
        row: RouterRow, gateway: Sequence[IpAllocationRow], zones: dict[str, list[str]]
    ) -> dict[str, Any]:
        """Neutron's router; `zones` are its availability zone hints and zones (zones.py)."""
        info = None
        if row.gw_network_id is not None:
            info = {
                "network_id": row.gw_network_id,
                "enable_snat": row.enable_snat,
                "external_fixed_ips": _fixed_ips(gateway),
            }
        return {
            **named_view(row),
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "external_gateway_info": info,
            "routes": list(row.routes or []),
            **zones,
            "tags": list(row.tags or []),
            "created_at": stamp(row.created_at),
            "updated_at": stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    def _render(self, unit: Unit, row: RouterRow) -> dict[str, Any]:
        unit.flush()
        legs = [p.id for p in q.router_ports(unit, row.id, ROUTER_GATEWAY)]
        allocations = unit.allocations(legs) if legs else {}
        gateway = [a for leg in legs for a in allocations.get(leg, [])]
        return self._view(row, gateway, router_attributes(unit, row.id))

    def list_routers(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            gateways: dict[str, list[str]] = {}
            for port in q.all_router_ports(unit):
                if port.device_owner == ROUTER_GATEWAY:
                    gateways.setdefault(port.device_id, []).append(port.id)
            allocations = unit.allocations([p for ids in gateways.values() for p in ids])
            return [
                self._view(
                    row,
                    [a for p in gateways.get(row.id, []) for a in allocations.get(p, [])],
                    router_attributes(unit, row.id),
                )
                for row in q.routers(unit)
                if self._policy.check("get_router", context, self._target(row))
            ]

    def get_router(self, context: RequestContext, router_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return self._render(unit, self._visible(unit, context, router_id))

    # ---------------------------------------------------------------- writing

    def _authorize_gateway(
        self,
        action: str,
        gateway: GatewayRequest | None,
        context: RequestContext,
        target: dict[str, Any],
    ) -> None:
        """Neutron's defaults: anyone who may change the router may set its gateway network;
        SNAT off and chosen external addresses are the administrator's (a default `true`
        given on create is not a choice)."""
        if gateway is None:
            return
        if gateway.enable_snat is not None and not (action == "create" and gateway.enable_snat):
            self._policy.authorize(
                f"{action}_router:external_gateway_info:enable_snat", context, target
            )
        if gateway.fixed_ips is not None:
            self._policy.authorize(
                f"{action}_router:external_gateway_info:external_fixed_ips", context, target
            )

    def create_router(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, ROUTER_CREATE, "router")
        project = self._core._owner(context, attrs)
        target = {"target.project_id": project}
        self._policy.authorize("create_router", context, target)
        gateway = gateway_request(attrs.get("external_gateway_info"))
        self._authorize_gateway("create", gateway, context, target)
        now = utcnow()
        values: dict[str, Any] = {
            "project_id": project,
            "name": text(attrs.get("name"), "name"),
            "description": text(attrs.get("description"), "description"),
            "admin_state_up": boolean(attrs.get("admin_state_up", True), "admin_state_up"),
            "status": "ACTIVE",
            "gw_network_id": None,
            "enable_snat": True,
            "routes": [],
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
        }
        with self._store.transaction() as unit:
            if gateway is not None:
                self._gateway_network(unit, context, gateway.network_id)
            hints = check_router_hints(unit, attrs.get("availability_zone_hints"))
        self._store.ensure_project(project)
        limited = self._core._quota_limited("router", project)
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    if limited:
                        unit.lock_project(project)
                        self._core._check_quota(unit, "router", project)
                    row = RouterRow(id=str(uuid.uuid4()), **values)
                    unit.add(row)
                    set_router_hints(unit, row.id, hints)
                    if gateway is not None:
                        self._plug_gateway(unit, context, row, gateway, attempt)
                    return self._render(unit, row)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent router creates; retry.")

    def _gateway_network(self, unit: Unit, context: RequestContext, network_id: str) -> NetworkRow:
        network = self._core._visible_network(unit, context, network_id)
        if not network.external:
            raise not_external("router", network_id)
        return network

    def _plug_gateway(
        self,
        unit: Unit,
        context: RequestContext,
        row: RouterRow,
        gateway: GatewayRequest,
        attempt: int,
    ) -> None:
        """A gateway port on the external network (project "": nobody's port quota, shown to
        administrators only, as Neutron's), addresses from its subnets."""
        self._gateway_network(unit, context, gateway.network_id)
        network = unit.network_locked(gateway.network_id, shared=True)
        if network is None or network.status != "ACTIVE":
            raise not_found("network", gateway.network_id)
        port = leg_port(network.id, "", ROUTER_GATEWAY, row.id)
        allocations = self._core._allocate(unit, network, port, gateway.fixed_ips, attempt)
        _, _, interfaces = self._interfaces(unit, row.id)
        overlap_check(interfaces, self._cidrs(unit, allocations), row.id)
        unit.add(port)
        unit.add(*allocations)
        row.gw_network_id = network.id
        row.enable_snat = True if gateway.enable_snat is None else gateway.enable_snat

    def _unplug_gateway(self, unit: Unit, row: RouterRow) -> None:
        if row.gw_network_id is not None and q.router_floatingips(unit, row.id):
            raise gateway_in_use(row.id, row.gw_network_id)
        for port in q.router_ports(unit, row.id, ROUTER_GATEWAY):
            unit.delete(port)
        row.gw_network_id = None
        unit.flush()

    def _set_gateway(
        self,
        unit: Unit,
        context: RequestContext,
        row: RouterRow,
        gateway: GatewayRequest | None,
        attempt: int,
    ) -> None:
        legs = q.router_ports(unit, row.id, ROUTER_GATEWAY)
        if gateway is None or gateway.network_id != row.gw_network_id or not legs:
            self._unplug_gateway(unit, row)
            if gateway is not None:
                self._plug_gateway(unit, context, row, gateway, attempt)
            return
        if gateway.enable_snat is not None:
            row.enable_snat = gateway.enable_snat
        if gateway.fixed_ips is not None:
            network = unit.network_locked(row.gw_network_id, shared=True)
            if network is None:
                raise not_found("network", row.gw_network_id)
            port = legs[0]
            current = unit.allocations([port.id]).get(port.id, [])
            requests = self._core._keep_current(gateway.fixed_ips, current)
            unit.delete_port_allocations(port.id)
            allocations = self._core._allocate(unit, network, port, requests, attempt)
            _, _, interfaces = self._interfaces(unit, row.id)
            overlap_check(interfaces, self._cidrs(unit, allocations), row.id)
            unit.add(*allocations)

    def _interfaces(
        self, unit: Unit, router_id: str
    ) -> tuple[Sequence[PortRow], dict[str, list[IpAllocationRow]], dict[str, str]]:
        """The router's interface ports, their allocations and subnet id → cidr."""
        ports = q.router_ports(unit, router_id, ROUTER_INTERFACE)
        allocations = unit.allocations([p.id for p in ports]) if ports else {}
        cidrs = self._cidrs(unit, [a for rows in allocations.values() for a in rows])
        return ports, allocations, cidrs

    @staticmethod
    def _cidrs(unit: Unit, allocations: Sequence[IpAllocationRow]) -> dict[str, str]:
        """Subnet id → cidr of the subnets these allocations are in."""
        cidrs: dict[str, str] = {}
        for allocation in allocations:
            subnet = unit.subnet(allocation.subnet_id)
            if subnet is not None:
                cidrs[subnet.id] = subnet.cidr
        return cidrs

    def _occupied(self, unit: Unit, router_id: str) -> dict[str, str]:
        """Subnet id → cidr of every leg, gateway included: a new interface may overlap none
        (the router could not tell which leg an address is behind)."""
        _, _, cidrs = self._interfaces(unit, router_id)
        legs = [p.id for p in q.router_ports(unit, router_id, ROUTER_GATEWAY)]
        gateway = unit.allocations(legs) if legs else {}
        return {**cidrs, **self._cidrs(unit, [a for rows in gateway.values() for a in rows])}

    def _checked_routes(self, unit: Unit, row: RouterRow, value: Any) -> list[dict[str, str]]:
        _, allocations, cidrs = self._interfaces(unit, row.id)
        own = [a.ip_address for rows in allocations.values() for a in rows]
        return check_routes(value, list(cidrs.values()), own, row.id)

    def update_router(self, context: RequestContext, router_id: str, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, ROUTER_UPDATE, "router")
        gateway = gateway_request(attrs.get("external_gateway_info"))
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    q.lock_router(unit, router_id)
                    row = self._visible(unit, context, router_id)
                    target = self._target(row)
                    self._policy.authorize("update_router", context, target)
                    check_revision(unit, row)
                    if "name" in attrs:
                        row.name = text(attrs["name"], "name")
                    if "description" in attrs:
                        row.description = text(attrs["description"], "description")
                    if "admin_state_up" in attrs:
                        row.admin_state_up = boolean(attrs["admin_state_up"], "admin_state_up")
                    if "external_gateway_info" in attrs:
                        self._authorize_gateway("update", gateway, context, target)
                        self._set_gateway(unit, context, row, gateway, attempt)
                    if "routes" in attrs:
                        row.routes = self._checked_routes(unit, row, attrs["routes"])
                    touch(row)
                    return self._render(unit, row)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent updates of this router; retry.")

    def change_routes(
        self, context: RequestContext, router_id: str, body: Any, add: bool
    ) -> dict[str, Any]:
        """extraroute-atomic: add routes to (or remove them from) the current set, in one
        transaction under the router's lock, so concurrent callers never lose each other's."""
        changes = route_changes(body)
        action = "add_extraroutes" if add else "remove_extraroutes"
        with self._store.transaction() as unit:
            q.lock_router(unit, router_id)
            row = self._visible(unit, context, router_id)
            self._policy.authorize(action, context, self._target(row))
            current = list(row.routes or [])
            if add:
                routes = current + [r for r in changes if r not in current]
            else:
                routes = [r for r in current if r not in changes]
            row.routes = self._checked_routes(unit, row, routes)
            touch(row)
            return self._render(unit, row)

    def delete_router(self, context: RequestContext, router_id: str) -> None:
        with self._store.transaction() as unit:
            q.lock_router(unit, router_id)
            row = self._visible(unit, context, router_id)
            self._policy.authorize("delete_router", context, self._target(row))
            check_revision(unit, row)
            if q.router_ports(unit, row.id, ROUTER_INTERFACE) or q.router_floatingips(unit, row.id):
                raise NeutronConflict(f"Router {row.id} still has ports", "RouterInUse")
            self._unplug_gateway(unit, row)
            unit.delete(row)

    # ---------------------------------------------------------------- interfaces

    @staticmethod
    def _interface_request(body: Any) -> tuple[str | None, str | None]:
        if not isinstance(body, dict) or set(body) - {"subnet_id", "port_id"}:
            raise NeutronBadRequest(
                "Resource body required: the request body must be {'subnet_id': ...} or "
                "{'port_id': ...}."
            )
        subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
        for value in (subnet_id, port_id):
            if value is not None and not isinstance(value, str):
                raise bad_request("router", f"'{value}' is not a valid UUID.")
        if subnet_id is None and port_id is None:
            raise bad_request("router", "Either subnet_id or port_id must be specified")
        return subnet_id, port_id

    def add_interface(self, context: RequestContext, router_id: str, body: Any) -> dict[str, Any]:
        subnet_id, port_id = self._interface_request(body)
        if subnet_id is not None and port_id is not None:
            raise bad_request("router", "Cannot specify both subnet-id and port-id")
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    q.lock_router(unit, router_id)
                    row = self._visible(unit, context, router_id)
                    self._policy.authorize("add_router_interface", context, self._target(row))
                    attached = self._occupied(unit, row.id)
                    if subnet_id is not None:
                        port, subnets = self._interface_on_subnet(
                            unit, context, row, subnet_id, attached, attempt
                        )
                    else:
                        assert port_id is not None
                        port, subnets = self._interface_of_port(
                            unit, context, row, port_id, attached
                        )
                    touch(row)
                    unit.flush()
                    return interface_info(row.id, row.project_id, port, subnets, row.tags)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent changes of this router; retry.")

    def _interface_on_subnet(
        self,
        unit: Unit,
        context: RequestContext,
        row: RouterRow,
        subnet_id: str,
        attached: dict[str, str],
        attempt: int,
    ) -> tuple[PortRow, list[str]]:
        """A new port on the subnet holding its gateway address (the subnet's project's, as
        Neutron's)."""
        subnet, network = self._core._visible_subnet(unit, context, subnet_id)
        if network.external:
            raise bad_request("router", f"Subnet {subnet.id} is on external network {network.id}.")
        if not subnet.gateway_ip:
            raise bad_request("router", "Subnet for router interface must have a gateway IP")
        overlap_check(attached, {subnet.id: subnet.cidr}, row.id)
        locked = unit.network_locked(subnet.network_id, shared=True)
        if locked is None or locked.status != "ACTIVE":
            raise not_found("network", subnet.network_id)
        port = leg_port(locked.id, subnet.project_id, ROUTER_INTERFACE, row.id)
        request = [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]
        allocations = self._core._allocate(unit, locked, port, request, attempt)
        unit.add(port)
        unit.add(*allocations)
        return port, [subnet.id]

    def _interface_of_port(
        self,
        unit: Unit,
        context: RequestContext,
        row: RouterRow,
        port_id: str,
        attached: dict[str, str],
    ) -> tuple[PortRow, list[str]]:
        """An existing, unused port becomes the interface (its addresses stay as they are)."""
        port, network = self._core._visible_port(unit, context, port_id)
        if port.device_id:
            raise NeutronConflict(
                f"Unable to complete operation on port {port.id} for network "
                f"{port.network_id}. Port already has an attached device {port.device_id}.",
                "PortInUse",
            )
        if network.external:
            raise bad_request("router", f"Port {port.id} is on external network {network.id}.")
        allocations = unit.allocations([port.id]).get(port.id, [])
        if not allocations:
            raise bad_request("router", "Router port must have at least one fixed IP")
        subnets: dict[str, str] = {}
        for allocation in allocations:
            subnet = unit.subnet(allocation.subnet_id)
            if subnet is not None:
                subnets[subnet.id] = subnet.cidr
        if sum(1 for c in subnets.values() if ipaddress.ip_network(c).version == 4) > 1:
            raise bad_request("router", "Cannot have multiple IPv4 subnets on router port")
        overlap_check(attached, subnets, row.id)
        port.device_id = row.id
        port.device_owner = ROUTER_INTERFACE
        unit.set_port_security_groups(port.id, [])
        touch(port)
        return port, list(subnets)

    def remove_interface(
        self, context: RequestContext, router_id: str, body: Any
    ) -> dict[str, Any]:
        subnet_id, port_id = self._interface_request(body)
        with self._store.transaction() as unit:
            q.lock_router(unit, router_id)
            row = self._visible(unit, context, router_id)
            self._policy.authorize("remove_router_interface", context, self._target(row))
            ports, allocations, cidrs = self._interfaces(unit, row.id)
            if port_id is not None:
                port = next((p for p in ports if p.id == port_id), None)
                if port is None:
                    raise NeutronNotFound(
                        f"Router {row.id} does not have an interface with id {port_id}",
                        "RouterInterfaceNotFound",
                    )
                held = [a.subnet_id for a in allocations.get(port.id, [])]
                if subnet_id is not None and subnet_id not in held:
                    raise self._no_interface_on(row.id, subnet_id)
                leaving = [subnet_id] if subnet_id is not None else held
            else:
                assert subnet_id is not None
                self._core._visible_subnet(unit, context, subnet_id)
                port = next(
                    (
                        p
                        for p in ports
                        if any(a.subnet_id == subnet_id for a in allocations.get(p.id, []))
                    ),
                    None,
                )
                if port is None:
                    raise self._no_interface_on(row.id, subnet_id)
                held = [a.subnet_id for a in allocations.get(port.id, [])]
                leaving = [subnet_id]
            for gone in leaving:
                if gone in cidrs:
                    self._refuse_if_needed(unit, row, gone, cidrs[gone])
            if set(leaving) >= set(held):
                unit.delete(port)
            else:
                for allocation in allocations.get(port.id, []):
                    if allocation.subnet_id in leaving:
                        unit.delete(allocation)
            touch(row)
            unit.flush()
            return interface_info(row.id, row.project_id, port, leaving, row.tags)

    @staticmethod
    def _no_interface_on(router_id: str, subnet_id: str) -> NeutronNotFound:
        return NeutronNotFound(
            f"Router {router_id} has no interface on subnet {subnet_id}",
            "RouterInterfaceNotFoundForSubnet",
        )

    @staticmethod
    def _refuse_if_needed(unit: Unit, row: RouterRow, subnet_id: str, cidr: str) -> None:
        """An interface stays while a floating IP is mapped through it or a route's nexthop
        is behind it (Neutron's two 409s)."""
        network = ipaddress.ip_network(cidr)
        for floating in q.router_floatingips(unit, row.id):
            if (
                floating.fixed_ip_address
                and ipaddress.ip_address(floating.fixed_ip_address) in network
            ):
                raise NeutronConflict(
                    f"Router interface for subnet {subnet_id} on router {row.id} cannot be "
                    "deleted, as it is required by one or more floating IPs.",
                    "RouterInterfaceInUseByFloatingIP",
                )
        for route in row.routes or []:
            if ipaddress.ip_address(route["nexthop"]) in network:
                raise NeutronConflict(
                    f"Router interface for subnet {subnet_id} on router {row.id} cannot be "
                    "deleted, as it is required by one or more routes.",
                    "RouterInterfaceInUseByRoute",
                )
