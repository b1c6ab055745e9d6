"""volume: volumes, types (extra specs, access), attachments, snapshots and quotas

Revision ID: 0016_volume
Revises: 0015_compute_lifecycle
Create Date: 2026-11-24 16:27:17.403475
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0016_volume"
down_revision = "0015_compute_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volume_project_lock",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_volume_project_lock")),
    )
    op.create_table(
        "volume_quota",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name=op.f("pk_volume_quota")),
    )
    op.create_table(
        "volume_snapshot",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("progress", sa.String(length=8), nullable=False),
        sa.Column("metadata_items", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_snapshot")),
    )
    with op.batch_alter_table("volume_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_snapshot_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_volume_snapshot_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_volume_snapshot_volume_id"), ["volume_id"], unique=False
        )

    op.create_table(
        "volume_type",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_type")),
        sa.UniqueConstraint("name", name=op.f("uq_volume_type_name")),
    )
    op.create_table(
        "volume_volume",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attach_status", sa.String(length=32), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("readonly", sa.Boolean(), nullable=True),
        sa.Column("multiattach", sa.Boolean(), nullable=False),
        sa.Column("source_volid", sa.String(length=36), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("image_id", sa.String(length=64), nullable=True),
        sa.Column("metadata_items", sa.JSON(), nullable=False),
        sa.Column("image_metadata", sa.JSON(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("datastore", sa.String(length=255), nullable=True),
        sa.Column("provisioning", sa.String(length=32), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_volume")),
    )
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_volume_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_volume_volume_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_volume_volume_volume_type_id"), ["volume_type_id"], unique=False
        )

    op.create_table(
        "volume_attachment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=True),
        sa.Column("host_name", sa.String(length=255), nullable=True),
        sa.Column("device", sa.String(length=255), nullable=True),
        sa.Column("attach_status", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column(
            "attached_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volume_volume.id"],
            name=op.f("fk_volume_attachment_volume_id_volume_volume"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_attachment")),
    )
    with op.batch_alter_table("volume_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_attachment_server_id"), ["server_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_volume_attachment_volume_id"), ["volume_id"], unique=False
        )

    op.create_table(
        "volume_type_access",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["volume_type.id"],
            name=op.f("fk_volume_type_access_type_id_volume_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", "project_id", name=op.f("pk_volume_type_access")),
    )
    with op.batch_alter_table("volume_type_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_type_access_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "volume_type_extra_spec",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["volume_type.id"],
            name=op.f("fk_volume_type_extra_spec_type_id_volume_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", "key", name=op.f("pk_volume_type_extra_spec")),
    )

    # Cinder's default volume type, as its own migration makes it: every volume has a type.
    default_type = sa.table(
        "volume_type",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("is_public", sa.Boolean),
        sa.column("created_at", sa.DateTime),
    )
    op.bulk_insert(
        default_type,
        [
            {
                "id": str(uuid.uuid4()),
                "name": "__DEFAULT__",
                "description": "Default Volume Type",
                "is_public": True,
                "created_at": datetime.now(UTC).replace(tzinfo=None),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("volume_type_extra_spec")
    with op.batch_alter_table("volume_type_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_type_access_project_id"))

    op.drop_table("volume_type_access")
    with op.batch_alter_table("volume_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_attachment_volume_id"))
        batch_op.drop_index(batch_op.f("ix_volume_attachment_server_id"))

    op.drop_table("volume_attachment")
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_volume_volume_type_id"))
        batch_op.drop_index(batch_op.f("ix_volume_volume_status"))
        batch_op.drop_index(batch_op.f("ix_volume_volume_project_id"))

    op.drop_table("volume_volume")
    op.drop_table("volume_type")
    with op.batch_alter_table("volume_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_snapshot_volume_id"))
        batch_op.drop_index(batch_op.f("ix_volume_snapshot_status"))
        batch_op.drop_index(batch_op.f("ix_volume_snapshot_project_id"))

    op.drop_table("volume_snapshot")
    op.drop_table("volume_quota")
    op.drop_table("volume_project_lock")
