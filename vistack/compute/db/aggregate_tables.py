"""Host aggregates (`os-aggregates`): named groups of compute hosts (clusters) with metadata,
some of them availability zones. Their schema is owned by Alembic (`0014_compute`).

The zone is a column of the aggregate rather than a metadata row, as Nova's API shows it in
both places: one place to write means the two can never disagree. Aggregates are deleted for
good (Nova's soft delete shows nothing the API needs); their ids are never reused, so a client
holding a deleted aggregate's id gets 404, never somebody else's aggregate.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.compute.db.tables import NAME


class AggregateRow(Base):
    """An aggregate: integer ids as Nova shows them (uuids only from 2.41)."""

    __tablename__ = "compute_aggregate"
    #: AUTOINCREMENT on SQLite too, where a plain integer key would reuse a deleted highest id.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    #: The availability zone the aggregate puts its hosts in (None: it is not a zone).
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class AggregateHostRow(Base):
    """A compute host (a cluster's name, its `nova-compute` service's host) in an aggregate."""

    __tablename__ = "compute_aggregate_host"

    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_aggregate.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(NAME, primary_key=True, index=True)


class AggregateMetadataRow(Base):
    """One metadata item of an aggregate (the zone excepted: it is the aggregate's column)."""

    __tablename__ = "compute_aggregate_metadata"

    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_aggregate.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME)
