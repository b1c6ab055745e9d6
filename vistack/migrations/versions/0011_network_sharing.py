"""rbac policies and subnet pools

Revision ID: 0011_network_sharing
Revises: 0010_network_agents
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

revision = "0011_network_sharing"
down_revision = "0010_network_agents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Placeholder until the sharing work fills it in (the chain is fixed so work can run in parallel)."""


def downgrade() -> None:
    """Placeholder, see upgrade()."""
