"""volume: transfers, QoS specs (and their volume type associations), type encryption specs

Revision ID: 0019_volume_transfers_qos
Revises: 0018_volume_backups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0019_volume_transfers_qos"
down_revision = "0018_volume_backups"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name,
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "volume_transfer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("crypt_hash", sa.String(length=128), nullable=False),
        sa.Column("no_snapshots", sa.Boolean(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volume_volume.id"],
            name=op.f("fk_volume_transfer_volume_id_volume_volume"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_transfer")),
    )
    with op.batch_alter_table("volume_transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volume_transfer_volume_id"), ["volume_id"])
        batch_op.create_index(batch_op.f("ix_volume_transfer_project_id"), ["project_id"])

    op.create_table(
        "volume_qos_spec",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("consumer", sa.String(length=16), nullable=False),
        sa.Column("specs", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_qos_spec")),
        sa.UniqueConstraint("name", name=op.f("uq_volume_qos_spec_name")),
    )
    op.create_table(
        "volume_type_qos",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("qos_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["volume_type.id"],
            name=op.f("fk_volume_type_qos_type_id_volume_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["qos_id"],
            ["volume_qos_spec.id"],
            name=op.f("fk_volume_type_qos_qos_id_volume_qos_spec"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", name=op.f("pk_volume_type_qos")),
    )
    with op.batch_alter_table("volume_type_qos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volume_type_qos_qos_id"), ["qos_id"])

    op.create_table(
        "volume_type_encryption",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("encryption_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("cipher", sa.String(length=255), nullable=True),
        sa.Column("key_size", sa.Integer(), nullable=True),
        sa.Column("control_location", sa.String(length=16), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["volume_type.id"],
            name=op.f("fk_volume_type_encryption_type_id_volume_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", name=op.f("pk_volume_type_encryption")),
        sa.UniqueConstraint("encryption_id", name=op.f("uq_volume_type_encryption_encryption_id")),
    )


def downgrade() -> None:
    op.drop_table("volume_type_encryption")
    with op.batch_alter_table("volume_type_qos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_type_qos_qos_id"))
    op.drop_table("volume_type_qos")
    op.drop_table("volume_qos_spec")
    with op.batch_alter_table("volume_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_transfer_project_id"))
        batch_op.drop_index(batch_op.f("ix_volume_transfer_volume_id"))
    op.drop_table("volume_transfer")
