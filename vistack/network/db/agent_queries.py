"""The queries of the agents API and of heartbeats (rows of `agent_tables`, routers by id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vistack.network.db.agent_tables import AgentRow
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
