"""The records of a server's moves and of its actions' steps: migrations (`os-migrations`,
written by resize, cold and live migration) and instance action events
(`os-instance-actions/{request_id}`). Their schema is owned by Alembic (`0015_compute_lifecycle`).

A migration row is the durable half of a move: it says where the server came from and where it
goes, so a restart in the middle of a resize or a migration knows what to finish or undo, and
`confirmResize`/`revertResize` know which flavor and cluster to go back to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.compute.db.tables import ID, NAME, PROJECT


class MigrationRow(Base):
    """One move of a server: a resize (same or another cluster), a cold or a live migration."""

    __tablename__ = "compute_migration"
    #: AUTOINCREMENT on SQLite too: Nova shows integer ids, never reused.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(ID, unique=True)
    server_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    #: `resize`, `migration` or `live-migration`, as Nova names them.
    migration_type: Mapped[str] = mapped_column(String(32))
    #: Nova's statuses: pre-migrating, migrating, finished, confirmed, reverted, error, ...
    status: Mapped[str] = mapped_column(String(32), index=True)
    source_compute: Mapped[str | None] = mapped_column(NAME)
    dest_compute: Mapped[str | None] = mapped_column(NAME)
    source_node: Mapped[str | None] = mapped_column(NAME)
    dest_node: Mapped[str | None] = mapped_column(NAME)
    dest_host: Mapped[str | None] = mapped_column(NAME)
    old_flavor_id: Mapped[str | None] = mapped_column(NAME)
    new_flavor_id: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class ServerActionEventRow(Base):
    """One step of an action (`compute_resize_instance`, `compute_live_migration`, ...)."""

    __tablename__ = "compute_server_action_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_server_action.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime] = mapped_column(PreciseDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    result: Mapped[str | None] = mapped_column(String(16))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(NAME)
    details: Mapped[str | None] = mapped_column(Text)
