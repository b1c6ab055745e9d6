"""compute block device mappings (volume attachments and boot from volume)

Revision ID: 0017_compute_bdm
Revises: 0016_volume
Create Date: 2026-11-24 16:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0017_compute_bdm"
# The lead chains this after Cinder's 0016 migration once it lands (one head only).
down_revision = "0016_volume"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_block_device_mapping",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("boot_index", sa.Integer(), nullable=True),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("destination_type", sa.String(length=16), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("volume_size", sa.Integer(), nullable=True),
        sa.Column("volume_type", sa.String(length=255), nullable=True),
        sa.Column("device_name", sa.String(length=255), nullable=True),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("attachment_id", sa.String(length=36), nullable=True),
        sa.Column("nova_created", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["compute_server.id"],
            name=op.f("fk_compute_block_device_mapping_server_id_compute_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_block_device_mapping")),
        sa.UniqueConstraint("uuid", name=op.f("uq_compute_block_device_mapping_uuid")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("compute_block_device_mapping", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_block_device_mapping_server_id"), ["server_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compute_block_device_mapping_volume_id"), ["volume_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("compute_block_device_mapping")
