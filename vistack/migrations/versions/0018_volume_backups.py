"""volume backups: the backup records of Cinder's backup API (data in the chunk store)

Revision ID: 0018_volume_backups
Revises: 0017_compute_bdm
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0018_volume_backups"
down_revision = "0017_compute_bdm"
branch_labels = None
depends_on = None


def _datetime() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql")
    )


def upgrade() -> None:
    op.create_table(
        "volume_backup",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("container", sa.String(length=255), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("fail_reason", sa.Text(), nullable=True),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("data_bytes", sa.BigInteger(), nullable=False),
        sa.Column("is_incremental", sa.Boolean(), nullable=False),
        sa.Column("metadata_items", sa.JSON(), nullable=False),
        sa.Column("data_timestamp", _datetime(), nullable=False),
        sa.Column("previous_status", sa.String(length=32), nullable=True),
        sa.Column("restore_volume_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_backup")),
    )
    with op.batch_alter_table("volume_backup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volume_backup_project_id"), ["project_id"])
        batch_op.create_index(batch_op.f("ix_volume_backup_volume_id"), ["volume_id"])
        batch_op.create_index(batch_op.f("ix_volume_backup_parent_id"), ["parent_id"])
        batch_op.create_index(batch_op.f("ix_volume_backup_status"), ["status"])


def downgrade() -> None:
    op.drop_table("volume_backup")
