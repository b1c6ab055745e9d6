"""Floating IPs (edge backend): an address of an external network, optionally mapped to a
fixed IPv4 address of a port behind a router whose gateway is on that network.

The floating address is the allocation of a port on the external network, made through the
core's IPAM, so the (subnet, address) key settles every race: two floating IPs never share an
address, and one of an administrator's choice that is taken is a 409. An association is
checked and written under the lock of the router it goes through (the one `remove_interface`
and gateway changes take), so a leg cannot disappear under a floating IP that relies on it,
and the (port_id, fixed_ip_address) key means one fixed address never gets two.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.network.db import l3_queries as q
from vistack.network.db.l3_tables import FLOATINGIP_OWNER, FloatingIpRow
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.tables import IpAllocationRow, NetworkRow, PortRow
from vistack.network.domain import ipam
from vistack.network.domain.attributes import check_attributes, text
from vistack.network.domain.base import MAX_ATTEMPTS
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    NeutronUnavailable,
    not_found,
)
from vistack.network.domain.l3_checks import (
    L3_OWNERS,
    bad_request,
    floatingip_not_found,
    leg_port,
    not_external,
    touch,
)
from vistack.network.domain.query import stamp
from vistack.network.domain.revisions import check_revision

if TYPE_CHECKING:
    from vistack.network.domain.ports import PortOps

FLOATINGIP_CREATE = {
    "floating_network_id",
    "floating_ip_address",
    "subnet_id",
    "port_id",
    "fixed_ip_address",
    "description",
    "project_id",
    "tenant_id",
}
FLOATINGIP_UPDATE = {"port_id", "fixed_ip_address", "description"}


@dataclass(frozen=True)
class Association:
    """Where a floating IP maps to: a port's fixed IPv4 address, through a router."""

    port: PortRow
    fixed_ip_address: str
    router_id: str


class FloatingIpService:
    """Neutron's floating IP operations, on the core service's store, policy and IPAM."""

    def __init__(self, core: PortOps) -> None:
        self._core = core
        self._store = core._store
        self._policy = core._policy

    # ---------------------------------------------------------------- reading

    @staticmethod
    def _target(row: FloatingIpRow) -> dict[str, Any]:
        return {"target.project_id": row.project_id}

    def _visible(self, unit: Unit, context: RequestContext, floatingip_id: str) -> FloatingIpRow:
        row = q.floatingip(unit, floatingip_id)
        if row is None or not self._policy.check("get_floatingip", context, self._target(row)):
            raise floatingip_not_found(floatingip_id)
        return row

    def taggable(
        self, unit: Unit, context: RequestContext, floatingip_id: str
    ) -> tuple[FloatingIpRow, dict[str, Any]]:
        row = self._visible(unit, context, floatingip_id)
        return row, self._target(row)

    @staticmethod
    def _view(row: FloatingIpRow, port: PortRow | None) -> dict[str, Any]:
        details = None
        if port is not None:
            details = {
                "name": port.name,
                "network_id": port.network_id,
                "mac_address": port.mac_address,
                "admin_state_up": port.admin_state_up,
                "status": port.status,
                "device_id": port.device_id,
                "device_owner": port.device_owner,
            }
        return {
            "id": row.id,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
            "floating_network_id": row.floating_network_id,
            "floating_ip_address": row.floating_ip_address,
            "port_id": row.port_id,
            "fixed_ip_address": row.fixed_ip_address,
            "router_id": row.router_id,
            "status": row.status,
            "description": row.description,
            "port_details": details,
            "tags": list(row.tags or []),
            "created_at": stamp(row.created_at),
            "updated_at": stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    def _render(self, unit: Unit, row: FloatingIpRow) -> dict[str, Any]:
        unit.flush()
        port = unit.port(row.port_id) if row.port_id else None
        return self._view(row, port)

    def list_floatingips(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            rows = [
                row
                for row in q.floatingips(unit)
                if self._policy.check("get_floatingip", context, self._target(row))
            ]
            ports = {p: unit.port(p) for p in {r.port_id for r in rows if r.port_id}}
            return [self._view(r, ports.get(r.port_id) if r.port_id else None) for r in rows]

    def get_floatingip(self, context: RequestContext, floatingip_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return self._render(unit, self._visible(unit, context, floatingip_id))

    # ---------------------------------------------------------------- association

    def _is_admin(self, context: RequestContext) -> bool:
        return self._policy.check("admin_required", context, {})

    def _association(
        self,
        unit: Unit,
        context: RequestContext,
        project: str,
        network_id: str,
        port_id: str,
        fixed_ip: str | None,
        floatingip_id: str | None,
    ) -> Association:
        """Neutron's checks, in its order and words: a visible port of the same project, one
        fixed IPv4 address (named when it has several), a router linking its subnet to the
        floating network, and no other floating IP on that address."""
        port, _ = self._core._visible_port(unit, context, port_id)
        if port.project_id != project and not self._is_admin(context):
            raise bad_request(
                "floatingip",
                f"Cannot create floating IP and bind it to Port {port.id}, since that port "
                "is owned by a different tenant.",
            )
        if port.device_owner in L3_OWNERS:
            raise bad_request(
                "floatingip",
                f"Port {port.id} has owner {port.device_owner} and therefore cannot be "
                "associated with a floating IP.",
            )
        allocations = unit.allocations([port.id]).get(port.id, [])
        chosen = self._fixed_allocation(port, allocations, fixed_ip)
        router_id = self._router_for(unit, chosen.subnet_id, network_id)
        if router_id is None:
            raise NeutronNotFound(
                f"External network {network_id} is not reachable from subnet "
                f"{chosen.subnet_id}.  Therefore, cannot associate Port {port.id} with a "
                "Floating IP.",
                "ExternalGatewayForFloatingIPNotFound",
            )
        taken = q.floatingip_of_fixed(unit, port.id, chosen.ip_address)
        if taken is not None and taken.id != floatingip_id:
            raise NeutronConflict(
                f"Cannot associate floating IP {taken.floating_ip_address} ({taken.id}) with "
                f"port {port.id} using fixed IP {chosen.ip_address}, as that fixed IP already "
                f"has a floating IP on external network {taken.floating_network_id}.",
                "FloatingIPPortAlreadyAssociated",
            )
        return Association(port, chosen.ip_address, router_id)

    @staticmethod
    def _fixed_allocation(
        port: PortRow, allocations: Sequence[IpAllocationRow], fixed_ip: str | None
    ) -> IpAllocationRow:
        if fixed_ip is not None:
            address = ipam.parse_ip(fixed_ip, "IP address")
            if address.version != 4:
                raise bad_request(
                    "floatingip",
                    f"Cannot create floating IP and bind it to {fixed_ip}, since that is not "
                    "an IPv4 address.",
                )
            match = next((a for a in allocations if a.ip_address == str(address)), None)
            if match is None:
                raise bad_request("floatingip", f"Port {port.id} does not have fixed ip {fixed_ip}")
            return match
        ipv4 = [a for a in allocations if ipaddress.ip_address(a.ip_address).version == 4]
        if not ipv4:
            raise bad_request(
                "floatingip",
                f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses",
            )
        if len(ipv4) > 1:
            raise bad_request(
                "floatingip",
                f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a specific "
                "IPv4 address when assigning a floating IP",
            )
        return ipv4[0]

    @staticmethod
    def _router_for(unit: Unit, subnet_id: str, network_id: str) -> str | None:
        """A router with an interface on the subnet and its gateway on the floating network
        (the oldest, if several: the choice is stable)."""
        routers = q.routers_on_subnet(unit, subnet_id, network_id)
        return routers[0].id if routers else None

    def _router_hint(
        self,
        context: RequestContext,
        project: str,
        network_id: str,
        port_id: str | None,
        fixed_ip: str | None,
        floatingip_id: str | None,
    ) -> str | None:
        """The router an association would go through, found (and every refusal raised)
        before the writing transaction, which takes that router's lock first."""
        if port_id is None:
            return None
        with self._store.transaction() as unit:
            association = self._association(
                unit, context, project, network_id, port_id, fixed_ip, floatingip_id
            )
            return association.router_id

    def _associate(
        self,
        unit: Unit,
        context: RequestContext,
        row: FloatingIpRow,
        port_id: str | None,
        fixed_ip: str | None,
        hint: str | None,
    ) -> None:
        if port_id is None:
            row.port_id = row.fixed_ip_address = row.router_id = None
            row.status = "DOWN"
            return
        association = self._association(
            unit, context, row.project_id, row.floating_network_id, port_id, fixed_ip, row.id
        )
        if association.router_id != hint:
            raise Collision("the router between the port and the network changed; retry")
        row.port_id = association.port.id
        row.fixed_ip_address = association.fixed_ip_address
        row.router_id = association.router_id
        row.status = "ACTIVE"

    # ---------------------------------------------------------------- writing

    def _floating_network(self, context: RequestContext, network_id: str) -> NetworkRow:
        with self._store.transaction() as unit:
            network = self._core._visible_network(unit, context, network_id)
        if not network.external:
            raise not_external("floatingip", network_id)
        return network

    def create_floatingip(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, FLOATINGIP_CREATE, "floatingip")
        network_id = attrs.get("floating_network_id")
        if not isinstance(network_id, str) or not network_id:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'floating_network_id' not specified"
            )
        project = self._core._owner(context, attrs)
        target = {"target.project_id": project}
        self._policy.authorize("create_floatingip", context, target)
        address = attrs.get("floating_ip_address")
        if address is not None:
            self._policy.authorize("create_floatingip:floating_ip_address", context, target)
            if ipam.parse_ip(address, "IP address").version != 4:
                raise bad_request("floatingip", f"{address} is not an IPv4 address.")
        subnet_id = attrs.get("subnet_id")
        port_id, fixed_ip = attrs.get("port_id"), attrs.get("fixed_ip_address")
        if fixed_ip is not None and port_id is None:
            raise bad_request(
                "floatingip", "fixed_ip_address cannot be specified without a port_id"
            )
        description = text(attrs.get("description"), "description")
        self._floating_network(context, network_id)
        self._store.ensure_project(project)
        limited = self._core._quota_limited("floatingip", project)
        floatingip_id = str(uuid.uuid4())
        for attempt in range(MAX_ATTEMPTS):
            hint = self._router_hint(context, project, network_id, port_id, fixed_ip, None)
            try:
                with self._store.transaction() as unit:
                    if limited:
                        unit.lock_project(project)
                    if hint is not None:
                        q.lock_router(unit, hint)
                    if limited:
                        self._core._check_quota(unit, "floatingip", project)
                    network = unit.network_locked(network_id, shared=True)
                    if network is None or network.status != "ACTIVE":
                        raise not_found("network", network_id)
                    port = leg_port(network_id, "", FLOATINGIP_OWNER, floatingip_id)
                    allocation = self._floating_address(
                        unit, network, port, subnet_id, address, attempt
                    )
                    unit.add(port)
                    unit.add(allocation)
                    now = utcnow()
                    row = FloatingIpRow(
                        id=floatingip_id,
                        project_id=project,
                        floating_network_id=network_id,
                        floating_port_id=port.id,
                        floating_ip_address=allocation.ip_address,
                        port_id=None,
                        fixed_ip_address=None,
                        router_id=None,
                        status="DOWN",
                        description=description,
                        tags=[],
                        created_at=now,
                        updated_at=now,
                        revision_number=0,
                    )
                    self._associate(unit, context, row, port_id, fixed_ip, hint)
                    unit.add(row)
                    return self._render(unit, row)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent floating IP creates; retry.")

    def _floating_address(
        self,
        unit: Unit,
        network: NetworkRow,
        port: PortRow,
        subnet_id: Any,
        address: Any,
        attempt: int,
    ) -> IpAllocationRow:
        """The floating address: the one asked for, else the first free one of the asked
        subnet, else of the network's IPv4 subnets in order."""
        subnets = list(unit.subnets(network.id))
        if subnet_id is not None:
            subnet = next((s for s in subnets if s.id == subnet_id), None)
            if subnet is None or subnet.ip_version != 4:
                raise bad_request(
                    "floatingip",
                    f"Subnet {subnet_id} is not an IPv4 subnet of network {network.id}.",
                )
            subnets = [subnet]
        if address is not None:
            request = {"ip_address": str(address)}
            if subnet_id is not None:
                request["subnet_id"] = str(subnet_id)
            return self._core._allocate(unit, network, port, [request], attempt)[0]
        ipv4 = [s for s in subnets if s.ip_version == 4]
        if not ipv4:
            raise bad_request(
                "floatingip", f"Network {network.id} does not contain any IPv4 subnet"
            )
        for subnet in ipv4:
            try:
                only = [{"subnet_id": subnet.id}]
                return self._core._allocate(unit, network, port, only, attempt)[0]
            except NeutronConflict as exc:
                if exc.kind != "IpAddressGenerationFailure":
                    raise
        raise self._core._exhausted(network.id)

    def update_floatingip(
        self, context: RequestContext, floatingip_id: str, body: Any
    ) -> dict[str, Any]:
        attrs = check_attributes(body, FLOATINGIP_UPDATE, "floatingip")
        with self._store.transaction() as unit:
            current = self._visible(unit, context, floatingip_id)
            project, network_id, current_port = (
                current.project_id,
                current.floating_network_id,
                current.port_id,
            )
        changes_port = "port_id" in attrs or "fixed_ip_address" in attrs
        port_id = attrs.get("port_id", current_port)
        fixed_ip = attrs.get("fixed_ip_address")
        if fixed_ip is not None and port_id is None:
            raise bad_request(
                "floatingip", "fixed_ip_address cannot be specified without a port_id"
            )
        for _ in range(MAX_ATTEMPTS):
            hint = (
                self._router_hint(context, project, network_id, port_id, fixed_ip, floatingip_id)
                if changes_port
                else None
            )
            try:
                with self._store.transaction() as unit:
                    if hint is not None:
                        q.lock_router(unit, hint)
                    row = self._visible(unit, context, floatingip_id)
                    self._policy.authorize("update_floatingip", context, self._target(row))
                    check_revision(unit, row)
                    if "description" in attrs:
                        row.description = text(attrs["description"], "description")
                    if changes_port:
                        self._associate(unit, context, row, port_id, fixed_ip, hint)
                    touch(row)
                    return self._render(unit, row)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent updates of this floating IP; retry.")

    def delete_floatingip(self, context: RequestContext, floatingip_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, floatingip_id)
            self._policy.authorize("delete_floatingip", context, self._target(row))
            check_revision(unit, row)
            port = unit.port(row.floating_port_id)
            unit.delete(row)
            if port is not None:
                unit.delete(port)
