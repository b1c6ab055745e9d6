"""routers and floating IPs

Revision ID: 0009_network_l3
Revises: 0008_network_security_groups
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

revision = "0009_network_l3"
down_revision = "0008_network_security_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Placeholder until the L3 work fills it in (the chain is fixed so work can run in parallel)."""


def downgrade() -> None:
    """Placeholder, see upgrade()."""
