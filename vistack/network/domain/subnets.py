"""Subnets: cidrs, gateways, allocation pools, DNS servers and host routes on a network."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.network.db import listing
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.sharing_tables import SubnetPoolSubnetRow, subnetpool_of
from vistack.network.db.tables import (
    NetworkRow,
    SubnetRow,
)
from vistack.network.domain import ipam, query, rbac, subnetpools
from vistack.network.domain.attributes import boolean, check_attributes, named_view, text
from vistack.network.domain.base import (
    DHCP_OWNER,
    SUBNET_CREATE,
    SUBNET_UPDATE,
)
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    invalid,
    not_found,
)
from vistack.network.domain.networks import NetworkOps
from vistack.network.domain.revisions import check_revision


def _subnet_listed(row: Any) -> dict[str, Any]:
    """`SubnetOps._subnet_view` of a row of `listing.SUBNET_COLUMNS`."""
    decode = listing.decode
    return {
        "id": row[0],
        "name": row[1],
        "description": row[2],
        "project_id": row[3],
        "tenant_id": row[3],
        "network_id": row[4],
        "ip_version": row[5],
        "cidr": row[6],
        "gateway_ip": row[7],
        "allocation_pools": decode(row[8]) or [],
        "dns_nameservers": decode(row[9]) or [],
        "host_routes": decode(row[10]) or [],
        "enable_dhcp": row[11],
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "subnetpool_id": row[16],
        "segment_id": None,
        "service_types": [],
        "tags": decode(row[12]) or [],
        "created_at": query.stamp(row[13]),
        "updated_at": query.stamp(row[14]),
        "revision_number": row[15],
    }


class SubnetOps(NetworkOps):
    """Subnet operations of `NetworkService`."""

    #: Edge mode: told a network's id after one of its subnets was created, updated or deleted,
    #: so that its DHCP port follows its DHCP-enabled subnets (wiring sets it to
    #: `vistack.network.dataplane.dhcp_ports.DhcpPorts.reconcile`; dvs mode has no DHCP).
    dhcp_port_sync: Callable[[str], None] | None = None

    def _subnets_changed(self, network_id: str) -> None:
        if self.dhcp_port_sync is not None:
            self.dhcp_port_sync(network_id)

    @staticmethod
    def _subnet_target(row: SubnetRow, network: NetworkRow) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id,
            "target.network.project_id": network.project_id,
            "target.shared": network.shared,
        }

    def _visible_subnet(
        self, unit: Unit, context: RequestContext, subnet_id: str
    ) -> tuple[SubnetRow, NetworkRow]:
        row = unit.subnet(subnet_id)
        network = unit.network(row.network_id) if row is not None else None
        if row is None or network is None:
            raise not_found("subnet", subnet_id)
        # `shared` as RBAC grants it to the caller (domain/rbac.py), as the list's keys.
        target = self._subnet_target(row, network)
        target["target.shared"] = rbac.SHARED in rbac.grants_of(unit, context, network)
        if not self._policy.check("get_subnet", context, target):
            raise not_found("subnet", subnet_id)
        return row, network

    @staticmethod
    def _subnet_view(row: SubnetRow) -> dict[str, Any]:
        return {
            **named_view(row),
            "network_id": row.network_id,
            "ip_version": row.ip_version,
            "cidr": row.cidr,
            "gateway_ip": row.gateway_ip,
            "allocation_pools": list(row.allocation_pools),
            "dns_nameservers": list(row.dns_nameservers),
            "host_routes": list(row.host_routes),
            "enable_dhcp": row.enable_dhcp,
            "ipv6_ra_mode": None,
            "ipv6_address_mode": None,
            "subnetpool_id": subnetpool_of(row),
            "segment_id": None,
            "service_types": [],
            "tags": list(row.tags or []),
            "created_at": query.stamp(row.created_at),
            "updated_at": query.stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    def list_subnets(
        self, context: RequestContext, asked: query.ListRequest | None = None
    ) -> list[dict[str, Any]]:
        """The subnets `context` may see (`get_subnet`, decided once per distinct (project,
        network's project, network shared)), listed in SQL as `asked` says."""
        with self._store.transaction() as unit:
            session = unit.session
            keys = (
                listing.subnet.c.project_id,
                listing.network.c.project_id,
                rbac.shared_key(context),  # shared with the caller (domain/rbac.py)
            )
            visible = listing.visibility(
                session,
                listing.SUBNETS,
                keys,
                lambda key: self._policy.check(
                    "get_subnet",
                    context,
                    {
                        "target.project_id": key[0],
                        "target.network.project_id": key[1],
                        "target.shared": bool(key[2]),
                    },
                ),
            )
            return query.run(
                session,
                listing.SUBNETS,
                listing.SUBNET_COLUMNS,
                asked,
                visible,
                lambda rows, _fields: [_subnet_listed(row) for row in rows],
            )

    def get_subnet(self, context: RequestContext, subnet_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return self._subnet_view(self._visible_subnet(unit, context, subnet_id)[0])

    @staticmethod
    def _layout(
        cidr: ipam.IPNetwork, attrs: dict[str, Any]
    ) -> tuple[str | None, list[dict[str, str]]]:
        """The gateway and allocation pools asked for (or the defaults) within `cidr`."""
        gateway = (
            ipam.check_gateway(cidr, attrs["gateway_ip"])
            if "gateway_ip" in attrs
            else ipam.default_gateway(cidr)
        )
        pools = (
            ipam.check_pools(cidr, attrs["allocation_pools"], gateway)
            if attrs.get("allocation_pools") is not None
            else ipam.default_pools(cidr, gateway)
        )
        return gateway, pools

    def create_subnet(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, SUBNET_CREATE | subnetpools.SUBNET_ATTRIBUTES, "subnet")
        # A subnet pool (`subnetpool_id`, `use_default_subnetpool`) may choose the cidr.
        ask = subnetpools.read_ask(attrs)
        for name in ("network_id", "ip_version") if ask else ("network_id", "ip_version", "cidr"):
            if attrs.get(name) is None:
                raise NeutronBadRequest(
                    f"Failed to parse request. Required attribute '{name}' not specified"
                )
        if attrs.get("ipv6_ra_mode") is not None or attrs.get("ipv6_address_mode") is not None:
            raise invalid(
                "ipv6_ra_mode and ipv6_address_mode are not supported by the dvs backend "
                "(it has no router advertisements); leave them unset."
            )
        if attrs.get("service_types"):
            raise invalid("service_types are not supported by the dvs backend.")
        version = attrs["ip_version"]
        if version not in (4, 6) or isinstance(version, bool):
            raise invalid(f"'{version}' is not a valid IP version (4 or 6).")
        cidr = ipam.parse_cidr(attrs["cidr"], version) if attrs.get("cidr") is not None else None
        gateway, pools = self._layout(cidr, attrs) if cidr is not None else (None, [])
        nameservers = ipam.check_nameservers(attrs.get("dns_nameservers") or [])
        routes = ipam.check_routes(attrs.get("host_routes") or [])
        enable_dhcp = boolean(attrs.get("enable_dhcp", True), "enable_dhcp")
        name = text(attrs.get("name"), "name")
        description = text(attrs.get("description"), "description")
        network_id = str(attrs["network_id"])
        project = self._owner(context, attrs)
        with self._store.transaction() as unit:
            network = self._visible_network(unit, context, network_id)
            pool_id = (
                subnetpools.resolve(unit, self._policy, context, ask, version) if ask else None
            )
        target = {
            "target.project_id": project,
            "target.network.project_id": network.project_id,
            "target.shared": network.shared,
        }
        self._policy.authorize("create_subnet", context, target)
        self._store.ensure_project(project)
        now = utcnow()
        row = SubnetRow(
            id=str(uuid.uuid4()),
            project_id=project,
            network_id=network_id,
            name=name,
            description=description,
            ip_version=version,
            cidr=str(cidr) if cidr is not None else "",
            gateway_ip=gateway,
            allocation_pools=pools,
            dns_nameservers=nameservers,
            host_routes=routes,
            enable_dhcp=enable_dhcp,
            tags=[],
            created_at=now,
            updated_at=now,
            revision_number=0,
        )
        # The network owner's lock too: it serialises every subnet create on the network,
        # whoever makes it, so two overlapping CIDRs cannot both pass the overlap check.
        self._store.ensure_project(network.project_id)
        try:
            with self._store.transaction() as unit:
                if pool_id is not None:
                    subnetpools.lock(unit, pool_id)  # first: allocations from it queue here
                for locked in sorted({project, network.project_id}):
                    unit.lock_project(locked)
                self._check_quota(unit, "subnet", project)
                if unit.network(network_id) is None:
                    raise not_found("network", network_id)
                subnetpools.check_affinity(unit.subnets(network_id), pool_id, version)
                if pool_id is not None and ask is not None:
                    cidr = subnetpools.allocate(
                        unit, pool_id, ask, cidr, project, unit.subnets(network_id)
                    )
                    row.cidr = str(cidr)
                    row.gateway_ip, row.allocation_pools = self._layout(cidr, attrs)
                assert cidr is not None
                for other in unit.subnets(network_id):
                    if ipaddress.ip_network(other.cidr).overlaps(cidr):
                        raise invalid(
                            f"Requested subnet with cidr: {cidr} for network: {network_id} "
                            "overlaps with another subnet"
                        )
                unit.add(row)
                if pool_id is not None:
                    unit.add(SubnetPoolSubnetRow(subnet_id=row.id, subnetpool_id=pool_id))
                view = self._subnet_view(row)
        except Collision:
            # The only key a new subnet can break is its network's: deleted meanwhile.
            raise not_found("network", network_id) from None
        self._subnets_changed(network_id)
        return view

    def update_subnet(self, context: RequestContext, subnet_id: str, body: Any) -> dict[str, Any]:
        raw = body.get("subnet") if isinstance(body, dict) else None
        if isinstance(raw, dict) and ({"cidr", "ip_version", "network_id"} & set(raw)):
            raise invalid("Cannot update read-only attribute cidr, ip_version or network_id.")
        attrs = check_attributes(body, SUBNET_UPDATE, "subnet")
        with self._store.transaction() as unit:
            row, network = self._visible_subnet(unit, context, subnet_id)
            self._policy.authorize("update_subnet", context, self._subnet_target(row, network))
            check_revision(unit, row)
            cidr = ipaddress.ip_network(row.cidr)
            gateway = row.gateway_ip
            if "gateway_ip" in attrs:
                gateway = ipam.check_gateway(cidr, attrs["gateway_ip"])
            pools = row.allocation_pools
            if attrs.get("allocation_pools") is not None:
                pools = attrs["allocation_pools"]
            if "gateway_ip" in attrs or "allocation_pools" in attrs:
                pools = ipam.check_pools(cidr, pools, gateway)
            row.gateway_ip = gateway
            row.allocation_pools = pools
            if "dns_nameservers" in attrs:
                row.dns_nameservers = ipam.check_nameservers(attrs["dns_nameservers"] or [])
            if "host_routes" in attrs:
                row.host_routes = ipam.check_routes(attrs["host_routes"] or [])
            if "enable_dhcp" in attrs:
                row.enable_dhcp = boolean(attrs["enable_dhcp"], "enable_dhcp")
            if "name" in attrs:
                row.name = text(attrs["name"], "name")
            if "description" in attrs:
                row.description = text(attrs["description"], "description")
            if attrs.get("service_types"):
                raise invalid("service_types are not supported by the dvs backend.")
            self._touch(row)
            unit.flush()
            view = self._subnet_view(row)
        self._subnets_changed(row.network_id)
        return view

    def delete_subnet(self, context: RequestContext, subnet_id: str) -> None:
        with self._store.transaction() as unit:
            row, network = self._visible_subnet(unit, context, subnet_id)
            self._policy.authorize("delete_subnet", context, self._subnet_target(row, network))
            check_revision(unit, row)
            holders = set(unit.subnet_allocation_ports(subnet_id))
            ports = {p.id: p for p in unit.ports(row.network_id)}
            if any(ports[p].device_owner != DHCP_OWNER for p in holders if p in ports):
                raise NeutronConflict(
                    f"Unable to complete operation on subnet {subnet_id}: One or more ports "
                    "have an IP allocation from this subnet.",
                    "SubnetInUse",
                )
            unit.delete(row)
        self._subnets_changed(row.network_id)
