"""The Neutron L2 core in `dvs` mode: networks as port groups, subnets, ports, IPAM, quotas.

Rules live here, not in the API: policy (checked against the resource's project and, for
subnets and ports, its network's), validation, VLAN choice and address allocation. vSphere is
touched before the database on create (a port group must exist before a network row says so)
and before the row goes on delete; a failure in between is undone so neither side keeps an
orphan.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.drivers.errors import DriverError, InvalidStateError, NotFoundError
from vistack.drivers.models import PortgroupInfo
from vistack.drivers.networks import NetworkDriver
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.db.tables import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    SecurityGroupRow,
    SegmentRow,
    SubnetRow,
)
from vistack.network.domain import ipam
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronUnavailable,
    invalid,
    not_found,
    over_quota,
)
from vistack.network.domain.models import RESOURCES, NetworkOptions
from vistack.network.domain.security import SecurityGroupService

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: Attempts of one create when concurrent requests keep taking the same VLAN, address or MAC.
MAX_ATTEMPTS = 30
DHCP_OWNER = "network:dhcp"
VNIC_TYPES = {
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "remote-managed",
}
NETWORK_CREATE = {
    "name",
    "description",
    "admin_state_up",
    "shared",
    "router:external",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
    "mtu",
    "port_security_enabled",
    "project_id",
    "tenant_id",
    "availability_zone_hints",
}
NETWORK_UPDATE = {
    "name",
    "description",
    "admin_state_up",
    "shared",
    "router:external",
    "mtu",
    "port_security_enabled",
}
SUBNET_CREATE = {
    "name",
    "description",
    "network_id",
    "ip_version",
    "cidr",
    "gateway_ip",
    "allocation_pools",
    "dns_nameservers",
    "host_routes",
    "enable_dhcp",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "project_id",
    "tenant_id",
    "subnetpool_id",
    "service_types",
}
SUBNET_UPDATE = {
    "name",
    "description",
    "gateway_ip",
    "allocation_pools",
    "dns_nameservers",
    "host_routes",
    "enable_dhcp",
    "service_types",
}
PORT_CREATE = {
    "name",
    "description",
    "network_id",
    "admin_state_up",
    "mac_address",
    "fixed_ips",
    "device_id",
    "device_owner",
    "allowed_address_pairs",
    "port_security_enabled",
    "binding:host_id",
    "binding:vnic_type",
    "binding:profile",
    "project_id",
    "tenant_id",
    "security_groups",
}
#: Values that, given on create, are the default and so need no attribute rule.
CREATE_DEFAULTS: dict[str, Any] = {
    "shared": False,
    "router:external": False,
    "port_security_enabled": True,
    "allowed_address_pairs": [],
    "binding:host_id": "",
    "binding:profile": {},
    "mac_address": None,
    "provider:network_type": None,
    "provider:physical_network": None,
    "provider:segmentation_id": None,
}
PORT_UPDATE = PORT_CREATE - {"network_id", "project_id", "tenant_id"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise invalid(f"'{value}' is not a valid boolean value for {name}.")


def _text(value: Any, name: str, limit: int = 255) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid string for {name}.")
    if len(value) > limit:
        raise invalid(f"'{value[:32]}...' exceeds maximum length of {limit} for {name}.")
    return value


def _check_attributes(body: Any, allowed: set[str], resource: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict) or len(body) != 1:
        raise NeutronBadRequest(
            f"Resource body required: the request body must be {{'{resource}': {{...}}}}."
        )
    attrs: dict[str, Any] = body[resource]
    unknown = sorted(set(attrs) - allowed)
    if unknown:
        raise NeutronBadRequest(
            "Unrecognized attribute(s) '" + ", ".join(unknown) + "'", "HTTPBadRequest"
        )
    return attrs


def _tag(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise invalid(f"'{value}' is not a valid tag.")
    return value


class NetworkService:
    """Every Neutron operation of the L2 core, called by the API with the caller's context."""

    def __init__(
        self,
        store: NetworkStore,
        policy: PolicyEngine,
        options: NetworkOptions,
        driver: NetworkDriver | None,
        dvs: str | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._options = options
        self._driver = driver
        self._dvs = dvs
        #: Subnet id -> where its next address search starts (just after the last pick in this
        #: process): only a hint, the database decides what is free.
        self._next_address: dict[str, int] = {}
        self._rules = set(policy.rule_names)
        self.security = SecurityGroupService(store, policy, options)

    # ---------------------------------------------------------------- policy helpers

    def _owner(self, context: RequestContext, attrs: dict[str, Any]) -> str:
        project = attrs.get("project_id") or attrs.get("tenant_id") or context.project_id
        if (
            attrs.get("project_id")
            and attrs.get("tenant_id")
            and attrs["project_id"] != attrs["tenant_id"]
        ):
            raise invalid("project_id and tenant_id do not match.")
        if not project or not isinstance(project, str):
            raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
        return project

    def _authorize_attributes(
        self,
        action: str,
        resource: str,
        attrs: dict[str, Any],
        context: RequestContext,
        target: dict[str, Any],
    ) -> None:
        """Check the rule of each attribute the request sets; on create, as Neutron does, an
        attribute given with its default value is not "set" (clients send `shared: false`)."""
        for name, value in attrs.items():
            rule = f"{action}_{resource}:{name}"
            if action == "create" and value == CREATE_DEFAULTS.get(name, object()):
                continue
            if rule in self._rules:
                self._policy.authorize(rule, context, target)

    def _hidden(
        self, resource: str, names: Sequence[str], context: RequestContext, target: dict[str, Any]
    ) -> set[str]:
        return {
            name
            for name in names
            if not self._policy.check(f"get_{resource}:{name}", context, target)
        }

    # ---------------------------------------------------------------- networks

    @staticmethod
    def _network_target(row: NetworkRow) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id,
            "target.shared": row.shared,
            "target.external": row.external,
        }

    def _visible_network(self, unit: Unit, context: RequestContext, network_id: str) -> NetworkRow:
        row = unit.network(network_id)
        if row is None or not self._policy.check("get_network", context, self._network_target(row)):
            raise not_found("network", network_id)
        return row

    def _network_view(
        self, row: NetworkRow, subnet_ids: list[str], context: RequestContext
    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "shared": row.shared,
            "router:external": row.external,
            "subnets": subnet_ids,
            "mtu": row.mtu,
            "port_security_enabled": row.port_security_enabled,
            "provider:network_type": row.network_type,
            "provider:physical_network": row.physical_network,
            "provider:segmentation_id": row.segmentation_id,
            "availability_zone_hints": [],
            "availability_zones": ["nova"],
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "l2_adjacency": True,
            "tags": list(row.tags or []),
            "created_at": _stamp(row.created_at),
            "updated_at": _stamp(row.updated_at),
            "revision_number": row.revision_number,
        }
        for name in self._hidden("network", PROVIDER_NAMES, context, self._network_target(row)):
            del view[name]
        return view

    def list_networks(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            subnets = unit.subnet_ids_by_network()
            return [
                self._network_view(row, subnets.get(row.id, []), context)
                for row in unit.networks()
                if self._policy.check("get_network", context, self._network_target(row))
            ]

    def get_network(self, context: RequestContext, network_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            row = self._visible_network(unit, context, network_id)
            subnets = [s.id for s in unit.subnets(network_id)]
            return self._network_view(row, subnets, context)

    def _segment(self, attrs: dict[str, Any]) -> tuple[str, str, int | None] | None:
        """(type, physical network, VLAN) the request names, or None for a tenant network."""
        kind = attrs.get("provider:network_type")
        physnet = attrs.get("provider:physical_network")
        segment = attrs.get("provider:segmentation_id")
        if kind is None and physnet is None and segment is None:
            return None
        if kind not in {"vlan", "flat"}:
            raise invalid(
                f"provider:network_type {kind!r} is not supported by the dvs backend "
                "(it carries 'vlan' and 'flat')."
            )
        physnet = physnet or self._options.physical_network
        if physnet not in self._options.physical_networks:
            raise invalid(
                f"physical_network '{physnet}' unknown for {kind} provider network "
                f"(known: {', '.join(sorted(self._options.physical_networks))})."
            )
        if kind == "flat":
            if segment is not None:
                raise invalid("segmentation_id requires a VLAN provider network.")
            return kind, physnet, None
        if segment is None:
            return kind, physnet, None
        if isinstance(segment, bool) or not isinstance(segment, int | str):
            raise invalid(f"'{segment}' is not a valid segmentation_id.")
        try:
            vlan = int(segment)
        except ValueError:
            raise invalid(f"'{segment}' is not a valid segmentation_id.") from None
        if not 1 <= vlan <= 4094:
            raise invalid(f"segmentation_id {vlan} out of range (1 through 4094).")
        return kind, physnet, vlan

    def _free_vlan(self, unit: Unit, physnet: str | None, attempt: int) -> tuple[str, int]:
        """A free tenant VLAN: the lowest, or on a retry one at random among the next free."""
        for vlan_range in self._options.vlan_ranges:
            if physnet is not None and vlan_range.physical_network != physnet:
                continue
            used = unit.used_vlans(vlan_range.physical_network)
            free: list[int] = []
            for vlan in range(vlan_range.minimum, vlan_range.maximum + 1):
                if vlan not in used:
                    free.append(vlan)
                    if len(free) >= (1 if attempt == 0 else 16):
                        break
            if free:
                return vlan_range.physical_network, random.choice(free)
        raise NeutronUnavailable(
            "Unable to create the network. No tenant network is available for allocation.",
            "NoNetworkAvailable",
        )

    def _quota_limited(self, resource: str, project: str) -> bool:
        """Whether the project has a quota on `resource` (read in its own transaction)."""
        with self._store.transaction() as unit:
            limit = unit.quota_overrides(project).get(resource, self._options.quotas[resource])
        return limit >= 0

    def _check_quota(self, unit: Unit, resource: str, project: str) -> None:
        limit = unit.quota_overrides(project).get(resource, self._options.quotas[resource])
        if limit >= 0 and unit.count(resource, project) >= limit:
            raise over_quota(resource)

    def create_network(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = _check_attributes(body, NETWORK_CREATE, "network")
        project = self._owner(context, attrs)
        target = {"target.project_id": project, "target.shared": False, "target.external": False}
        self._policy.authorize("create_network", context, target)
        self._authorize_attributes("create", "network", attrs, context, target)
        name = _text(attrs.get("name"), "name")
        description = _text(attrs.get("description"), "description")
        admin_state_up = _bool(attrs.get("admin_state_up", True), "admin_state_up")
        shared = _bool(attrs.get("shared", False), "shared")
        external = _bool(attrs.get("router:external", False), "router:external")
        security = _bool(attrs.get("port_security_enabled", True), "port_security_enabled")
        mtu = self._mtu(attrs.get("mtu"))
        segment = self._segment(attrs)
        if self._driver is None or self._dvs is None:
            raise NeutronUnavailable(
                "No vCenter distributed switch is configured: networks cannot be created."
            )
        network_id = str(uuid.uuid4())
        self._store.ensure_project(project)
        with self._store.transaction() as unit:
            self._check_quota(unit, "network", project)
        for attempt in range(MAX_ATTEMPTS):
            with self._store.transaction() as unit:
                if segment is None:
                    kind = "vlan"
                    physnet, vlan = self._free_vlan(unit, None, attempt)
                elif segment[2] is None and segment[0] == "vlan":
                    kind = "vlan"
                    physnet, vlan = self._free_vlan(unit, segment[1], attempt)
                else:
                    kind, physnet = segment[0], segment[1]
                    vlan = segment[2] or 0
                    if vlan in unit.used_vlans(physnet):
                        raise self._segment_in_use(kind, physnet, vlan)
            portgroup = self._create_portgroup(network_id, vlan)
            now = _now()
            row = NetworkRow(
                id=network_id,
                project_id=project,
                name=name,
                description=description,
                admin_state_up=admin_state_up,
                shared=shared,
                external=external,
                mtu=mtu,
                port_security_enabled=security,
                status="ACTIVE",
                network_type=kind,
                physical_network=physnet,
                segmentation_id=vlan if kind == "vlan" else None,
                portgroup_key=portgroup.key,
                tags=[],
                created_at=now,
                updated_at=now,
                revision_number=0,
            )
            try:
                with self._store.transaction() as unit:
                    unit.lock_project(project)
                    self._check_quota(unit, "network", project)
                    unit.add(row)
                    unit.add(
                        SegmentRow(physical_network=physnet, vlan_id=vlan, network_id=network_id)
                    )
                    view = self._network_view(row, [], context)
                return view
            except Collision:
                self._discard_portgroup(portgroup.key)
                if (segment is not None and segment[2] is not None) or kind == "flat":
                    raise self._segment_in_use(kind, physnet, vlan) from None
                continue
            except BaseException:
                self._discard_portgroup(portgroup.key)
                raise
        raise NeutronUnavailable("Too many concurrent network creates; retry.")

    @staticmethod
    def _segment_in_use(kind: str, physnet: str, vlan: int) -> NeutronConflict:
        if kind == "flat":
            return NeutronConflict(
                f"Unable to create the flat network. Physical network {physnet} is in use.",
                "FlatNetworkInUse",
            )
        return NeutronConflict(
            f"Unable to create the network. The VLAN {vlan} on physical network {physnet} "
            "is in use.",
            "VlanIdInUse",
        )

    def _mtu(self, value: Any) -> int:
        if value is None:
            return self._options.mtu
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 68 <= value <= self._options.mtu
        ):
            raise invalid(f"Requested MTU {value} must be within 68..{self._options.mtu}.")
        return value

    def _create_portgroup(self, network_id: str, vlan: int) -> PortgroupInfo:
        name = f"vistack-{network_id}"
        return self._call(
            lambda: self._require_driver().create_portgroup(self._require_dvs(), name, vlan)
        )

    def _require_driver(self) -> NetworkDriver:
        assert self._driver is not None
        return self._driver

    def _require_dvs(self) -> str:
        assert self._dvs is not None
        return self._dvs

    @staticmethod
    def _call(operation: Callable[[], T]) -> T:
        try:
            return operation()
        except InvalidStateError as exc:
            raise NeutronConflict(f"vCenter refused: {exc.message}") from exc
        except DriverError as exc:
            raise NeutronUnavailable(f"vCenter failed: {exc.message}") from exc

    def _discard_portgroup(self, key: str) -> None:
        try:
            self._require_driver().delete_portgroup(key)
        except NotFoundError:
            pass
        except DriverError:
            LOG.exception("could not remove port group %s after a failed network create", key)

    def update_network(self, context: RequestContext, network_id: str, body: Any) -> dict[str, Any]:
        raw = body.get("network") if isinstance(body, dict) else None
        if isinstance(raw, dict) and any(k.startswith("provider:") for k in raw):
            raise invalid("Plugin does not support updating provider attributes.")
        attrs = _check_attributes(body, NETWORK_UPDATE, "network")
        with self._store.transaction() as unit:
            row = self._visible_network(unit, context, network_id)
            target = self._network_target(row)
            self._policy.authorize("update_network", context, target)
            self._authorize_attributes("update", "network", attrs, context, target)
            if "name" in attrs:
                row.name = _text(attrs["name"], "name")
            if "description" in attrs:
                row.description = _text(attrs["description"], "description")
            if "admin_state_up" in attrs:
                row.admin_state_up = _bool(attrs["admin_state_up"], "admin_state_up")
            if "router:external" in attrs:
                row.external = _bool(attrs["router:external"], "router:external")
            if "port_security_enabled" in attrs:
                row.port_security_enabled = _bool(
                    attrs["port_security_enabled"], "port_security_enabled"
                )
            if "mtu" in attrs:
                row.mtu = self._mtu(attrs["mtu"])
            if "shared" in attrs:
                shared = _bool(attrs["shared"], "shared")
                if (
                    row.shared
                    and not shared
                    and any(p.project_id != row.project_id for p in unit.ports(row.id))
                ):
                    raise NeutronConflict(
                        f"Unable to reconfigure sharing settings for network {row.id}. "
                        "Multiple tenants are using it.",
                        "InvalidSharedSetting",
                    )
                row.shared = shared
            self._touch(row)
            unit.flush()
            return self._network_view(row, [s.id for s in unit.subnets(row.id)], context)

    @staticmethod
    def _touch(row: NetworkRow | SubnetRow | PortRow | SecurityGroupRow) -> None:
        row.updated_at = _now()
        row.revision_number = (row.revision_number or 0) + 1

    def delete_network(self, context: RequestContext, network_id: str) -> None:
        """Refuse while ports use it, remove the port group, then the row.

        While the port group is being removed the network is `DOWN` (under an exclusive row
        lock, which port creates share), so no port can slip in between the check and the
        row's removal; if vCenter refuses, it is `ACTIVE` again.
        """
        with self._store.transaction() as unit:
            # The write comes first: it waits for racing port creates to commit, and on
            # MariaDB (repeatable read) the port check's snapshot is then taken after them.
            # Any refusal below rolls the status back.
            unit.set_network_status(network_id, "DOWN")
            row = unit.network(network_id)
            if row is None or not self._policy.check(
                "get_network", context, self._network_target(row)
            ):
                raise not_found("network", network_id)
            self._policy.authorize("delete_network", context, self._network_target(row))
            self._refuse_if_in_use(unit, row)
            key = row.portgroup_key
        if key is not None and self._driver is not None:
            try:
                self._driver.delete_portgroup(key)
            except NotFoundError:
                LOG.warning("port group %s of network %s was already gone", key, network_id)
            except DriverError as exc:
                self._set_status(network_id, "ACTIVE")
                if isinstance(exc, InvalidStateError):
                    raise self._in_use(network_id) from exc
                raise NeutronUnavailable(f"vCenter failed: {exc.message}") from exc
        with self._store.transaction() as unit:
            row_again = unit.network(network_id)
            if row_again is not None:
                unit.delete(row_again)

    def _set_status(self, network_id: str, status: str) -> None:
        with self._store.transaction() as unit:
            row = unit.network(network_id)
            if row is not None:
                row.status = status

    def _refuse_if_in_use(self, unit: Unit, row: NetworkRow) -> None:
        if any(p.device_owner != DHCP_OWNER for p in unit.ports(row.id)):
            raise self._in_use(row.id)

    @staticmethod
    def _in_use(network_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"Unable to complete operation on network {network_id}. There are one or more "
            "ports still in use on the network.",
            "NetworkInUse",
        )

    # ---------------------------------------------------------------- subnets

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
        if (
            row is None
            or network is None
            or not self._policy.check("get_subnet", context, self._subnet_target(row, network))
        ):
            raise not_found("subnet", subnet_id)
        return row, network

    @staticmethod
    def _subnet_view(row: SubnetRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
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
            "subnetpool_id": None,
            "segment_id": None,
            "service_types": [],
            "tags": list(row.tags or []),
            "created_at": _stamp(row.created_at),
            "updated_at": _stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    def list_subnets(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            networks = {n.id: n for n in unit.networks()}
            return [
                self._subnet_view(row)
                for row in unit.subnets()
                if row.network_id in networks
                and self._policy.check(
                    "get_subnet", context, self._subnet_target(row, networks[row.network_id])
                )
            ]

    def get_subnet(self, context: RequestContext, subnet_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return self._subnet_view(self._visible_subnet(unit, context, subnet_id)[0])

    def create_subnet(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = _check_attributes(body, SUBNET_CREATE, "subnet")
        for name in ("network_id", "ip_version", "cidr"):
            if attrs.get(name) is None:
                raise NeutronBadRequest(
                    f"Failed to parse request. Required attribute '{name}' not specified"
                )
        if attrs.get("subnetpool_id") is not None:
            raise invalid("subnet pools are not supported by the dvs backend.")
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
        cidr = ipam.parse_cidr(attrs["cidr"], version)
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
        nameservers = ipam.check_nameservers(attrs.get("dns_nameservers") or [])
        routes = ipam.check_routes(attrs.get("host_routes") or [])
        enable_dhcp = _bool(attrs.get("enable_dhcp", True), "enable_dhcp")
        name = _text(attrs.get("name"), "name")
        description = _text(attrs.get("description"), "description")
        network_id = str(attrs["network_id"])
        project = self._owner(context, attrs)
        with self._store.transaction() as unit:
            network = self._visible_network(unit, context, network_id)
        target = {
            "target.project_id": project,
            "target.network.project_id": network.project_id,
            "target.shared": network.shared,
        }
        self._policy.authorize("create_subnet", context, target)
        self._store.ensure_project(project)
        now = _now()
        row = SubnetRow(
            id=str(uuid.uuid4()),
            project_id=project,
            network_id=network_id,
            name=name,
            description=description,
            ip_version=version,
            cidr=str(cidr),
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
                for locked in sorted({project, network.project_id}):
                    unit.lock_project(locked)
                self._check_quota(unit, "subnet", project)
                if unit.network(network_id) is None:
                    raise not_found("network", network_id)
                for other in unit.subnets(network_id):
                    if ipaddress.ip_network(other.cidr).overlaps(cidr):
                        raise invalid(
                            f"Requested subnet with cidr: {cidr} for network: {network_id} "
                            "overlaps with another subnet"
                        )
                unit.add(row)
                return self._subnet_view(row)
        except Collision:
            # The only key a new subnet can break is its network's: deleted meanwhile.
            raise not_found("network", network_id) from None

    def update_subnet(self, context: RequestContext, subnet_id: str, body: Any) -> dict[str, Any]:
        raw = body.get("subnet") if isinstance(body, dict) else None
        if isinstance(raw, dict) and ({"cidr", "ip_version", "network_id"} & set(raw)):
            raise invalid("Cannot update read-only attribute cidr, ip_version or network_id.")
        attrs = _check_attributes(body, SUBNET_UPDATE, "subnet")
        with self._store.transaction() as unit:
            row, network = self._visible_subnet(unit, context, subnet_id)
            self._policy.authorize("update_subnet", context, self._subnet_target(row, network))
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
                row.enable_dhcp = _bool(attrs["enable_dhcp"], "enable_dhcp")
            if "name" in attrs:
                row.name = _text(attrs["name"], "name")
            if "description" in attrs:
                row.description = _text(attrs["description"], "description")
            if attrs.get("service_types"):
                raise invalid("service_types are not supported by the dvs backend.")
            self._touch(row)
            unit.flush()
            return self._subnet_view(row)

    def delete_subnet(self, context: RequestContext, subnet_id: str) -> None:
        with self._store.transaction() as unit:
            row, network = self._visible_subnet(unit, context, subnet_id)
            self._policy.authorize("delete_subnet", context, self._subnet_target(row, network))
            holders = set(unit.subnet_allocation_ports(subnet_id))
            ports = {p.id: p for p in unit.ports(row.network_id)}
            if any(ports[p].device_owner != DHCP_OWNER for p in holders if p in ports):
                raise NeutronConflict(
                    f"Unable to complete operation on subnet {subnet_id}: One or more ports "
                    "have an IP allocation from this subnet.",
                    "SubnetInUse",
                )
            unit.delete(row)

    # ---------------------------------------------------------------- ports

    @staticmethod
    def _port_target(row: PortRow, network: NetworkRow) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id,
            "target.network.project_id": network.project_id,
        }

    def _visible_port(
        self, unit: Unit, context: RequestContext, port_id: str
    ) -> tuple[PortRow, NetworkRow]:
        row = unit.port(port_id)
        network = unit.network(row.network_id) if row is not None else None
        if (
            row is None
            or network is None
            or not self._policy.check("get_port", context, self._port_target(row, network))
        ):
            raise not_found("port", port_id)
        return row, network

    def _port_view(
        self,
        row: PortRow,
        allocations: Sequence[IpAllocationRow],
        network: NetworkRow,
        context: RequestContext,
        groups: Sequence[str] = (),
    ) -> dict[str, Any]:
        fixed_ips = sorted(
            ({"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in allocations),
            key=lambda f: (
                ipaddress.ip_address(f["ip_address"]).version,
                ipaddress.ip_address(f["ip_address"]),
            ),
        )
        bound = bool(row.binding_host_id)
        view: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
            "network_id": row.network_id,
            "mac_address": row.mac_address,
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "device_owner": row.device_owner,
            "device_id": row.device_id,
            "fixed_ips": fixed_ips,
            "allowed_address_pairs": list(row.allowed_address_pairs),
            "port_security_enabled": row.port_security_enabled,
            "security_groups": sorted(groups),
            "binding:host_id": row.binding_host_id,
            "binding:vnic_type": row.binding_vnic_type,
            "binding:profile": dict(row.binding_profile or {}),
            "binding:vif_type": "dvs" if bound else "unbound",
            "binding:vif_details": (
                {"dvs_port_group_key": network.portgroup_key, "dvs_name": self._dvs}
                if bound
                else {}
            ),
            "tags": list(row.tags or []),
            "created_at": _stamp(row.created_at),
            "updated_at": _stamp(row.updated_at),
            "revision_number": row.revision_number,
        }
        for name in self._hidden("port", BINDING_NAMES, context, self._port_target(row, network)):
            del view[name]
        return view

    def list_ports(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            networks = {n.id: n for n in unit.networks()}
            allocations = unit.allocations()
            groups = unit.port_security_groups()
            return [
                self._port_view(
                    row,
                    allocations.get(row.id, []),
                    networks[row.network_id],
                    context,
                    groups.get(row.id, []),
                )
                for row in unit.ports()
                if row.network_id in networks
                and self._policy.check(
                    "get_port", context, self._port_target(row, networks[row.network_id])
                )
            ]

    def get_port(self, context: RequestContext, port_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            row, network = self._visible_port(unit, context, port_id)
            allocations = unit.allocations([row.id]).get(row.id, [])
            groups = unit.port_security_groups([row.id]).get(row.id, [])
            return self._port_view(row, allocations, network, context, groups)

    def _address_pairs(self, value: Any, mac: str) -> list[dict[str, str]]:
        if not isinstance(value, list):
            raise invalid("allowed_address_pairs must be a list.")
        pairs: list[dict[str, str]] = []
        for pair in value:
            if (
                not isinstance(pair, dict)
                or "ip_address" not in pair
                or set(pair)
                - {
                    "ip_address",
                    "mac_address",
                }
            ):
                raise invalid(f"'{pair}' is not a valid address pair.")
            try:
                address = str(ipaddress.ip_network(str(pair["ip_address"]), strict=False))
            except ValueError:
                raise invalid(f"'{pair['ip_address']}' is not a valid IP address.") from None
            if "/" in str(pair["ip_address"]):
                ip = address
            else:
                ip = str(ipaddress.ip_address(str(pair["ip_address"])))
            pairs.append(
                {"ip_address": ip, "mac_address": ipam.check_mac(pair.get("mac_address") or mac)}
            )
        if len({(p["ip_address"], p["mac_address"]) for p in pairs}) != len(pairs):
            raise invalid("Duplicate address pair in the request.")
        return pairs

    def _check_binding(self, attrs: dict[str, Any], row: PortRow) -> None:
        if "binding:host_id" in attrs:
            row.binding_host_id = _text(attrs["binding:host_id"], "binding:host_id")
        if "binding:vnic_type" in attrs:
            vnic = attrs["binding:vnic_type"]
            if vnic not in VNIC_TYPES:
                raise invalid(f"'{vnic}' is not in {sorted(VNIC_TYPES)}")
            row.binding_vnic_type = vnic
        if "binding:profile" in attrs:
            profile = attrs["binding:profile"] or {}
            if not isinstance(profile, dict):
                raise invalid("binding:profile must be a dictionary.")
            row.binding_profile = profile

    def create_port(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = _check_attributes(body, PORT_CREATE, "port")
        if attrs.get("network_id") is None:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'network_id' not specified"
            )
        network_id = str(attrs["network_id"])
        project = self._owner(context, attrs)
        with self._store.transaction() as unit:
            network = self._visible_network(unit, context, network_id)
        target = {"target.project_id": project, "target.network.project_id": network.project_id}
        self._policy.authorize("create_port", context, target)
        self._authorize_attributes("create", "port", attrs, context, target)
        requests = self._fixed_ip_requests(attrs.get("fixed_ips"))
        if requests is not None and any("ip_address" in r for r in requests):
            self._policy.authorize("create_port:fixed_ips:ip_address", context, target)
        mac = ipam.check_mac(attrs["mac_address"]) if attrs.get("mac_address") else None
        now = _now()
        security = _bool(
            attrs.get("port_security_enabled", network.port_security_enabled),
            "port_security_enabled",
        )
        row_values: dict[str, Any] = {
            "project_id": project,
            "network_id": network_id,
            "name": _text(attrs.get("name"), "name"),
            "description": _text(attrs.get("description"), "description"),
            "admin_state_up": _bool(attrs.get("admin_state_up", True), "admin_state_up"),
            "status": "DOWN",
            "device_owner": _text(attrs.get("device_owner"), "device_owner"),
            "device_id": _text(attrs.get("device_id"), "device_id"),
            "port_security_enabled": security,
            "binding_host_id": "",
            "binding_vnic_type": "normal",
            "binding_profile": {},
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
        }
        device_owner: str = row_values["device_owner"]
        groups = self._port_groups_request(attrs, security, project, device_owner)
        pairs_request = attrs.get("allowed_address_pairs") or []
        if pairs_request and not security:
            raise NeutronConflict(
                "Port Security must be enabled in order to have allowed address pairs on a port.",
                "AddressPairAndPortSecurityRequired",
            )
        self._store.ensure_project(project)
        # Without a port quota (-1) no project lock at all: on SQLite it is a write, which
        # would hold the database's write lock through the whole allocation.
        limited = self._quota_limited("port", project)
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                # A collision may be the default group deleted meanwhile: ask for it anew.
                groups = self._port_groups_request(attrs, security, project, device_owner)
            try:
                with self._store.transaction() as unit:
                    if limited:
                        # First, so the quota count (MariaDB: the transaction's snapshot)
                        # comes after the lock and sees every create committed before it.
                        unit.lock_project(project)
                        self._check_quota(unit, "port", project)
                    locked = unit.network_locked(network_id, shared=True)
                    if locked is None or locked.status != "ACTIVE":
                        raise not_found("network", network_id)  # gone, or going
                    network = locked
                    port_mac = mac or ipam.random_mac()
                    if mac is not None and unit.mac_in_use(network_id, mac):
                        raise NeutronConflict(
                            f"Unable to complete operation for network {network_id}. The mac "
                            f"address {mac} is in use.",
                            "MacAddressInUse",
                        )
                    row = PortRow(
                        id=str(uuid.uuid4()),
                        mac_address=port_mac,
                        allowed_address_pairs=self._address_pairs(pairs_request, port_mac),
                        **row_values,
                    )
                    self._check_binding(attrs, row)
                    self.security.check_port_groups(unit, context, project, groups)
                    allocations = self._allocate(unit, network, row, requests, attempt)
                    unit.add(row)
                    unit.set_port_security_groups(row.id, groups)
                    unit.add(*allocations)
                    return self._port_view(row, allocations, network, context, groups)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent port creates on this network; retry.")

    def _port_groups_request(
        self, attrs: dict[str, Any], security: bool, project: str, device_owner: str
    ) -> list[str]:
        """The groups a new port gets: those asked for, else the project's default group when
        port security is on (not for the network's own ports, `network:*`, as Neutron)."""
        if attrs.get("security_groups") is not None:
            groups = self.security.requested_ids(attrs["security_groups"])
            if groups and not security:
                raise NeutronBadRequest(
                    "Port security must be enabled and port must have an IP address in order "
                    "to use security groups.",
                    "PortSecurityAndIPRequiredForSecurityGroups",
                )
            return groups
        if security and not device_owner.startswith("network:"):
            return [self.security.ensure_default(project)]
        return []

    def _update_port_groups(
        self,
        unit: Unit,
        context: RequestContext,
        row: PortRow,
        new_groups: list[str] | None,
    ) -> list[str]:
        """Replace the port's groups if asked; a port without port security has none."""
        if new_groups is None:
            groups = unit.port_security_groups([row.id]).get(row.id, [])
            if groups and not row.port_security_enabled:
                raise NeutronConflict(
                    "Port has security group associated. Cannot disable port security or ip "
                    "address until security group is removed",
                    "PortSecurityPortHasSecurityGroup",
                )
            return groups
        if new_groups and not row.port_security_enabled:
            raise NeutronBadRequest(
                "Port security must be enabled and port must have an IP address in order to "
                "use security groups.",
                "PortSecurityAndIPRequiredForSecurityGroups",
            )
        self.security.check_port_groups(unit, context, row.project_id, new_groups)
        unit.set_port_security_groups(row.id, new_groups)
        return new_groups

    @staticmethod
    def _fixed_ip_requests(value: Any) -> list[dict[str, str]] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid("fixed_ips must be a list of {'subnet_id', 'ip_address'}.")
        requests: list[dict[str, str]] = []
        for item in value:
            if not isinstance(item, dict) or not item or set(item) - {"subnet_id", "ip_address"}:
                raise invalid(f"'{item}' is not a valid fixed IP request.")
            requests.append({k: str(v) for k, v in item.items()})
        return requests

    def _allocate(
        self,
        unit: Unit,
        network: NetworkRow,
        port: PortRow,
        requests: list[dict[str, str]] | None,
        attempt: int,
    ) -> list[IpAllocationRow]:
        """Addresses for `port`: those requested (checked), else one per IP version."""
        subnets = list(unit.subnets(network.id))
        chosen: list[tuple[SubnetRow, str]] = []

        def pick(subnet: SubnetRow) -> str | None:
            if not subnet.allocation_pools:
                return None
            start = self._next_address.get(subnet.id, 0)
            picked = ipam.find_free(
                subnet.allocation_pools,
                subnet.ip_version,
                start,
                {ip for s, ip in chosen if s.id == subnet.id},
                lambda addresses: unit.taken_among(subnet.id, addresses),
                attempt,
            )
            if picked is not None:
                self._next_address[subnet.id] = ipam.address_int(picked) + 1
            return picked

        if requests is None:
            for version in (4, 6):
                candidates = [s for s in subnets if s.ip_version == version]
                if not candidates:
                    continue
                for subnet in candidates:
                    address = pick(subnet)
                    if address is not None:
                        chosen.append((subnet, address))
                        break
                else:
                    raise self._exhausted(network.id)
        else:
            by_id = {s.id: s for s in subnets}
            for request in requests:
                subnet = None
                if "subnet_id" in request:
                    subnet = by_id.get(request["subnet_id"])
                    if subnet is None:
                        raise invalid(
                            f"Failed to create port on network {network.id}, because "
                            f"fixed_ips included invalid subnet {request['subnet_id']}."
                        )
                if "ip_address" in request:
                    wanted = ipam.parse_ip(request["ip_address"])
                    if subnet is None:
                        subnet = next(
                            (s for s in subnets if wanted in ipaddress.ip_network(s.cidr)), None
                        )
                        if subnet is None:
                            raise NeutronBadRequest(
                                f"IP wanted {wanted} is not a valid IP for any of the "
                                "subnets on the specified network.",
                                "InvalidIpForNetwork",
                            )
                    self._check_explicit(unit, subnet, wanted, port, chosen)
                    chosen.append((subnet, str(wanted)))
                else:
                    assert subnet is not None
                    picked = pick(subnet)
                    if picked is None:
                        raise self._exhausted(network.id)
                    chosen.append((subnet, picked))
        return [
            IpAllocationRow(
                subnet_id=subnet.id, ip_address=ip, port_id=port.id, network_id=network.id
            )
            for subnet, ip in chosen
        ]

    @staticmethod
    def _check_explicit(
        unit: Unit,
        subnet: SubnetRow,
        address: ipam.IPAddress,
        port: PortRow,
        chosen: list[tuple[SubnetRow, str]],
    ) -> None:
        cidr = ipaddress.ip_network(subnet.cidr)
        first, last = ipam.usable_bounds(cidr)
        if address.version != cidr.version or not first <= int(address) <= last:
            raise NeutronBadRequest(
                f"IP address {address} is not a valid IP for the specified subnet.",
                "InvalidIpForSubnet",
            )
        if str(address) == subnet.gateway_ip and not port.device_owner.startswith("network:router"):
            raise NeutronConflict(
                f"IP address {address} already allocated in subnet {subnet.id}",
                "IpAddressAlreadyAllocated",
            )
        if unit.allocation(subnet.id, str(address)) is not None or (subnet.id, str(address)) in {
            (s.id, ip) for s, ip in chosen
        }:
            raise NeutronConflict(
                f"IP address {address} already allocated in subnet {subnet.id}",
                "IpAddressAlreadyAllocated",
            )

    @staticmethod
    def _exhausted(network_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"No more IP addresses available on network {network_id}.",
            "IpAddressGenerationFailure",
        )

    def update_port(self, context: RequestContext, port_id: str, body: Any) -> dict[str, Any]:
        raw = body.get("port") if isinstance(body, dict) else None
        if isinstance(raw, dict) and "network_id" in raw:
            raise invalid("Cannot update read-only attribute network_id.")
        attrs = _check_attributes(body, PORT_UPDATE, "port")
        new_groups = (
            self.security.requested_ids(attrs["security_groups"] or [])
            if "security_groups" in attrs
            else None
        )
        requests = self._fixed_ip_requests(attrs.get("fixed_ips"))
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    row, network = self._visible_port(unit, context, port_id)
                    target = self._port_target(row, network)
                    self._policy.authorize("update_port", context, target)
                    self._authorize_attributes("update", "port", attrs, context, target)
                    current = unit.allocations([row.id]).get(row.id, [])
                    for name in ("name", "description", "device_owner", "device_id"):
                        if name in attrs:
                            setattr(row, name, _text(attrs[name], name))
                    if "admin_state_up" in attrs:
                        row.admin_state_up = _bool(attrs["admin_state_up"], "admin_state_up")
                    if "port_security_enabled" in attrs:
                        row.port_security_enabled = _bool(
                            attrs["port_security_enabled"], "port_security_enabled"
                        )
                    if attrs.get("mac_address") and attrs["mac_address"] != row.mac_address:
                        mac = ipam.check_mac(attrs["mac_address"])
                        if row.binding_host_id:
                            raise NeutronConflict(
                                f"Port {row.id} is bound: its MAC address cannot change.",
                                "PortBound",
                            )
                        if unit.mac_in_use(row.network_id, mac):
                            raise NeutronConflict(
                                f"Unable to complete operation for network {row.network_id}. "
                                f"The mac address {mac} is in use.",
                                "MacAddressInUse",
                            )
                        row.mac_address = mac
                    if "allowed_address_pairs" in attrs:
                        row.allowed_address_pairs = self._address_pairs(
                            attrs["allowed_address_pairs"] or [], row.mac_address
                        )
                    if row.allowed_address_pairs and not row.port_security_enabled:
                        raise NeutronConflict(
                            "Port Security must be enabled in order to have allowed address "
                            "pairs on a port.",
                            "AddressPairAndPortSecurityRequired",
                        )
                    self._check_binding(attrs, row)
                    groups = self._update_port_groups(unit, context, row, new_groups)
                    allocations: Sequence[IpAllocationRow] = current
                    if requests is not None:
                        if any("ip_address" in r for r in requests):
                            self._policy.authorize(
                                "update_port:fixed_ips:ip_address", context, target
                            )
                        requests = self._keep_current(requests, current)
                        unit.delete_port_allocations(row.id)
                        allocations = self._allocate(unit, network, row, requests, attempt)
                        unit.add(*allocations)
                    self._touch(row)
                    unit.flush()
                    return self._port_view(row, allocations, network, context, groups)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent port updates on this network; retry.")

    @staticmethod
    def _keep_current(
        requests: list[dict[str, str]], current: Sequence[IpAllocationRow]
    ) -> list[dict[str, str]]:
        """A subnet-only request keeps the address the port already has there (as Neutron)."""
        spare = [a for a in current]
        explicit = {r.get("ip_address") for r in requests}
        out: list[dict[str, str]] = []
        for request in requests:
            if "ip_address" not in request:
                held = next(
                    (
                        a
                        for a in spare
                        if a.subnet_id == request["subnet_id"] and a.ip_address not in explicit
                    ),
                    None,
                )
                if held is not None:
                    spare.remove(held)
                    out.append({"subnet_id": held.subnet_id, "ip_address": held.ip_address})
                    continue
            out.append(request)
        return out

    def delete_port(self, context: RequestContext, port_id: str) -> None:
        with self._store.transaction() as unit:
            row, network = self._visible_port(unit, context, port_id)
            self._policy.authorize("delete_port", context, self._port_target(row, network))
            unit.delete(row)

    # ---------------------------------------------------------------- tags

    def _taggable(
        self, unit: Unit, context: RequestContext, resource: str, resource_id: str
    ) -> tuple[NetworkRow | SubnetRow | PortRow | SecurityGroupRow, dict[str, Any]]:
        if resource == "security-groups":
            return self.security.taggable(unit, context, resource_id)
        if resource == "networks":
            network = self._visible_network(unit, context, resource_id)
            return network, self._network_target(network)
        if resource == "subnets":
            subnet, network = self._visible_subnet(unit, context, resource_id)
            return subnet, self._subnet_target(subnet, network)
        if resource == "ports":
            port, network = self._visible_port(unit, context, resource_id)
            return port, self._port_target(port, network)
        raise NeutronBadRequest(f"Resource {resource} does not support tags.")

    def tags(self, context: RequestContext, resource: str, resource_id: str) -> list[str]:
        with self._store.transaction() as unit:
            row, _ = self._taggable(unit, context, resource, resource_id)
            return list(row.tags or [])

    def has_tag(self, context: RequestContext, resource: str, resource_id: str, tag: str) -> bool:
        return tag in self.tags(context, resource, resource_id)

    def change_tags(
        self,
        context: RequestContext,
        resource: str,
        resource_id: str,
        change: Callable[[list[str]], list[str]],
    ) -> list[str]:
        """Apply `change` to the resource's tags under its update rule; bumps the revision."""
        with self._store.transaction() as unit:
            row, target = self._taggable(unit, context, resource, resource_id)
            self._policy.authorize(f"update_{TAG_RULES[resource]}", context, target)
            row.tags = list(dict.fromkeys(_tag(t) for t in change(list(row.tags or []))))
            self._touch(row)
            unit.flush()
            return list(row.tags)

    # ---------------------------------------------------------------- quotas

    def _quota_context(self, context: RequestContext, project_id: str, rule: str) -> None:
        self._policy.authorize(rule, context, {"target.project_id": project_id})

    def quota(self, context: RequestContext, project_id: str) -> dict[str, int]:
        self._quota_context(context, project_id, "get_quota")
        with self._store.transaction() as unit:
            overrides = unit.quota_overrides(project_id)
        return {r: overrides.get(r, self._options.quotas[r]) for r in RESOURCES}

    def default_quota(self, context: RequestContext, project_id: str) -> dict[str, int]:
        self._quota_context(context, project_id, "get_quota")
        return dict(self._options.quotas)

    def quota_details(self, context: RequestContext, project_id: str) -> dict[str, Any]:
        self._quota_context(context, project_id, "get_quota")
        with self._store.transaction() as unit:
            overrides = unit.quota_overrides(project_id)
            return {
                r: {
                    "limit": overrides.get(r, self._options.quotas[r]),
                    "used": unit.count(r, project_id),
                    "reserved": 0,
                }
                for r in RESOURCES
            }

    def list_quotas(self, context: RequestContext) -> list[dict[str, Any]]:
        self._policy.authorize("update_quota", context, {"target.project_id": ""})
        with self._store.transaction() as unit:
            projects = unit.quota_projects()
        out = []
        for project in projects:
            values: dict[str, Any] = self.quota(context, project)
            values.update(project_id=project, tenant_id=project)
            out.append(values)
        return out

    def update_quota(self, context: RequestContext, project_id: str, body: Any) -> dict[str, int]:
        self._quota_context(context, project_id, "update_quota")
        quota = body.get("quota") if isinstance(body, dict) else None
        if not isinstance(quota, dict) or not quota:
            raise NeutronBadRequest("Resource body required: {'quota': {...}}.")
        for resource, limit in quota.items():
            if resource not in RESOURCES:
                raise invalid(
                    f"Unrecognized quota resource '{resource}' (this cloud enforces "
                    f"{', '.join(RESOURCES)})."
                )
            if isinstance(limit, bool) or not isinstance(limit, int | str):
                raise invalid(f"'{limit}' is not an integer quota for {resource}.")
            try:
                if int(limit) < -1:
                    raise ValueError
            except ValueError:
                raise invalid(
                    f"'{limit}' is not a valid quota for {resource} (-1 or more)."
                ) from None
        for attempt in range(3):
            try:
                with self._store.transaction() as unit:
                    for resource, limit in quota.items():
                        unit.set_quota(project_id, resource, int(limit))
                break
            except Collision:
                if attempt == 2:
                    raise NeutronUnavailable("Concurrent quota updates; retry.") from None
        return self.quota(context, project_id)

    def delete_quota(self, context: RequestContext, project_id: str) -> None:
        self._quota_context(context, project_id, "delete_quota")
        with self._store.transaction() as unit:
            unit.delete_quotas(project_id)


PROVIDER_NAMES = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
BINDING_NAMES = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")
#: The resource name of each taggable collection's update rule.
TAG_RULES = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "security-groups": "security_group",
}
