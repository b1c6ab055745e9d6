"""Shared ground of the Neutron L2 core service: constants, input checks, the service's state
and policy helpers. `NetworkService` is built on it one noun per module (networks, subnets,
ports; tags and quotas in service.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.drivers.networks import NetworkDriver
from vistack.network.db.repository import NetworkStore
from vistack.network.domain import ipam
from vistack.network.domain.agents import AgentService
from vistack.network.domain.errors import (
    NeutronBadRequest,
    invalid,
)
from vistack.network.domain.models import NetworkOptions
from vistack.network.domain.security import SecurityGroupService
from vistack.network.domain.zones import ZoneService

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: Attempts of one create when concurrent requests keep taking the same VLAN, address or MAC.
MAX_ATTEMPTS = 30
DHCP_OWNER = "network:dhcp"
#: Attributes only some callers may see (policy `get_network:<name>`, `get_port:<name>`).
PROVIDER_NAMES = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
BINDING_NAMES = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")
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


#: The attribute checks under the names the L2 and L3 services import from here.


def _tag(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise invalid(f"'{value}' is not a valid tag.")
    return value


class ServiceBase:
    """State and policy helpers every part of `NetworkService` shares."""

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
        self._claims = ipam.AddressClaims()
        self._rules = set(policy.rule_names)
        self.security = SecurityGroupService(store, policy, options)
        self.agents = AgentService(store, policy, options)
        self.zones = ZoneService(store, policy, options)

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
