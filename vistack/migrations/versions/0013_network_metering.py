"""metering labels and rules

Revision ID: 0013_network_metering
Revises: 0012_network_port_dhcp_options
Create Date: 2026-11-24 03:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_network_metering"
down_revision = "0012_network_port_dhcp_options"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_metering_label",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_metering_label")),
    )
    with op.batch_alter_table("network_metering_label", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_metering_label_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "network_metering_label_rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("metering_label_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("source_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("destination_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metering_label_id"],
            ["network_metering_label.id"],
            name=op.f("fk_network_metering_label_rule_metering_label_id_network_metering_label"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_metering_label_rule")),
    )
    with op.batch_alter_table("network_metering_label_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_metering_label_rule_metering_label_id"),
            ["metering_label_id"],
            unique=False,
        )


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping the index first fails on MariaDB while a
    # foreign key still needs it.
    op.drop_table("network_metering_label_rule")
    op.drop_table("network_metering_label")
