"""volume groups: group types and specs, groups and their volume types, group snapshots, and
the group of a volume and the group snapshot of a snapshot

Revision ID: 0021_volume_groups
Revises: 0020_volume_attachments_messages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0021_volume_groups"
down_revision = "0020_volume_attachments_messages"
branch_labels = None
depends_on = None


def _datetime() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql")
    )


def _id(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=36), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "volume_group_type",
        _id("id"),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_group_type")),
        sa.UniqueConstraint("name", name=op.f("uq_volume_group_type_name")),
    )
    op.create_table(
        "volume_group_type_spec",
        _id("group_type_id"),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_type_id"],
            ["volume_group_type.id"],
            name=op.f("fk_volume_group_type_spec_group_type_id_volume_group_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_type_id", "key", name=op.f("pk_volume_group_type_spec")),
    )
    op.create_table(
        "volume_group",
        _id("id"),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        _id("group_type_id"),
        _id("group_snapshot_id", nullable=True),
        _id("source_group_id", nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_group")),
    )
    with op.batch_alter_table("volume_group", schema=None) as batch_op:
        for column in ("project_id", "status", "group_type_id", "group_snapshot_id"):
            batch_op.create_index(batch_op.f(f"ix_volume_group_{column}"), [column], unique=False)
        batch_op.create_index(
            batch_op.f("ix_volume_group_source_group_id"), ["source_group_id"], unique=False
        )
    op.create_table(
        "volume_group_volume_type",
        _id("group_id"),
        _id("volume_type_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["volume_group.id"],
            name=op.f("fk_volume_group_volume_type_group_id_volume_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "volume_type_id", name=op.f("pk_volume_group_volume_type")
        ),
    )
    with op.batch_alter_table("volume_group_volume_type", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_group_volume_type_volume_type_id"),
            ["volume_type_id"],
            unique=False,
        )
    op.create_table(
        "volume_group_snapshot",
        _id("id"),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        _id("group_id"),
        _id("group_type_id"),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_group_snapshot")),
    )
    with op.batch_alter_table("volume_group_snapshot", schema=None) as batch_op:
        for column in ("project_id", "group_id", "status"):
            batch_op.create_index(
                batch_op.f(f"ix_volume_group_snapshot_{column}"), [column], unique=False
            )
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_volume_volume_group_id"), ["group_id"], unique=False)
    with op.batch_alter_table("volume_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_snapshot_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_volume_snapshot_group_snapshot_id"), ["group_snapshot_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("volume_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_snapshot_group_snapshot_id"))
        batch_op.drop_column("group_snapshot_id")
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_volume_group_id"))
        batch_op.drop_column("group_id")
    with op.batch_alter_table("volume_group_snapshot", schema=None) as batch_op:
        for column in ("status", "group_id", "project_id"):
            batch_op.drop_index(batch_op.f(f"ix_volume_group_snapshot_{column}"))
    op.drop_table("volume_group_snapshot")
    with op.batch_alter_table("volume_group_volume_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_group_volume_type_volume_type_id"))
    op.drop_table("volume_group_volume_type")
    with op.batch_alter_table("volume_group", schema=None) as batch_op:
        for column in (
            "source_group_id",
            "group_snapshot_id",
            "group_type_id",
            "status",
            "project_id",
        ):
            batch_op.drop_index(batch_op.f(f"ix_volume_group_{column}"))
    op.drop_table("volume_group")
    op.drop_table("volume_group_type_spec")
    op.drop_table("volume_group_type")
