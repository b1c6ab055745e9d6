"""Routers and floating IPs compiled for the edge agent.

A router's legs are ordinary ports (device_id = the router's id): `network:router_interface` ports
hold their subnet's gateway IP, the `network:router_gateway` port an address of the external
subnet, whose own gateway is the router's upstream next hop. Floating IPs become 1:1 NAT on the
router they are associated with.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence

from sqlalchemy import select

from vistack.edge.state import ExternalGateway, FloatingIp, Router, RouterInterface
from vistack.network.db.l3_tables import (
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    FloatingIpRow,
    RouterRow,
)
from vistack.network.db.records import AllocationRecord, PortRecord
from vistack.network.db.repository import Unit
from vistack.network.db.tables import SubnetRow

LOG = logging.getLogger(__name__)

__all__ = ["ROUTER_GATEWAY", "ROUTER_INTERFACE", "compile_routers", "read_l3"]


def read_l3(unit: Unit) -> tuple[Sequence[RouterRow], Sequence[FloatingIpRow]]:
    """(routers, floating IPs): two queries of the unit's transaction."""
    routers = unit.session.scalars(select(RouterRow).order_by(RouterRow.id)).all()
    floating = unit.session.scalars(select(FloatingIpRow).order_by(FloatingIpRow.id)).all()
    return routers, floating


def _v4(allocations: Sequence[AllocationRecord]) -> list[AllocationRecord]:
    return [a for a in allocations if ipaddress.ip_address(a.ip_address).version == 4]


def _routes(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    routes: list[tuple[str, str]] = []
    for route in raw or []:
        destination, nexthop = str(route["destination"]), str(route["nexthop"])
        if ipaddress.ip_network(destination, strict=False).version == 4:
            routes.append((destination, nexthop))
    return tuple(routes)


def compile_routers(
    routers: Sequence[RouterRow],
    floating_ips: Sequence[FloatingIpRow],
    ports: Sequence[PortRecord],
    allocations: Mapping[str, list[AllocationRecord]],
    subnets: Mapping[str, SubnetRow],
) -> tuple[Router, ...]:
    """One `Router` per admin-up router. A subnet is a leg of one router only on this node (the
    agent names its veth pair after the subnet): a second router's interface on the same subnet
    is left out and logged."""
    legs: dict[str, list[PortRecord]] = {}
    for port in ports:
        if port.device_owner in (ROUTER_INTERFACE, ROUTER_GATEWAY):
            legs.setdefault(port.device_id, []).append(port)
    fips: dict[str, list[FloatingIp]] = {}
    for fip in floating_ips:
        if not (fip.router_id and fip.port_id and fip.fixed_ip_address):
            continue
        if ipaddress.ip_address(fip.floating_ip_address).version == 4:
            fips.setdefault(fip.router_id, []).append(
                FloatingIp(fip.floating_ip_address, fip.fixed_ip_address)
            )
    seen_subnets: set[str] = set()
    out: list[Router] = []
    for router in sorted(routers, key=lambda r: r.id):
        if not router.admin_state_up:
            continue
        interfaces: list[RouterInterface] = []
        gateway: ExternalGateway | None = None
        for port in sorted(legs.get(router.id, []), key=lambda p: p.id):
            for allocation in _v4(allocations.get(port.id, [])):
                subnet = subnets.get(allocation.subnet_id)
                if subnet is None:
                    continue
                if port.device_owner == ROUTER_GATEWAY:
                    if gateway is None:
                        gateway = ExternalGateway(
                            network_id=port.network_id,
                            ip=allocation.ip_address,
                            cidr=subnet.cidr,
                            nexthop=subnet.gateway_ip,
                            enable_snat=router.enable_snat,
                            mac=port.mac_address,
                        )
                    continue
                if subnet.id in seen_subnets:
                    LOG.warning(
                        "router %s: subnet %s is already a leg of another router on this edge "
                        "node; its interface %s is not programmed",
                        router.id,
                        subnet.id,
                        port.id,
                    )
                    continue
                seen_subnets.add(subnet.id)
                interfaces.append(
                    RouterInterface(
                        subnet_id=subnet.id,
                        network_id=port.network_id,
                        ip=allocation.ip_address,
                        cidr=subnet.cidr,
                        mac=port.mac_address,
                    )
                )
        floating = tuple(sorted(fips.get(router.id, []), key=lambda f: f.floating_ip))
        out.append(
            Router(
                router_id=router.id,
                interfaces=tuple(interfaces),
                gateway=gateway,
                routes=_routes(router.routes),
                # Floating IPs live on the gateway leg: without one there is nowhere to put them.
                floating_ips=floating if gateway is not None else (),
            )
        )
    return tuple(out)
