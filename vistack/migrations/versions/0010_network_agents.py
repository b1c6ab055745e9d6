"""agents and availability zones

Revision ID: 0010_network_agents
Revises: 0009_network_l3
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010_network_agents"
down_revision = "0009_network_l3"
branch_labels = None
depends_on = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    """A microsecond-precision timestamp column, as `PreciseDateTime` maps it."""
    return sa.Column(
        name,
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "network_agent",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_type", sa.String(length=255), nullable=False),
        sa.Column("binary", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("configurations", sa.JSON(), nullable=False),
        _stamp("created_at"),
        _stamp("started_at"),
        _stamp("heartbeat_timestamp"),
        sa.Column("resources_synced", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_agent")),
        sa.UniqueConstraint("agent_type", "host", name=op.f("uq_network_agent_agent_type")),
    )

    op.create_table(
        "network_dhcp_agent_binding",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["network_agent.id"],
            name=op.f("fk_network_dhcp_agent_binding_agent_id_network_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_network.id"],
            name=op.f("fk_network_dhcp_agent_binding_network_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "network_id", "agent_id", name=op.f("pk_network_dhcp_agent_binding")
        ),
    )
    with op.batch_alter_table("network_dhcp_agent_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_dhcp_agent_binding_agent_id"), ["agent_id"], unique=False
        )

    op.create_table(
        "network_router_l3_agent_binding",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["network_agent.id"],
            name=op.f("fk_network_router_l3_agent_binding_agent_id_network_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_router.id"],
            name=op.f("fk_network_router_l3_agent_binding_router_id_network_router"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("router_id", name=op.f("pk_network_router_l3_agent_binding")),
    )
    with op.batch_alter_table("network_router_l3_agent_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_router_l3_agent_binding_agent_id"), ["agent_id"], unique=False
        )

    op.create_table(
        "network_network_scheduling",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("hints", sa.JSON(), nullable=False),
        _stamp("unhosted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_network.id"],
            name=op.f("fk_network_network_scheduling_network_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_network_network_scheduling")),
    )

    op.create_table(
        "network_router_scheduling",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("hints", sa.JSON(), nullable=False),
        _stamp("unhosted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_router.id"],
            name=op.f("fk_network_router_scheduling_router_id_network_router"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("router_id", name=op.f("pk_network_router_scheduling")),
    )


def downgrade() -> None:
    op.drop_table("network_router_scheduling")
    op.drop_table("network_network_scheduling")
    with op.batch_alter_table("network_router_l3_agent_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_router_l3_agent_binding_agent_id"))
    op.drop_table("network_router_l3_agent_binding")
    with op.batch_alter_table("network_dhcp_agent_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_dhcp_agent_binding_agent_id"))
    op.drop_table("network_dhcp_agent_binding")
    op.drop_table("network_agent")
