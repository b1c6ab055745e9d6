"""The Neutron L2 core in `dvs` mode: networks as port groups, subnets, ports, IPAM, quotas.

Rules live here, not in the API: policy (checked against the resource's project and, for
subnets and ports, its network's), validation, VLAN choice and address allocation. vSphere is
touched before the database on create (a port group must exist before a network row says so)
and before the row goes on delete; a failure in between is undone so neither side keeps an
orphan.

The operations are split by noun: networks.py, subnets.py, ports.py on base.py; tags and
quotas are here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from vistack.common.context import RequestContext
from vistack.network.db.l3_tables import FloatingIpRow, RouterRow
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.sharing_tables import SubnetPoolRow
from vistack.network.db.tables import (
    NetworkRow,
    PortRow,
    SecurityGroupRow,
    SubnetRow,
)
from vistack.network.domain.base import (
    _tag,
)
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronUnavailable,
    invalid,
)
from vistack.network.domain.floatingips import FloatingIpService
from vistack.network.domain.l3_checks import touch
from vistack.network.domain.metering import MeteringService
from vistack.network.domain.models import NetworkOptions
from vistack.network.domain.ports import PortOps
from vistack.network.domain.rbac import RbacService
from vistack.network.domain.routers import RouterService
from vistack.network.domain.subnetpools import SubnetPoolService


class NetworkService(PortOps):
    """Every Neutron operation of the L2 core, called by the API with the caller's context."""

    @cached_property
    def routers(self) -> RouterService:
        """`/v2.0/routers` (edge backend): legs are this service's ports."""
        return RouterService(self)

    @cached_property
    def floatingips(self) -> FloatingIpService:
        """`/v2.0/floatingips` (edge backend): addresses from this service's IPAM."""
        return FloatingIpService(self)

    @property
    def options(self) -> NetworkOptions:
        """The backend's options (the API lists extensions and mounts routes by them)."""
        return self._options

    @cached_property
    def rbac(self) -> RbacService:
        """`/v2.0/rbac-policies` (visibility itself is domain/rbac.py's functions)."""
        return RbacService(self._store, self._policy)

    @cached_property
    def metering(self) -> MeteringService:
        """`/v2.0/metering/*` (edge backend): labels counted by the routers' data plane."""
        return MeteringService(self._store, self._policy)

    @cached_property
    def subnetpools(self) -> SubnetPoolService:
        """`/v2.0/subnetpools` (allocation for subnets is domain/subnetpools.py's functions)."""
        return SubnetPoolService(self._store, self._policy)

    # ---------------------------------------------------------------- tags

    def _taggable(
        self, unit: Unit, context: RequestContext, resource: str, resource_id: str
    ) -> tuple[
        NetworkRow
        | SubnetRow
        | PortRow
        | SecurityGroupRow
        | RouterRow
        | FloatingIpRow
        | SubnetPoolRow,
        dict[str, Any],
    ]:
        if resource == "routers":
            return self.routers.taggable(unit, context, resource_id)
        if resource == "floatingips":
            return self.floatingips.taggable(unit, context, resource_id)
        if resource == "subnetpools":
            return self.subnetpools.taggable(unit, context, resource_id)
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
            if isinstance(row, SubnetPoolRow):
                SubnetPoolService.touch(row)
            elif isinstance(row, RouterRow | FloatingIpRow):
                touch(row)
            else:
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
        return {r: overrides.get(r, self._options.quotas[r]) for r in self._options.resources}

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
                for r in self._options.resources
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
            if resource not in self._options.resources:
                raise invalid(
                    f"Unrecognized quota resource '{resource}' (this cloud enforces "
                    f"{', '.join(self._options.resources)})."
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


#: The resource name of each taggable collection's update rule.
TAG_RULES = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "security-groups": "security_group",
    "routers": "router",
    "floatingips": "floatingip",
    "subnetpools": "subnetpool",
}
