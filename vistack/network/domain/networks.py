"""Networks: each a distributed port group (VLAN from the configured ranges or a provider
segment), created in vSphere before its row and removed before its row goes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.drivers.errors import DriverError, InvalidStateError, NotFoundError
from vistack.drivers.models import PortgroupInfo
from vistack.drivers.networks import NetworkDriver
from vistack.network.db import auto_allocation as auto_store
from vistack.network.db import listing
from vistack.network.db.l3_queries import delete_network_floatingips
from vistack.network.db.l3_tables import FLOATINGIP_OWNER
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.tables import (
    NetworkRow,
    PortRow,
    SecurityGroupRow,
    SegmentRow,
    SubnetRow,
)
from vistack.network.domain import query, rbac
from vistack.network.domain.attributes import boolean, check_attributes, named_view, text
from vistack.network.domain.auto_allocate import AutoAllocationService
from vistack.network.domain.base import (
    DHCP_OWNER,
    LOG,
    MAX_ATTEMPTS,
    NETWORK_CREATE,
    NETWORK_UPDATE,
    PROVIDER_NAMES,
    ServiceBase,
    T,
)
from vistack.network.domain.errors import (
    NeutronConflict,
    NeutronUnavailable,
    invalid,
    not_found,
    over_quota,
)
from vistack.network.domain.revisions import check_revision
from vistack.network.domain.zones import set_network_hints

if TYPE_CHECKING:
    from vistack.network.domain.service import NetworkService


class NetworkOps(ServiceBase):
    """Network operations of `NetworkService`."""

    @cached_property
    def auto_allocation(self) -> AutoAllocationService:
        """`/v2.0/auto-allocated-topology` (edge backend), also compute's `networks: auto`."""
        return AutoAllocationService(cast("NetworkService", self))

    @staticmethod
    def _network_target(row: NetworkRow) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id,
            "target.shared": row.shared,
            "target.external": row.external,
        }

    def _network_visibility_clause(
        self, unit: Unit, context: RequestContext, *scope: listing.Clause
    ) -> listing.Clause:
        """THE definition of which networks `context` may see, as a SQL condition on
        `network_network` that lists use; single reads (`_visible_network`) check the same
        rule in Python (`rbac.network_visible`), so a change to visibility (e.g. RBAC
        sharing) belongs in domain/rbac.py, which both call.

        It is the `get_network` rule (owner, reader, admin, shared, external) with `shared`
        and `external` as RBAC grants them to the caller's project (domain/rbac.py), decided
        once per distinct (project, shared, external) among the networks `scope` selects."""
        return listing.visibility(
            unit.session,
            listing.NETWORKS,
            rbac.network_keys(context),
            lambda key: rbac.key_visible(self._policy, context, key),
            scope,
        )

    def _visible_network(self, unit: Unit, context: RequestContext, network_id: str) -> NetworkRow:
        """One network the caller may see, else 404: the same rule as the list clause, as
        the Python predicate over this row and its RBAC grants (two keyed reads; building
        the list's SQL condition for one row cost more than the rest of a port create)."""
        row = unit.network(network_id)
        if row is None or not rbac.network_visible(
            self._policy, context, row, rbac.grants_of(unit, context, row)
        ):
            raise not_found("network", network_id)
        return row

    def _network_view(
        self,
        row: NetworkRow,
        subnet_ids: list[str],
        context: RequestContext,
        zones: dict[str, list[str]] | None = None,
        default_id: str | None = None,
    ) -> dict[str, Any]:
        """`zones`: the network's entry of `self.zones.network_view` (None: no zone data);
        `default_id`: the default external network's id (`is_default`)."""
        view: dict[str, Any] = {
            **named_view(row),
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "shared": row.shared,
            "router:external": row.external,
            **({"is_default": row.id == default_id} if self._options.l3 else {}),
            "subnets": subnet_ids,
            "mtu": row.mtu,
            "port_security_enabled": row.port_security_enabled,
            "provider:network_type": row.network_type,
            "provider:physical_network": row.physical_network,
            "provider:segmentation_id": row.segmentation_id,
            **(zones or self.zones.default_view()),
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "l2_adjacency": True,
            "tags": list(row.tags or []),
            "created_at": query.stamp(row.created_at),
            "updated_at": query.stamp(row.updated_at),
            "revision_number": row.revision_number,
        }
        for name in self._hidden("network", PROVIDER_NAMES, context, self._network_target(row)):
            del view[name]
        return view

    def list_networks(
        self, context: RequestContext, asked: query.ListRequest | None = None
    ) -> list[dict[str, Any]]:
        """The networks `_network_visibility_clause` lets `context` see, listed in SQL as
        `asked` says (see `query.run`)."""
        with self._store.transaction() as unit:
            session = unit.session
            visible = self._network_visibility_clause(unit, context)

            def render(rows: list[Any], fields: set[str] | None) -> list[dict[str, Any]]:
                return self._network_listing(session, rows, context, fields)

            return query.run(
                session, listing.NETWORKS, listing.NETWORK_COLUMNS, asked, visible, render
            )

    def _network_listing(
        self,
        session: listing.DbSession,
        rows: list[Any],
        context: RequestContext,
        fields: set[str] | None,
    ) -> list[dict[str, Any]]:
        """`_network_view` for rows of `listing.NETWORK_COLUMNS`: one query for the subnets of these
        networks, the provider attributes' policy once per (project, shared, external)."""
        ids = [row[0] for row in rows]
        zones = self.zones.network_view(Unit(session), ids)
        default_id = auto_store.default_external(Unit(session))
        wanted = fields is None or "subnets" in fields
        subnets = listing.network_subnets(session, ids) if wanted else {}
        hidden: dict[tuple[str, bool, bool], set[str]] = {}
        views: list[dict[str, Any]] = []
        for (
            network_id,
            name,
            description,
            project_id,
            admin_state_up,
            status,
            shared,
            external,
            mtu,
            port_security,
            network_type,
            physical_network,
            segmentation_id,
            tags,
            created_at,
            updated_at,
            revision,
        ) in rows:
            key = (project_id, shared, external)
            hide = hidden.get(key)
            if hide is None:
                target = {
                    "target.project_id": project_id,
                    "target.shared": shared,
                    "target.external": external,
                }
                hide = hidden[key] = self._hidden("network", PROVIDER_NAMES, context, target)
            view: dict[str, Any] = {
                "id": network_id,
                "name": name,
                "description": description,
                "project_id": project_id,
                "tenant_id": project_id,
                "admin_state_up": admin_state_up,
                "status": status,
                "shared": shared,
                "router:external": external,
                **({"is_default": network_id == default_id} if self._options.l3 else {}),
                "subnets": subnets.get(network_id, []),
                "mtu": mtu,
                "port_security_enabled": port_security,
                "provider:network_type": network_type,
                "provider:physical_network": physical_network,
                "provider:segmentation_id": segmentation_id,
                **(zones.get(network_id) or self.zones.default_view()),
                "ipv4_address_scope": None,
                "ipv6_address_scope": None,
                "l2_adjacency": True,
                "tags": listing.decode(tags) or [],
                "created_at": query.stamp(created_at),
                "updated_at": query.stamp(updated_at),
                "revision_number": revision,
            }
            for hidden_name in hide:
                del view[hidden_name]
            views.append(view)
        return views

    def get_network(self, context: RequestContext, network_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            row = self._visible_network(unit, context, network_id)
            subnets = [s.id for s in unit.subnets(network_id)]
            zones = self.zones.network_view(unit, [row.id]).get(row.id)
            default_id = auto_store.default_external(unit)
            return self._network_view(row, subnets, context, zones, default_id)

    def portgroup_of(self, context: RequestContext, network_id: str) -> tuple[str, str]:
        """(name, port group key) of a network the caller may see: what a compute build plugs
        a NIC into. :raises NeutronNotFound: not visible, or it has no port group."""
        with self._store.transaction() as unit:
            row = self._visible_network(unit, context, network_id)
            if not row.portgroup_key:
                raise not_found("network", network_id)
            return row.name, row.portgroup_key

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
            return self._quota_limit(unit, resource, project) >= 0

    def _quota_limit(self, unit: Unit, resource: str, project: str) -> int:
        """The project's limit on `resource` (-1: none): its override, else the default."""
        override = unit.quota_override(project, resource)
        return self._options.quotas[resource] if override is None else override

    def _check_quota(self, unit: Unit, resource: str, project: str) -> None:
        limit = self._quota_limit(unit, resource, project)
        if limit >= 0 and unit.count(resource, project) >= limit:
            raise over_quota(resource)

    def create_network(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, NETWORK_CREATE | {"is_default"}, "network")
        project = self._owner(context, attrs)
        target = {"target.project_id": project, "target.shared": False, "target.external": False}
        self._policy.authorize("create_network", context, target)
        # `is_default: false` is the default, so not "set" (Neutron's rule; CLIs send it).
        asked = {k: v for k, v in attrs.items() if (k, v) != ("is_default", False)}
        self._authorize_attributes("create", "network", asked, context, target)
        name = text(attrs.get("name"), "name")
        description = text(attrs.get("description"), "description")
        admin_state_up = boolean(attrs.get("admin_state_up", True), "admin_state_up")
        shared = boolean(attrs.get("shared", False), "shared")
        external = boolean(attrs.get("router:external", False), "router:external")
        is_default = self._default_asked(attrs, external)
        security = boolean(attrs.get("port_security_enabled", True), "port_security_enabled")
        mtu = self._mtu(attrs.get("mtu"))
        segment = self._segment(attrs)
        hints = self.zones.network_hints(attrs.get("availability_zone_hints"))
        if self._driver is None or self._dvs is None:
            raise NeutronUnavailable(
                "No vCenter distributed switch is configured: networks cannot be created."
            )
        network_id = str(uuid.uuid4())
        self._store.ensure_project(project)
        with self._store.transaction() as unit:
            self._check_quota(unit, "network", project)
            if is_default:
                self._refuse_second_default(unit, network_id)
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
            now = utcnow()
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
                    set_network_hints(unit, network_id, hints)
                    rbac.grant_flags(unit, row)
                    if is_default:
                        self._refuse_second_default(unit, network_id)
                        auto_store.set_default_external(unit, network_id, True)
                    zones = self.zones.network_view(unit, [network_id]).get(network_id)
                    view = self._network_view(
                        row, [], context, zones, network_id if is_default else None
                    )
                return view
            except Collision:
                self._discard_portgroup(portgroup.key)
                if is_default:  # the default slot, taken by a concurrent create?
                    with self._store.transaction() as unit:
                        self._refuse_second_default(unit, network_id)
                if (segment is not None and segment[2] is not None) or kind == "flat":
                    raise self._segment_in_use(kind, physnet, vlan) from None
                continue
            except BaseException:
                self._discard_portgroup(portgroup.key)
                raise
        raise NeutronUnavailable("Too many concurrent network creates; retry.")

    def _default_asked(self, attrs: dict[str, Any], external: bool) -> bool:
        """`is_default` of a create or update (False when not given): only an external
        network can be the default one, where auto-allocated routers put their gateway, and
        only where the backend makes routers (the auto-allocated-topology extension)."""
        is_default = boolean(attrs.get("is_default", False), "is_default")
        if is_default and not self._options.l3:
            raise invalid(
                "is_default is not supported by the dvs network backend: it makes no routers, "
                "so no topology is ever auto-allocated behind a default external network. "
                "Leave is_default out (or use the edge backend)."
            )
        if is_default and not external:
            raise invalid(
                "is_default can only be set on an external network: set router:external to "
                "true as well (the default external network is where auto-allocated "
                "topologies get their gateway)."
            )
        return is_default

    @staticmethod
    def _refuse_second_default(unit: Unit, network_id: str) -> None:
        """Neutron's `DefaultExternalNetworkExists`: at most one default external network."""
        current = auto_store.default_external(unit)
        if current is not None and current != network_id:
            raise NeutronConflict(
                f"A default external network already exists: {current}.",
                "DefaultExternalNetworkExists",
            )

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
        attrs = check_attributes(body, NETWORK_UPDATE | {"is_default"}, "network")
        with self._store.transaction() as unit:
            row = self._visible_network(unit, context, network_id)
            target = self._network_target(row)
            self._policy.authorize("update_network", context, target)
            check_revision(unit, row)
            self._authorize_attributes("update", "network", attrs, context, target)
            if "name" in attrs:
                row.name = text(attrs["name"], "name")
            if "description" in attrs:
                row.description = text(attrs["description"], "description")
            if "admin_state_up" in attrs:
                row.admin_state_up = boolean(attrs["admin_state_up"], "admin_state_up")
            if "router:external" in attrs:
                rbac.set_external(unit, row, boolean(attrs["router:external"], "router:external"))
            self._update_default(unit, row, attrs)
            if "port_security_enabled" in attrs:
                row.port_security_enabled = boolean(
                    attrs["port_security_enabled"], "port_security_enabled"
                )
            if "mtu" in attrs:
                row.mtu = self._mtu(attrs["mtu"])
            if "shared" in attrs:
                # The wildcard RBAC policy; refused while other projects' ports need it.
                rbac.set_shared(unit, row, boolean(attrs["shared"], "shared"))
            self._touch(row)
            unit.flush()
            subnet_ids = [s.id for s in unit.subnets(row.id)]
            zones = self.zones.network_view(unit, [row.id]).get(row.id)
            default_id = auto_store.default_external(unit)
            return self._network_view(row, subnet_ids, context, zones, default_id)

    def _update_default(self, unit: Unit, row: NetworkRow, attrs: dict[str, Any]) -> None:
        """`is_default` as asked; a network no longer external stops being the default."""
        if "is_default" in attrs:
            is_default = self._default_asked(attrs, row.external)
            if is_default:
                self._refuse_second_default(unit, row.id)
            try:
                auto_store.set_default_external(unit, row.id, is_default)
            except Collision:
                raise NeutronConflict(
                    "A default external network was set by a concurrent request.",
                    "DefaultExternalNetworkExists",
                ) from None
        elif not row.external:
            auto_store.set_default_external(unit, row.id, False)

    @staticmethod
    def _touch(row: NetworkRow | SubnetRow | PortRow | SecurityGroupRow) -> None:
        row.updated_at = utcnow()
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
            row = self._visible_network(unit, context, network_id)
            self._policy.authorize("delete_network", context, self._network_target(row))
            check_revision(unit, row)
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
                delete_network_floatingips(unit, network_id)
                unit.delete(row_again)

    def _set_status(self, network_id: str, status: str) -> None:
        with self._store.transaction() as unit:
            row = unit.network(network_id)
            if row is not None:
                row.status = status

    def _refuse_if_in_use(self, unit: Unit, row: NetworkRow) -> None:
        # Floating IPs go with their external network (Neutron); a router gateway keeps it.
        if any(p.device_owner not in (DHCP_OWNER, FLOATINGIP_OWNER) for p in unit.ports(row.id)):
            raise self._in_use(row.id)

    @staticmethod
    def _in_use(network_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"Unable to complete operation on network {network_id}. There are one or more "
            "ports still in use on the network.",
            "NetworkInUse",
        )
