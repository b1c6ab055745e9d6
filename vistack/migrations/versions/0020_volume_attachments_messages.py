"""volume attachments API (connector, connection_info) and user messages

Revision ID: 0020_volume_attachments_messages
Revises: 0019_volume_transfers_qos
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0020_volume_attachments_messages"
down_revision = "0019_volume_transfers_qos"
branch_labels = None
depends_on = None


def _datetime() -> sa.DateTime:
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), "mariadb")
        .with_variant(mysql.DATETIME(fsp=6), "mysql")
    )


def upgrade() -> None:
    with op.batch_alter_table("volume_attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connector", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("connection_info", sa.JSON(), nullable=True))

    op.create_table(
        "volume_message",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=True),
        sa.Column("resource_uuid", sa.String(length=36), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("message_level", sa.String(length=32), nullable=False),
        sa.Column("user_message", sa.Text(), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("expires_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_message")),
    )
    with op.batch_alter_table("volume_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_message_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_volume_message_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_volume_message_resource_uuid"), ["resource_uuid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("volume_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_message_resource_uuid"))
        batch_op.drop_index(batch_op.f("ix_volume_message_project_id"))
        batch_op.drop_index(batch_op.f("ix_volume_message_expires_at"))
    op.drop_table("volume_message")

    with op.batch_alter_table("volume_attachment", schema=None) as batch_op:
        batch_op.drop_column("connection_info")
        batch_op.drop_column("connector")
