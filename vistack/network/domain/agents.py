"""Neutron's agents (edge backend): the DHCP, L3 and metadata agents of the edge nodes, their
heartbeats, and the admin API on them and on what they host (`dhcp_agent_scheduler`,
`l3_agent_scheduler`).

An agent is a row upserted by its own reports (`report_state`; the edge sync calls it through
`AgentReporter` after each apply and every 30 s), so it shows what really runs: `alive` is
the heartbeat's age against Neutron's 75 s `agent_down_time`. In `dvs` mode there is no agent
and every call answers 404 saying so. Everything here is admin-only, as Neutron's policy.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db import agent_queries, scheduling
from vistack.network.db.agent_tables import AgentRow
from vistack.network.db.l3_tables import RouterRow
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.db.scheduling import DHCP, L3, METADATA, is_alive
from vistack.network.domain import zones
from vistack.network.domain.attributes import named_view
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    NeutronUnavailable,
    invalid,
    not_found,
)
from vistack.network.domain.models import NetworkOptions

LOG = logging.getLogger(__name__)

#: Seconds between two heartbeats of an idle agent (well inside `AGENT_DOWN_TIME`).
REPORT_INTERVAL = 30
#: The one process that runs all three agents of an edge node.
BINARY = "vistack-edge-agent"
TOPICS = {DHCP: "dhcp_agent", L3: "l3_agent", METADATA: "metadata_agent"}
AGENT_UPDATE = {"admin_state_up", "description"}
AGENT_READ_ONLY = {
    "id",
    "agent_type",
    "binary",
    "topic",
    "host",
    "availability_zone",
    "configurations",
    "created_at",
    "started_at",
    "heartbeat_timestamp",
    "alive",
    "resources_synced",
}
DVS_MESSAGE = (
    "The dvs network backend has no agents: networks are port groups of the distributed "
    "switch, with no DHCP, L3 or metadata agent (they come with the edge backend)."
)


def _stamp(value: datetime | None) -> str | None:
    """Neutron's agent timestamps: `2026-11-24 02:50:00` (no `T`, no zone)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def agent_view(row: AgentRow, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "agent_type": row.agent_type,
        "binary": row.binary,
        "topic": row.topic,
        "host": row.host,
        "admin_state_up": row.admin_state_up,
        "availability_zone": row.availability_zone,
        "description": row.description,
        "configurations": dict(row.configurations or {}),
        "created_at": _stamp(row.created_at),
        "started_at": _stamp(row.started_at),
        "heartbeat_timestamp": _stamp(row.heartbeat_timestamp),
        "alive": is_alive(row, now),
        "resources_synced": row.resources_synced,
    }


def _agent_not_found(agent_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Agent {agent_id} could not be found.", "AgentNotFound")


class AgentService:
    """Agents, their heartbeats and their bindings; the scheduler runs after every write."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine, options: NetworkOptions) -> None:
        self._store = store
        self._policy = policy
        self._options = options
        if options.l3:
            store.change_listeners.append(self.schedule)

    # ---------------------------------------------------------------- reports and scheduling

    def report_state(
        self,
        agent_type: str,
        host: str,
        *,
        configurations: dict[str, Any],
        availability_zone: str | None,
        started_at: datetime,
    ) -> str:
        """Record a heartbeat (creating the agent on its first); returns the agent's id.

        A first report, a report after the agent was dead, or one with a new `started_at`
        (a restart) schedules everything unhosted, as Neutron does when an agent starts.

        A heartbeat is not a change of the network: it is written as a plain UPDATE statement,
        which the store's change listeners do not hear (they listen to ORM flushes), so the
        edge sync, which reports after each apply, is not woken by its own report. Only a new
        agent, or bindings a start makes, wake it (once).
        """
        if agent_type not in TOPICS:
            raise ValueError(f"unknown agent type {agent_type!r}")
        zone = availability_zone if agent_type != METADATA else None
        for _attempt in range(3):
            try:
                with self._store.transaction() as unit:
                    now = utcnow()
                    row = self._by_type_host(unit, agent_type, host)
                    if row is None:
                        row = AgentRow(
                            id=str(uuid.uuid4()),
                            agent_type=agent_type,
                            binary=BINARY,
                            topic=TOPICS[agent_type],
                            host=host,
                            availability_zone=zone,
                            admin_state_up=True,
                            description="",
                            configurations=configurations,
                            created_at=now,
                            started_at=started_at,
                            heartbeat_timestamp=now,
                            resources_synced=None,
                        )
                        unit.add(row)
                        starting = True
                    else:
                        starting = not is_alive(row, now) or row.started_at != started_at
                        # A statement, not an ORM change: see the docstring.
                        agent_queries.record_heartbeat(
                            unit.session,
                            row.id,
                            configurations=configurations,
                            availability_zone=zone,
                            started_at=started_at,
                            heartbeat_timestamp=now,
                        )
                    if starting:
                        scheduling.schedule(unit, include_unhosted=True)
                    return row.id
            except Collision:
                continue  # a concurrent first report or schedule won: report again
        raise NeutronUnavailable(f"Could not record the {agent_type} report of {host}.")

    def schedule(self) -> None:
        """One scheduling pass (a change listener: failures are logged, never raised)."""
        for _attempt in range(3):
            try:
                with self._store.transaction() as unit:
                    scheduling.schedule(unit)
                return
            except Collision:
                continue  # another pass bound the same resource first: look again

    def hosted_by(self, host: str) -> tuple[frozenset[str], frozenset[str]]:
        """(network ids, router ids) the agents of `host` host: what its data plane should
        serve, so that removing a network from a DHCP agent (or a router from an L3 agent)
        really stops it there."""
        with self._store.transaction() as unit:
            return scheduling.hosted_by(unit, host)

    @staticmethod
    def _by_type_host(unit: Unit, agent_type: str, host: str) -> AgentRow | None:
        return agent_queries.agent_of(unit.session, agent_type, host)

    # ---------------------------------------------------------------- the agents API

    def _require_edge(self) -> None:
        if not self._options.l3:
            raise NeutronNotFound(DVS_MESSAGE, "HTTPNotFound")

    def _visible(self, unit: Unit, context: RequestContext, agent_id: str) -> AgentRow:
        row = unit.session.get(AgentRow, agent_id)
        if row is None or not self._policy.check("get_agent", context, {}):
            raise _agent_not_found(agent_id)
        return row

    def list_agents(self, context: RequestContext) -> list[dict[str, Any]]:
        self._require_edge()
        if not self._policy.check("get_agent", context, {}):
            return []
        with self._store.transaction() as unit:
            now = utcnow()
            return [agent_view(row, now) for row in agent_queries.agents(unit.session)]

    def get_agent(self, context: RequestContext, agent_id: str) -> dict[str, Any]:
        self._require_edge()
        with self._store.transaction() as unit:
            return agent_view(self._visible(unit, context, agent_id))

    def update_agent(self, context: RequestContext, agent_id: str, body: Any) -> dict[str, Any]:
        self._require_edge()
        attrs = body.get("agent") if isinstance(body, dict) and len(body) == 1 else None
        if not isinstance(attrs, dict):
            raise NeutronBadRequest("Resource body required: {'agent': {...}}.")
        read_only = sorted(set(attrs) & AGENT_READ_ONLY)
        if read_only:
            raise invalid(f"Cannot update read-only attribute {read_only[0]}")
        unknown = sorted(set(attrs) - AGENT_UPDATE)
        if unknown:
            raise NeutronBadRequest("Unrecognized attribute(s) '" + ", ".join(unknown) + "'")
        admin_state_up = attrs.get("admin_state_up")
        if "admin_state_up" in attrs and not isinstance(admin_state_up, bool):
            raise invalid(f"'{admin_state_up}' is not a valid boolean value for admin_state_up.")
        description = attrs.get("description", "")
        if not isinstance(description, str) or len(description) > 255:
            raise invalid("description must be a string of at most 255 characters.")
        with self._store.transaction() as unit:
            row = self._visible(unit, context, agent_id)
            self._policy.authorize("update_agent", context, {})
            if isinstance(admin_state_up, bool):
                row.admin_state_up = admin_state_up
            if "description" in attrs:
                row.description = description
            unit.flush()
            return agent_view(row)

    def delete_agent(self, context: RequestContext, agent_id: str) -> None:
        """Forget an agent and its bindings (what it hosted is scheduled elsewhere); a live
        agent reappears with its next heartbeat, as in Neutron."""
        self._require_edge()
        with self._store.transaction() as unit:
            row = self._visible(unit, context, agent_id)
            self._policy.authorize("delete_agent", context, {})
            unit.delete(row)

    # ---------------------------------------------------------------- DHCP bindings

    def _typed_agent(
        self, unit: Unit, context: RequestContext, agent_id: str, agent_type: str, rule: str
    ) -> AgentRow:
        row = self._any_agent(unit, context, agent_id, rule)
        if row.agent_type != agent_type:
            raise self._invalid_agent(agent_id, agent_type)
        return row

    def _any_agent(self, unit: Unit, context: RequestContext, agent_id: str, rule: str) -> AgentRow:
        """For the hosted lists and removals: as in Neutron, an agent of another type simply
        hosts nothing (an empty list, a 409 "not hosted")."""
        self._policy.authorize(rule, context, {})
        row = unit.session.get(AgentRow, agent_id)
        if row is None:
            raise _agent_not_found(agent_id)
        return row

    @staticmethod
    def _invalid_agent(agent_id: str, agent_type: str) -> NeutronNotFound:
        if agent_type == DHCP:
            return NeutronNotFound(
                f"Agent {agent_id} is not a valid DHCP Agent or has been disabled",
                "InvalidDHCPAgent",
            )
        return NeutronNotFound(
            f"Agent {agent_id} is not a L3 Agent or has been disabled", "InvalidL3Agent"
        )

    def networks_of_agent(self, context: RequestContext, agent_id: str) -> list[str]:
        self._require_edge()
        with self._store.transaction() as unit:
            self._any_agent(unit, context, agent_id, "get_dhcp-networks")
            return scheduling.networks_of(unit, agent_id)

    def add_network(self, context: RequestContext, agent_id: str, body: Any) -> None:
        self._require_edge()
        network_id = _hosted_id(body, "network")
        try:
            with self._store.transaction() as unit:
                agent = self._typed_agent(unit, context, agent_id, DHCP, "create_dhcp-network")
                if unit.network(network_id) is None:
                    raise not_found("network", network_id)
                if not agent.admin_state_up:
                    raise self._invalid_agent(agent_id, DHCP)
                if agent_id in scheduling.dhcp_agent_ids(unit, network_id):
                    raise self._network_hosted(network_id, agent_id)
                scheduling.bind_network(unit, network_id, agent_id)
        except Collision:
            raise self._network_hosted(network_id, agent_id) from None

    @staticmethod
    def _network_hosted(network_id: str, agent_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"The network {network_id} has been already hosted by the DHCP Agent {agent_id}.",
            "NetworkHostedByDHCPAgent",
        )

    def remove_network(self, context: RequestContext, agent_id: str, network_id: str) -> None:
        self._require_edge()
        with self._store.transaction() as unit:
            self._any_agent(unit, context, agent_id, "delete_dhcp-network")
            if agent_id not in scheduling.dhcp_agent_ids(unit, network_id):
                raise NeutronConflict(
                    f"The network {network_id} is not hosted by the DHCP agent {agent_id}.",
                    "NetworkNotHostedByDhcpAgent",
                )
            scheduling.unbind_network(unit, network_id, agent_id)

    def dhcp_agents_of_network(
        self, context: RequestContext, network_id: str
    ) -> list[dict[str, Any]]:
        self._require_edge()
        self._policy.authorize("get_dhcp-agents", context, {})
        with self._store.transaction() as unit:
            if unit.network(network_id) is None:
                raise not_found("network", network_id)
            ids = scheduling.dhcp_agent_ids(unit, network_id)
            return [agent_view(row) for row in agent_queries.agents(unit.session, ids)]

    # ---------------------------------------------------------------- L3 bindings

    def routers_of_agent(self, context: RequestContext, agent_id: str) -> list[dict[str, Any]]:
        """The routers the agent hosts, with their basic attributes (the admin asks by agent;
        the full view is `GET /v2.0/routers/{id}`)."""
        self._require_edge()
        with self._store.transaction() as unit:
            self._any_agent(unit, context, agent_id, "get_l3-routers")
            ids = scheduling.routers_of(unit, agent_id)
            rows = agent_queries.routers(unit.session, ids)
            return [
                {
                    **named_view(row),
                    "admin_state_up": row.admin_state_up,
                    "status": row.status,
                    "revision_number": row.revision_number,
                    **zones.router_attributes(unit, row.id),
                }
                for row in sorted(rows, key=lambda r: r.id)
            ]

    def add_router(self, context: RequestContext, agent_id: str, body: Any) -> None:
        """Neutron's legacy routers: one agent each. Adding a router to the agent already
        hosting it changes nothing; to another agent is a 409."""
        self._require_edge()
        router_id = _hosted_id(body, "router")
        try:
            with self._store.transaction() as unit:
                agent = self._typed_agent(unit, context, agent_id, L3, "create_l3-router")
                if unit.session.get(RouterRow, router_id) is None:
                    raise self._router_not_found(router_id)
                if not agent.admin_state_up:
                    raise self._invalid_agent(agent_id, L3)
                current = scheduling.l3_agent_id(unit, router_id)
                if current == agent_id:
                    return
                if current is not None:
                    raise self._router_hosted(router_id, current)
                scheduling.bind_router(unit, router_id, agent_id)
        except Collision:
            raise self._router_hosted(router_id, "another agent") from None

    @staticmethod
    def _router_not_found(router_id: str) -> NeutronNotFound:
        return NeutronNotFound(f"Router {router_id} could not be found", "RouterNotFound")

    @staticmethod
    def _router_hosted(router_id: str, agent_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"The router {router_id} has been already hosted by the L3 Agent {agent_id}.",
            "RouterHostedByL3Agent",
        )

    def remove_router(self, context: RequestContext, agent_id: str, router_id: str) -> None:
        self._require_edge()
        with self._store.transaction() as unit:
            self._any_agent(unit, context, agent_id, "delete_l3-router")
            if scheduling.l3_agent_id(unit, router_id) != agent_id:
                raise NeutronConflict(
                    f"The router {router_id} is not hosted by L3 agent {agent_id}.",
                    "RouterNotHostedByL3Agent",
                )
            scheduling.unbind_router(unit, router_id)

    def l3_agents_of_router(self, context: RequestContext, router_id: str) -> list[dict[str, Any]]:
        self._require_edge()
        self._policy.authorize("get_l3-agents", context, {})
        with self._store.transaction() as unit:
            if unit.session.get(RouterRow, router_id) is None:
                raise self._router_not_found(router_id)
            agent_id = scheduling.l3_agent_id(unit, router_id)
            row = unit.session.get(AgentRow, agent_id) if agent_id else None
            return [agent_view(row)] if row is not None else []


def _hosted_id(body: Any, kind: str) -> str:
    """The id in the `{'<kind>_id': <id>}` body that asks an agent to host a network or router."""
    value = body.get(f"{kind}_id") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise NeutronBadRequest(f"Resource body required: {{'{kind}_id': <{kind} id>}}.")
    return value


class AgentReporter:
    """The heartbeat of one edge node's three agents, for the edge sync to call.

    `report()` after every apply and at least every `REPORT_INTERVAL` seconds when idle
    (`due()` says when); `started_at` is fixed at construction, so only the first report is
    the agents' start. A failed report is logged: it must never stop the data plane.
    """

    def __init__(
        self,
        agents: AgentService,
        *,
        availability_zone: str,
        host: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._agents = agents
        self.host = host or socket.gethostname()
        self._zone = availability_zone
        self._clock = clock
        self.started_at = clock().replace(microsecond=0)
        self.last_report: datetime | None = None

    def due(self) -> bool:
        """Whether an idle node should report now to stay alive."""
        last = self.last_report
        return last is None or (self._clock() - last).total_seconds() >= REPORT_INTERVAL

    def report(self, configurations: dict[str, dict[str, Any]] | None = None) -> bool:
        """Report the three agents (`configurations` by agent type, e.g. counts of what the
        last apply programmed); returns whether every report was recorded."""
        ok = True
        for agent_type in TOPICS:
            try:
                self._agents.report_state(
                    agent_type,
                    self.host,
                    configurations=(configurations or {}).get(agent_type, {}),
                    availability_zone=self._zone,
                    started_at=self.started_at,
                )
            except Exception:  # the data plane must go on even when the database does not
                LOG.exception("could not report the %s of %s", agent_type, self.host)
                ok = False
        if ok:
            self.last_report = self._clock()
        return ok
