"""compute lifecycle: migrations, action events, server system metadata and lock reason

Revision ID: 0015_compute_lifecycle
Revises: 0014_compute
Create Date: 2026-11-24 13:30:18.362794
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015_compute_lifecycle"
down_revision = "0014_compute"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_migration",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("migration_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("source_compute", sa.String(length=255), nullable=True),
        sa.Column("dest_compute", sa.String(length=255), nullable=True),
        sa.Column("source_node", sa.String(length=255), nullable=True),
        sa.Column("dest_node", sa.String(length=255), nullable=True),
        sa.Column("dest_host", sa.String(length=255), nullable=True),
        sa.Column("old_flavor_id", sa.String(length=255), nullable=True),
        sa.Column("new_flavor_id", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["compute_server.id"],
            name=op.f("fk_compute_migration_server_id_compute_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_migration")),
        sa.UniqueConstraint("uuid", name=op.f("uq_compute_migration_uuid")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("compute_migration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_migration_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compute_migration_server_id"), ["server_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_compute_migration_status"), ["status"], unique=False)

    op.create_table(
        "compute_server_action_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column(
            "start_time",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "finish_time",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=True,
        ),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["compute_server_action.id"],
            name=op.f("fk_compute_server_action_event_action_id_compute_server_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_server_action_event")),
    )
    with op.batch_alter_table("compute_server_action_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_server_action_event_action_id"), ["action_id"], unique=False
        )

    with op.batch_alter_table("compute_server", schema=None) as batch_op:
        batch_op.add_column(sa.Column("system_metadata", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("locked_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_server", schema=None) as batch_op:
        batch_op.drop_column("locked_reason")
        batch_op.drop_column("system_metadata")
    # Tables only: dropping a table drops its indexes, and MariaDB refuses to drop an index
    # alone while a foreign key still uses it.
    op.drop_table("compute_server_action_event")
    op.drop_table("compute_migration")
