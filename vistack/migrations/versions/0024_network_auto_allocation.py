"""network auto allocation: projects' auto-allocated topologies and the default external network

Revision ID: 0024_network_auto_allocation
Revises: 0023_volume_quota_classes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_network_auto_allocation"
down_revision = "0023_volume_quota_classes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_auto_topology",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_network.id"],
            name=op.f("fk_network_auto_topology_network_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_router.id"],
            name=op.f("fk_network_auto_topology_router_id_network_router"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_network_auto_topology")),
    )
    with op.batch_alter_table("network_auto_topology", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_auto_topology_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_auto_topology_router_id"), ["router_id"], unique=False
        )
    op.create_table(
        "network_default_external",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_network.id"],
            name=op.f("fk_network_default_external_network_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_network_default_external")),
        sa.UniqueConstraint("network_id", name=op.f("uq_network_default_external_network_id")),
    )


def downgrade() -> None:
    op.drop_table("network_default_external")
    with op.batch_alter_table("network_auto_topology", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_auto_topology_router_id"))
        batch_op.drop_index(batch_op.f("ix_network_auto_topology_network_id"))
    op.drop_table("network_auto_topology")
