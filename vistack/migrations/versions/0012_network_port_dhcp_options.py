"""extra dhcp options of ports

Revision ID: 0012_network_port_dhcp_options
Revises: 0011_network_sharing
Create Date: 2026-11-24 03:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_network_port_dhcp_options"
down_revision = "0011_network_sharing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_port_dhcp_opt",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("opt_name", sa.String(length=64), nullable=False),
        sa.Column("ip_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opt_value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["network_port.id"],
            name=op.f("fk_network_port_dhcp_opt_port_id_network_port"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "port_id", "opt_name", "ip_version", name=op.f("pk_network_port_dhcp_opt")
        ),
    )


def downgrade() -> None:
    op.drop_table("network_port_dhcp_opt")
