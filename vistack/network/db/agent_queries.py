"""The queries of the agents API and of heartbeats (rows of `agent_tables`, routers by id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vistack.network.db.agent_tables import (
    AgentRow,
    NetworkDhcpAgentRow,
    NetworkSchedulingRow,
    RouterL3AgentRow,
)
from vistack.network.db.l3_tables import RouterRow


def agent_of(session: Session, agent_type: str, host: str) -> AgentRow | None:
    query = select(AgentRow).where(AgentRow.agent_type == agent_type, AgentRow.host == host)
    return session.scalars(query).first()


def record_heartbeat(session: Session, agent_id: str, **values: Any) -> None:
    """An UPDATE statement, not an ORM change: the store's change listeners hear ORM flushes
    only, so a heartbeat does not wake the edge sync that sent it."""
    session.execute(update(AgentRow).where(AgentRow.id == agent_id).values(**values))


def agents(session: Session, ids: Sequence[str] | None = None) -> list[AgentRow]:
    """Every agent (or those of `ids`), by id."""
    query = select(AgentRow).order_by(AgentRow.id)
    if ids is not None:
        query = query.where(AgentRow.id.in_(ids))
    return list(session.scalars(query))


def routers(session: Session, ids: Sequence[str]) -> list[RouterRow]:
    return list(session.scalars(select(RouterRow).where(RouterRow.id.in_(ids))))


def agents_of_types(session: Session, agent_types: Sequence[str]) -> list[AgentRow]:
    """Every agent of these types (the zones are what they report)."""
    return list(session.scalars(select(AgentRow).where(AgentRow.agent_type.in_(agent_types))))


def hosting_zones(
    session: Session, resource: str, ids: Sequence[str] | None
) -> dict[str, list[str]]:
    """Network (`resource` "network") or router id → the zones of the agents hosting it."""
    binding: Any = NetworkDhcpAgentRow if resource == "network" else RouterL3AgentRow
    key = binding.network_id if resource == "network" else binding.router_id
    query = select(key, AgentRow.availability_zone).join(AgentRow, AgentRow.id == binding.agent_id)
    if ids is not None:
        query = query.where(key.in_(ids))
    out: dict[str, set[str]] = {}
    for resource_id, zone in session.execute(query):
        if zone:
            out.setdefault(resource_id, set()).add(zone)
    return {k: sorted(v) for k, v in out.items()}


def network_hints(session: Session, network_ids: Sequence[str] | None) -> dict[str, list[str]]:
    """Network id → its availability zone hints (networks that have scheduling state)."""
    query = select(NetworkSchedulingRow)
    if network_ids is not None:
        query = query.where(NetworkSchedulingRow.network_id.in_(network_ids))
    return {row.network_id: list(row.hints or []) for row in session.scalars(query)}
