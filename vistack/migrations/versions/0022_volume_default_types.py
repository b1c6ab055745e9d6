"""volume default types: a project's own default volume type (Cinder 3.62)

Revision ID: 0022_volume_default_types
Revises: 0021_volume_groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0022_volume_default_types"
down_revision = "0021_volume_groups"
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
        "volume_default_type",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_type.id"],
            name=op.f("fk_volume_default_type_volume_type_id_volume_type"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_volume_default_type")),
    )
    with op.batch_alter_table("volume_default_type", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_default_type_volume_type_id"), ["volume_type_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("volume_default_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_default_type_volume_type_id"))
    op.drop_table("volume_default_type")
