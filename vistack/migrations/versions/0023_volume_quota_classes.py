"""volume quota classes: class limits and per-volume-type limits of projects and classes

Revision ID: 0023_volume_quota_classes
Revises: 0022_volume_default_types
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_volume_quota_classes"
down_revision = "0022_volume_default_types"
branch_labels = None
depends_on = None


def _type_limits(table: str, holder: str, holder_type: sa.types.TypeEngine) -> None:  # type: ignore[type-arg]
    op.create_table(
        table,
        sa.Column(holder, holder_type, nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_type.id"],
            name=op.f(f"fk_{table}_volume_type_id_volume_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(holder, "volume_type_id", "resource", name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(f"ix_{table}_volume_type_id"), ["volume_type_id"], unique=False
        )


def upgrade() -> None:
    op.create_table(
        "volume_quota_class",
        sa.Column("class_name", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_name", "resource", name=op.f("pk_volume_quota_class")),
    )
    _type_limits("volume_type_quota", "project_id", sa.String(length=64))
    _type_limits("volume_type_quota_class", "class_name", sa.String(length=255))


def downgrade() -> None:
    for table in ("volume_type_quota_class", "volume_type_quota"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_volume_type_id"))
        op.drop_table(table)
    op.drop_table("volume_quota_class")
