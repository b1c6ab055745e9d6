"""Availability zones (edge backend): what the agents report, nothing configured apart.

A zone exists for networks when a DHCP agent reports it and for routers when an L3 agent does;
it is `available` while one of those agents is alive and admin-up (Neutron looks at
`admin_state_up` only; a zone whose agents all stopped reporting cannot serve either).

Networks and routers take `availability_zone_hints` on create (validated: an unknown zone is
Neutron's 404 `AvailabilityZoneNotFound`, and nothing is created) and show
`availability_zones`, the zones of the agents hosting them. The scheduler prefers the hinted
zones (see scheduling.py).

Routers are the L3 work's: its create calls `check_router_hints` before writing and
`set_router_hints` in its insert transaction, and its view adds `router_attributes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db import agent_queries, scheduling
from vistack.network.db.agent_tables import NetworkSchedulingRow, RouterSchedulingRow
from vistack.network.db.repository import NetworkStore, Unit
from vistack.network.db.scheduling import DHCP, L3
from vistack.network.domain.errors import NeutronNotFound, invalid
from vistack.network.domain.models import NetworkOptions

RESOURCES = {DHCP: "network", L3: "router"}
DVS_MESSAGE = (
    "The dvs network backend has no availability zones: they are the zones of the edge "
    "backend's agents."
)


def zones(unit: Unit) -> list[dict[str, str]]:
    """Every (zone, resource) the DHCP and L3 agents report, with its state."""
    states: dict[tuple[str, str], bool] = {}
    for row in agent_queries.agents_of_types(unit.session, tuple(RESOURCES)):
        if not row.availability_zone:
            continue
        key = (row.availability_zone, RESOURCES[row.agent_type])
        up = row.admin_state_up and scheduling.is_alive(row)
        states[key] = states.get(key, False) or up
    return [
        {
            "name": name,
            "resource": resource,
            "state": "available" if up else "unavailable",
        }
        for (name, resource), up in sorted(states.items())
    ]


def check_hints(unit: Unit, value: Any, resource: str) -> list[str]:
    """The hints a create asks for, each a zone agents report for `resource`."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"'{value}' is not a list of availability zone names.")
    known = {z["name"] for z in zones(unit) if z["resource"] == resource}
    for name in value:
        if name not in known:
            raise NeutronNotFound(
                f"AvailabilityZone {name} could not be found.", "AvailabilityZoneNotFound"
            )
    return list(dict.fromkeys(value))


def network_attributes(
    unit: Unit, network_ids: Sequence[str] | None = None
) -> dict[str, dict[str, list[str]]]:
    """Network id → its `availability_zone_hints` and `availability_zones` (only networks
    that have either; the rest show two empty lists)."""
    hosting = agent_queries.hosting_zones(unit.session, "network", network_ids)
    hints = agent_queries.network_hints(unit.session, network_ids)
    return {
        network_id: {
            "availability_zone_hints": hints.get(network_id, []),
            "availability_zones": hosting.get(network_id, []),
        }
        for network_id in set(hosting) | set(hints)
    }


def set_network_hints(unit: Unit, network_id: str, hints: list[str]) -> None:
    """Store a new network's hints (after its row, in the same transaction)."""
    if hints:
        unit.add(NetworkSchedulingRow(network_id=network_id, hints=hints, unhosted_at=None))


def check_router_hints(unit: Unit, value: Any) -> list[str]:
    return check_hints(unit, value, "router")


def set_router_hints(unit: Unit, router_id: str, hints: list[str]) -> None:
    """Store a new router's hints (after its row, in the same transaction)."""
    if hints:
        unit.add(RouterSchedulingRow(router_id=router_id, hints=hints, unhosted_at=None))


def router_attributes(unit: Unit, router_id: str) -> dict[str, list[str]]:
    """What a router's view adds: `availability_zone_hints` and `availability_zones`."""
    hosting = agent_queries.hosting_zones(unit.session, "router", [router_id])
    row = unit.session.get(RouterSchedulingRow, router_id)
    return {
        "availability_zone_hints": list(row.hints or []) if row is not None else [],
        "availability_zones": hosting.get(router_id, []),
    }


class ZoneService:
    """`GET /v2.0/availability_zones` and the networks' zone attributes."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine, options: NetworkOptions) -> None:
        self._store = store
        self._policy = policy
        self._options = options

    def list_zones(self, context: RequestContext) -> list[dict[str, str]]:
        """Any authenticated user may list zones (Neutron's `get_availability_zone`)."""
        if not self._options.l3:
            raise NeutronNotFound(DVS_MESSAGE, "HTTPNotFound")
        self._policy.authorize("get_availability_zone", context, {})
        with self._store.transaction() as unit:
            return zones(unit)

    def network_hints(self, value: Any) -> list[str]:
        """Validate a network create's hints (in its own read transaction, before anything is
        made); dvs mode has no zones, so only an empty list passes there."""
        if not self._options.l3:
            if value in (None, []):
                return []
            raise invalid("availability_zone_hints need the edge backend (dvs has no zones).")
        with self._store.transaction() as unit:
            return check_hints(unit, value, "network")

    def network_view(
        self, unit: Unit, network_ids: Sequence[str] | None = None
    ) -> dict[str, dict[str, list[str]]]:
        """Network id → zone attributes (empty in dvs mode: `default_view` applies)."""
        if not self._options.l3:
            return {}
        return network_attributes(unit, network_ids)

    def default_view(self) -> dict[str, list[str]]:
        """The attributes of a network with neither hints nor agent; dvs mode keeps the one
        zone it always showed (every network is on the one switch)."""
        if not self._options.l3:
            return {"availability_zone_hints": [], "availability_zones": ["nova"]}
        return {"availability_zone_hints": [], "availability_zones": []}
