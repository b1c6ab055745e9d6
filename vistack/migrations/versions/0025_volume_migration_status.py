"""volume migration status: Cinder's `migration_status` of a volume

`migrating` while the volume service moves an attached volume onto another disk through Nova's
swap, `target:<id>` on the temporary volume it moves volume <id> onto (hidden from listings),
then `success` or `error`. Nova accepts a swap only for such a pair (OSSN-0094).

Revision ID: 0025_volume_migration_status
Revises: 0024_network_auto_allocation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_volume_migration_status"
down_revision = "0024_network_auto_allocation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.add_column(sa.Column("migration_status", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volume_volume", schema=None) as batch_op:
        batch_op.drop_column("migration_status")
