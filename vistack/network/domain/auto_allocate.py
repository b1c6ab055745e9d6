"""Neutron's "Get Me A Network" (`auto-allocated-topology`): a project's network, subnets from
the default subnet pools and a router uplinking them to the default external network, made
on first request and handed back as the same network ever after.

The topology is built from the ordinary operations, under the caller's own context (so the
same policies, quotas and vCenter steps apply as to a hand-made one), then recorded in one
row keyed by project. Concurrent first requests may each build a copy: the first to record
wins, the others remove their own copy and answer the winner's network. Until it is recorded
a copy's network has `admin_state_up: false` (as Neutron's), so a client listing usable
networks never sees a loser. Any failure part-way removes what was made before re-raising.

Routers exist only with the edge backend: in `dvs` mode the whole extension is absent (the
API answers 404 as Neutron without the extension, and compute says it cannot allocate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, VistackError
from vistack.network.db import auto_allocation as store
from vistack.network.db.repository import Collision
from vistack.network.domain.errors import NeutronBadRequest, NeutronConflict, NeutronNotFound

if TYPE_CHECKING:
    from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)
NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"
#: `?fields=dry-run`: check the prerequisites only.
DRY_RUN = "dry-run"
ABSENT = "The resource could not be found."
ROUTER_INTERFACE = "network:router_interface"
DHCP_OWNER = "network:dhcp"


def failure(reason: str) -> NeutronConflict:
    """Neutron's `AutoAllocationFailure` (409), which Nova reads as "cannot auto-allocate"."""
    return NeutronConflict(f"Deployment error: {reason}.", "AutoAllocationFailure")


class Pool(NamedTuple):
    """A default subnet pool, as the build uses it."""

    id: str
    ip_version: int


class Made:
    """What one build has made so far, for its clean-up."""

    def __init__(self) -> None:
        self.network_id: str | None = None
        self.subnet_ids: list[str] = []
        self.router_id: str | None = None
        self.interfaces: list[str] = []


class AutoAllocationService:
    """`/v2.0/auto-allocated-topology/{project_id}` on the core network service."""

    def __init__(self, core: NetworkService) -> None:
        self._core = core
        self._store = core._store
        self._policy = core._policy

    @property
    def available(self) -> bool:
        """Whether this backend can build topologies (it needs routers: edge mode)."""
        return bool(self._core.options.l3)

    def _require_available(self) -> None:
        if not self.available:
            raise NeutronNotFound(ABSENT, "HTTPNotFound")

    def _project(self, context: RequestContext, project_id: str, rule: str) -> str:
        """The project meant (`None` in the path: the caller's own, as Neutron reads it),
        checked against `rule` (another project's topology is an administrator's)."""
        project = context.project_id if project_id == "None" else project_id
        if not project:
            raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
        self._policy.authorize(rule, context, {"target.project_id": project})
        return project

    # ---------------------------------------------------------------- reading

    def get(
        self, context: RequestContext, project_id: str, fields: list[str] | None = None
    ) -> dict[str, Any]:
        """The project's topology (built on first call), or with `dry-run` the check only."""
        self._require_available()
        project = self._project(context, project_id, "get_auto_allocated_topology")
        fields = [f for f in fields or [] if f]
        if DRY_RUN in fields:
            self.check_requirements()
            return self._response("dry-run=pass", project)
        if fields:
            raise NeutronBadRequest(
                f"Unrecognized field(s) {', '.join(fields)}: auto-allocated-topology takes "
                f"only fields={DRY_RUN}.",
            )
        return self._response(self.network_of(context, project), project)

    @staticmethod
    def _response(network_id: str, project: str) -> dict[str, Any]:
        return {"id": network_id, "tenant_id": project, "project_id": project}

    def check_requirements(self) -> tuple[str, list[Pool]]:
        """(default external network id, default pools): what a build needs, else the 409s
        of Neutron's dry run. An IPv4 pool is required here (servers boot on IPv4); an IPv6
        default pool adds an IPv6 subnet."""
        with self._store.transaction() as unit:
            external = store.default_external(unit)
            pools = [
                Pool(p.id, p.ip_version)
                for p in (unit.default_subnetpool(4), unit.default_subnetpool(6))
                if p is not None
            ]
        if external is None:
            raise failure("No default router:external network")
        if not pools:
            raise failure("No default subnetpools defined")
        if all(p.ip_version != 4 for p in pools):
            raise failure(
                "No default IPv4 subnetpool defined (auto-allocated networks need one; "
                "create a subnet pool with is_default=True and ip_version 4)"
            )
        return external, pools

    def network_of(self, context: RequestContext, project: str) -> str:
        """The id of the project's auto-allocated network, built if it has none."""
        with self._store.transaction() as unit:
            existing = store.topology(unit, project)
            if existing is not None:
                return existing.network_id
        external, pools = self.check_requirements()
        return self._build(context, project, external, pools)

    def allocate_for(self, context: RequestContext) -> str | None:
        """Compute's `networks: auto` with no usable network: the caller's project's network,
        or None when this cloud cannot allocate one (no routers, or prerequisites missing:
        Nova then answers 400)."""
        if not self.available or not context.project_id:
            return None
        try:
            return self.network_of(context, context.project_id)
        except NeutronConflict as exc:
            if exc.kind != "AutoAllocationFailure":
                raise
            LOG.info("cannot auto-allocate a network for %s: %s", context.project_id, exc)
            return None

    # ---------------------------------------------------------------- building

    def _build(
        self, context: RequestContext, project: str, external: str, pools: list[Pool]
    ) -> str:
        made = Made()
        owner = {} if project == context.project_id else {"project_id": project}
        try:
            self._private_network(context, owner, pools, made)
            self._uplink(context, owner, external, made)
            return self._save(context, project, made)
        except BaseException:
            self._cleanup(context, made)
            raise

    def _private_network(
        self, context: RequestContext, owner: dict[str, str], pools: list[Pool], made: Made
    ) -> None:
        try:
            network = self._core.create_network(
                context,
                {"network": {"name": NETWORK_NAME, "admin_state_up": False, **owner}},
            )
            made.network_id = network["id"]
            for pool in sorted(pools, key=lambda p: p.ip_version):
                subnet = self._core.create_subnet(
                    context,
                    {
                        "subnet": {
                            "name": f"auto_allocated_subnet_v{pool.ip_version}",
                            "network_id": made.network_id,
                            "ip_version": pool.ip_version,
                            "subnetpool_id": pool.id,
                            **owner,
                        }
                    },
                )
                made.subnet_ids.append(subnet["id"])
        except (BadRequest, NotFound) as exc:
            LOG.warning("auto-allocation of %s: private network failed: %s", owner, exc)
            raise failure("Unable to provide tenant private network") from exc
        except NeutronConflict as exc:
            if exc.kind != "SubnetAllocationError":
                raise
            raise failure("Unable to provide tenant private network") from exc

    def _uplink(
        self, context: RequestContext, owner: dict[str, str], external: str, made: Made
    ) -> None:
        routers = self._core.routers
        try:
            router = routers.create_router(
                context,
                {
                    "router": {
                        "name": ROUTER_NAME,
                        "external_gateway_info": {"network_id": external},
                        "admin_state_up": True,
                        **owner,
                    }
                },
            )
            made.router_id = router["id"]
            for subnet_id in made.subnet_ids:
                routers.add_interface(context, router["id"], {"subnet_id": subnet_id})
                made.interfaces.append(subnet_id)
        except (BadRequest, NotFound) as exc:
            LOG.warning("auto-allocation of %s: router failed: %s", owner, exc)
            raise failure("Unable to provide external connectivity") from exc

    def _save(self, context: RequestContext, project: str, made: Made) -> str:
        """Record the topology and bring its network up, in one transaction; if another
        build recorded first, remove this one and answer the winner's network."""
        assert made.network_id is not None
        try:
            with self._store.transaction() as unit:
                row = store.AutoTopologyRow(
                    project_id=project, network_id=made.network_id, router_id=made.router_id
                )
                unit.add(row)
                network = unit.network(made.network_id)
                if network is None:
                    raise failure("Unable to provide tenant private network")
                network.admin_state_up = True
                self._core._touch(network)
            return made.network_id
        except Collision:
            LOG.info("concurrent auto-allocation for %s: keeping the first", project)
        self._cleanup(context, made)
        with self._store.transaction() as unit:
            winner = store.topology(unit, project)
            if winner is None:  # the winner was deleted meanwhile: let the client retry
                raise NeutronConflict(
                    "The auto-allocated topology changed while it was being made; retry.",
                    "AutoAllocationFailure",
                )
            return winner.network_id

    # ---------------------------------------------------------------- removing

    def delete(self, context: RequestContext, project_id: str) -> None:
        """Remove the project's topology (nothing to remove: done, as Neutron). Refused
        (409, nothing removed) while other ports, such as servers', use its network."""
        self._require_available()
        project = self._project(context, project_id, "delete_auto_allocated_topology")
        with self._store.transaction() as unit:
            row = store.topology(unit, project)
            if row is None:
                return
            network_id, router_id = row.network_id, row.router_id
            in_use = [
                p.id
                for p in unit.ports(network_id)
                if p.device_owner not in (DHCP_OWNER, ROUTER_INTERFACE)
            ]
            subnet_ids = [s.id for s in unit.subnets(network_id)]
        if in_use:
            raise NeutronConflict(
                f"Unable to complete operation on network {network_id}. There are one or "
                "more ports still in use on the network.",
                "NetworkInUse",
            )
        made = Made()
        made.network_id, made.router_id = network_id, router_id
        made.subnet_ids = made.interfaces = subnet_ids
        self._cleanup(context, made, strict=True)

    def _cleanup(self, context: RequestContext, made: Made, strict: bool = False) -> None:
        """Remove what `made` names, last made first; what is already gone is skipped. Not
        `strict` (undoing a failed build): other failures are logged, the rest still goes."""
        routers = self._core.routers
        steps: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        router_id, network_id = made.router_id, made.network_id
        if router_id is not None:
            for subnet_id in made.interfaces:
                steps.append((routers.remove_interface, (router_id, {"subnet_id": subnet_id})))
            steps.append((routers.delete_router, (router_id,)))
        for subnet_id in made.subnet_ids:
            steps.append((self._core.delete_subnet, (subnet_id,)))
        if network_id is not None:
            steps.append((self._core.delete_network, (network_id,)))
        for step, arguments in steps:
            try:
                step(context, *arguments)
            except NotFound:
                continue
            except VistackError:
                if strict:
                    raise
                LOG.exception("could not undo part of a failed auto-allocation")
