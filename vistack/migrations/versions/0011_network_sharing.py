"""rbac policies and subnet pools

Revision ID: 0011_network_sharing
Revises: 0010_network_agents
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0011_network_sharing"
down_revision = "0010_network_agents"
branch_labels = None
depends_on = None


def _stamp() -> sa.types.TypeEngine[Any]:
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql")
    )


def upgrade() -> None:
    op.create_table(
        "network_rbac",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_project", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["network_network.id"],
            name=op.f("fk_network_rbac_object_id_network_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_rbac")),
        sa.UniqueConstraint(
            "object_id", "action", "target_project", name=op.f("uq_network_rbac_object_id")
        ),
    )
    with op.batch_alter_table("network_rbac", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_rbac_object_id"), ["object_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_network_rbac_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_rbac_target_project"), ["target_project"], unique=False
        )

    op.create_table(
        "network_subnetpool",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("prefixes", sa.JSON(), nullable=False),
        sa.Column("default_prefixlen", sa.Integer(), nullable=False),
        sa.Column("min_prefixlen", sa.Integer(), nullable=False),
        sa.Column("max_prefixlen", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("default_of_version", sa.Integer(), nullable=True),
        sa.Column("default_quota", sa.Integer(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.Column("updated_at", _stamp(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_subnetpool")),
        sa.UniqueConstraint(
            "default_of_version", name=op.f("uq_network_subnetpool_default_of_version")
        ),
    )
    with op.batch_alter_table("network_subnetpool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_subnetpool_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "network_subnetpool_subnet",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("subnetpool_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["network_subnet.id"],
            name=op.f("fk_network_subnetpool_subnet_subnet_id_network_subnet"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnetpool_id"],
            ["network_subnetpool.id"],
            name=op.f("fk_network_subnetpool_subnet_subnetpool_id_network_subnetpool"),
        ),
        sa.PrimaryKeyConstraint("subnet_id", name=op.f("pk_network_subnetpool_subnet")),
    )
    with op.batch_alter_table("network_subnetpool_subnet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_subnetpool_subnet_subnetpool_id"),
            ["subnetpool_id"],
            unique=False,
        )

    _grant_existing_sharing()


def _grant_existing_sharing() -> None:
    """Networks already shared or external get the wildcard policy those flags now mean."""
    connection = op.get_bind()
    networks = sa.table(
        "network_network",
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("shared", sa.Boolean),
        sa.column("external", sa.Boolean),
    )
    rbac = sa.table(
        "network_rbac",
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("object_id", sa.String),
        sa.column("action", sa.String),
        sa.column("target_project", sa.String),
    )
    rows = []
    query = sa.select(networks.c.id, networks.c.project_id, networks.c.shared, networks.c.external)
    for network_id, project_id, shared, external in connection.execute(query):
        for action, flag in (("access_as_shared", shared), ("access_as_external", external)):
            if flag:
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "project_id": project_id,
                        "object_id": network_id,
                        "action": action,
                        "target_project": "*",
                    }
                )
    if rows:
        op.bulk_insert(rbac, rows)


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping an index that backs a foreign key first
    # is refused by MariaDB.
    op.drop_table("network_subnetpool_subnet")
    op.drop_table("network_subnetpool")
    op.drop_table("network_rbac")
