"""Agent tables (edge backend): the agents running the data plane, which networks and routers
each one hosts, and the per-resource scheduling state (availability zone hints, manual
removals). Their schema is owned by Alembic (`0010_network_agents`).

The database decides the races here too: one agent per (type, host), a network at most once
per DHCP agent, and a router on at most one L3 agent (`router_id` is the binding's primary
key, Neutron's legacy routers), so two schedulers or two admins cannot double-host.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(36)
NAME = String(255)


class AgentRow(Base):
    """One agent of one host, upserted by its heartbeat (`AgentService.report_state`)."""

    __tablename__ = "network_agent"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    agent_type: Mapped[str] = mapped_column(NAME)
    binary: Mapped[str] = mapped_column(NAME)
    topic: Mapped[str] = mapped_column(NAME)
    host: Mapped[str] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(NAME, default="")
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    started_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(PreciseDateTime)
    resources_synced: Mapped[bool | None] = mapped_column(Boolean)


class NetworkDhcpAgentRow(Base):
    """A network served by a DHCP agent."""

    __tablename__ = "network_dhcp_agent_binding"

    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_agent.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class RouterL3AgentRow(Base):
    """A router hosted by an L3 agent (at most one: the router is the primary key)."""

    __tablename__ = "network_router_l3_agent_binding"

    router_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_router.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_agent.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class NetworkSchedulingRow(Base):
    """A network's scheduling state, present only when there is one.

    `hints` are its availability zone hints (set on create); `unhosted_at` is when an admin
    last removed it from its DHCP agent: it is not scheduled again automatically until it
    changes after that moment (a new or updated port or subnet), as Neutron reschedules only
    on such events.
    """

    __tablename__ = "network_network_scheduling"

    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), primary_key=True
    )
    hints: Mapped[list[str]] = mapped_column(JSON)
    unhosted_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class RouterSchedulingRow(Base):
    """A router's scheduling state, as `NetworkSchedulingRow` (an update of the router after
    `unhosted_at` makes it schedulable again)."""

    __tablename__ = "network_router_scheduling"

    router_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_router.id", ondelete="CASCADE"), primary_key=True
    )
    hints: Mapped[list[str]] = mapped_column(JSON)
    unhosted_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
