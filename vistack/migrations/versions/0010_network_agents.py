"""agents and availability zones

Revision ID: 0010_network_agents
Revises: 0009_network_l3
Create Date: 2026-11-24 02:50:00
"""

from __future__ import annotations

revision = "0010_network_agents"
down_revision = "0009_network_l3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Placeholder until the agents work fills it in (the chain is fixed so work can run in parallel)."""


def downgrade() -> None:
    """Placeholder, see upgrade()."""
