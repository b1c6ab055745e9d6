"""routers and floating IPs

Revision ID: 0009_network_l3
Revises: 0008_network_security_groups
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009_network_l3"
down_revision = "0008_network_security_groups"
branch_labels = None
depends_on = None


def _stamp(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name,
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "network_router",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gw_network_id", sa.String(length=36), nullable=True),
        sa.Column("enable_snat", sa.Boolean(), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gw_network_id"],
            ["network_network.id"],
            name=op.f("fk_network_router_gw_network_id_network_network"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_router")),
    )
    with op.batch_alter_table("network_router", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_router_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_router_gw_network_id"), ["gw_network_id"], unique=False
        )

    op.create_table(
        "network_floatingip",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["floating_network_id"],
            ["network_network.id"],
            name=op.f("fk_network_floatingip_floating_network_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["floating_port_id"],
            ["network_port.id"],
            name=op.f("fk_network_floatingip_floating_port_id_network_port"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["network_port.id"],
            name=op.f("fk_network_floatingip_port_id_network_port"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_router.id"],
            name=op.f("fk_network_floatingip_router_id_network_router"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_floatingip")),
        sa.UniqueConstraint(
            "floating_port_id", name=op.f("uq_network_floatingip_floating_port_id")
        ),
        sa.UniqueConstraint(
            "port_id", "fixed_ip_address", name=op.f("uq_network_floatingip_port_id")
        ),
    )
    with op.batch_alter_table("network_floatingip", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_floatingip_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_floatingip_floating_network_id"),
            ["floating_network_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_network_floatingip_port_id"), ["port_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_floatingip_router_id"), ["router_id"], unique=False
        )


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping them first fails on MariaDB, where an
    # index a foreign key needs cannot go before the key.
    op.drop_table("network_floatingip")
    op.drop_table("network_router")
