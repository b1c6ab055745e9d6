"""Sharing tables: network RBAC policies and subnet pools (schema in migration 0011).

Races are settled by keys, as in tables.py: one policy per (network, action, target)
(`network_rbac` unique key: two identical creates cannot both win), one default pool per IP
version (`default_of_version` unique, NULL on every non-default pool), and a pool a subnet
was allocated from cannot be deleted under it (`network_subnetpool_subnet` references the
pool without a cascade). Allocations from one pool are serialised by updating the pool's
`generation` first (see `Unit.lock_subnetpool`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.network.db.tables import ID, NAME, PROJECT, SubnetRow


class RbacPolicyRow(Base):
    """One grant of `action` on a network to `target_project` (a project id or `*`).

    `project_id` is the policy's own owner (who may show, update and delete it), not the
    network's. A wildcard `access_as_shared` row is what `shared: true` means.
    """

    __tablename__ = "network_rbac"
    __table_args__ = (UniqueConstraint("object_id", "action", "target_project"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    object_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(NAME, index=True)


class SubnetPoolRow(Base):
    """A subnet pool: prefixes (compacted CIDRs, one IP version) subnets are carved from."""

    __tablename__ = "network_subnetpool"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[list[str]] = mapped_column(JSON)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The IP version on the default pool of that version, NULL on every other pool.
    default_of_version: Mapped[int | None] = mapped_column(Integer, unique=True)
    #: Per-project allowance in addresses (IPv4) or /64s (IPv6); NULL: unlimited.
    default_quota: Mapped[int | None] = mapped_column(Integer)
    #: Bumped by every allocation and delete: the update is the pool's lock.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class SubnetPoolSubnetRow(Base):
    """Which pool a subnet was allocated from. Goes with its subnet (cascade); the pool side
    has no cascade, so a pool still holding subnets cannot be deleted, whatever races."""

    __tablename__ = "network_subnetpool_subnet"

    subnet_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_subnet.id", ondelete="CASCADE"), primary_key=True
    )
    subnetpool_id: Mapped[str] = mapped_column(ID, ForeignKey("network_subnetpool.id"), index=True)


# A subnet's pool, read with the subnet in the same SELECT (a correlated subquery), so every
# path that renders a subnet shows `subnetpool_id` without a query of its own. Read it with
# `subnetpool_of`: the attribute is added here, not in tables.py's class body.
SUBNETPOOL_ID = (
    select(SubnetPoolSubnetRow.subnetpool_id)
    .where(SubnetPoolSubnetRow.subnet_id == SubnetRow.id)
    .correlate_except(SubnetPoolSubnetRow)
    .scalar_subquery()
)
SubnetRow.subnetpool_id = column_property(SUBNETPOOL_ID)


def subnetpool_of(row: SubnetRow) -> str | None:
    """The id of the pool `row` was allocated from, or None."""
    value = getattr(row, "subnetpool_id", None)
    return value if isinstance(value, str) else None
