"""Queries on migrations (`compute_migration`) and on the move a server keeps between the steps
of a resize or a migration (its `system_metadata["move"]`).

A migration is what `os-migrations` lists and what a restart reads to finish or undo a move;
the server's `move` entry holds the rest (flavors, the disk kept for a revert, the step
reached), merged into `system_metadata` so other features' entries stay untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from vistack.common.clock import utcnow
from vistack.compute.db.lifecycle_tables import MigrationRow
from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerRow

#: The `system_metadata` key of a move in progress or awaiting confirmation.
MOVE_KEY = "move"


@dataclass(frozen=True)
class Migration:
    """One move of a server, as `os-migrations` shows it."""

    id: int
    uuid: str
    server_id: str
    project_id: str
    user_id: str
    migration_type: str
    status: str
    source_compute: str | None
    dest_compute: str | None
    source_node: str | None
    dest_node: str | None
    dest_host: str | None
    old_flavor_id: str | None
    new_flavor_id: str | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class MigrationQuery:
    """The filters of `GET /os-migrations` (None: not filtered), and its page."""

    host: str | None = None
    status: str | None = None
    migration_type: str | None = None
    instance_uuid: str | None = None
    source_compute: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    #: Newest first with a marker and a limit (2.59), else oldest first (Nova's DB order).
    newest_first: bool = False
    limit: int | None = None
    marker: str | None = None


def to_migration(row: MigrationRow) -> Migration:
    return Migration(
        id=row.id,
        uuid=row.uuid,
        server_id=row.server_id,
        project_id=row.project_id,
        user_id=row.user_id,
        migration_type=row.migration_type,
        status=row.status,
        source_compute=row.source_compute,
        dest_compute=row.dest_compute,
        source_node=row.source_node,
        dest_node=row.dest_node,
        dest_host=row.dest_host,
        old_flavor_id=row.old_flavor_id,
        new_flavor_id=row.new_flavor_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def add(
    unit: ComputeUnit,
    server: ServerRow,
    migration_type: str,
    status: str,
    *,
    dest: str | None,
    old_flavor_id: str | None,
    new_flavor_id: str | None,
) -> Migration:
    """Record a new move of `server` from where it is to `dest` (a cluster)."""
    now = utcnow()
    row = MigrationRow(
        uuid=str(uuid.uuid4()),
        server_id=server.id,
        project_id=server.project_id,
        user_id=server.user_id,
        migration_type=migration_type,
        status=status,
        source_compute=server.cluster,
        source_node=server.cluster,
        dest_compute=dest,
        dest_node=dest,
        dest_host=None,
        old_flavor_id=old_flavor_id,
        new_flavor_id=new_flavor_id,
        created_at=now,
        updated_at=now,
    )
    unit.add(row)
    return to_migration(row)


def get(unit: ComputeUnit, migration_id: int) -> Migration | None:
    row = unit.session.get(MigrationRow, migration_id)
    return to_migration(row) if row is not None else None


def set_status(
    unit: ComputeUnit, migration_id: int, status: str, *, only_from: Sequence[str] = ()
) -> bool:
    """Move a migration to `status` (only from one of `only_from` when given); False when
    nothing was written."""
    statement = update(MigrationRow).where(MigrationRow.id == migration_id)
    if only_from:
        statement = statement.where(MigrationRow.status.in_(tuple(only_from)))
    result = unit.session.execute(
        statement.values(status=status, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_dest(unit: ComputeUnit, migration_id: int, dest: str) -> None:
    unit.session.execute(
        update(MigrationRow)
        .where(MigrationRow.id == migration_id)
        .values(dest_compute=dest, dest_node=dest, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def of_server(
    unit: ComputeUnit,
    server_id: str,
    *,
    statuses: Sequence[str] | None = None,
    migration_type: str | None = None,
) -> list[Migration]:
    """A server's migrations, newest first, optionally only in `statuses` / of one type."""
    query = select(MigrationRow).where(MigrationRow.server_id == server_id)
    if statuses is not None:
        query = query.where(MigrationRow.status.in_(tuple(statuses)))
    if migration_type is not None:
        query = query.where(MigrationRow.migration_type == migration_type)
    query = query.order_by(MigrationRow.id.desc())
    return [to_migration(r) for r in unit.session.scalars(query)]


def in_status(unit: ComputeUnit, statuses: Sequence[str]) -> list[Migration]:
    """Migrations of live servers in one of `statuses` (what a restart resumes)."""
    query = (
        select(MigrationRow)
        .join(ServerRow, ServerRow.id == MigrationRow.server_id)
        .where(MigrationRow.status.in_(tuple(statuses)), ServerRow.deleted_at.is_(None))
        .order_by(MigrationRow.id)
    )
    return [to_migration(r) for r in unit.session.scalars(query)]


def uuid_exists(unit: ComputeUnit, migration_uuid: str) -> bool:
    query = select(MigrationRow.id).where(MigrationRow.uuid == migration_uuid)
    return unit.session.scalar(query) is not None


def listing(unit: ComputeUnit, asked: MigrationQuery) -> list[Migration]:
    """The migrations `asked` selects, in its order, at most `asked.limit` of them."""
    query = select(MigrationRow)
    if asked.host is not None:
        query = query.where(
            or_(MigrationRow.source_compute == asked.host, MigrationRow.dest_compute == asked.host)
        )
    for column, value in (
        (MigrationRow.status, asked.status),
        (MigrationRow.migration_type, asked.migration_type),
        (MigrationRow.server_id, asked.instance_uuid),
        (MigrationRow.source_compute, asked.source_compute),
        (MigrationRow.user_id, asked.user_id),
        (MigrationRow.project_id, asked.project_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if asked.changes_since is not None:
        query = query.where(MigrationRow.updated_at >= asked.changes_since)
    if asked.changes_before is not None:
        query = query.where(MigrationRow.updated_at <= asked.changes_before)
    if asked.newest_first:
        if asked.marker is not None:
            marker = unit.session.scalars(
                select(MigrationRow).where(MigrationRow.uuid == asked.marker)
            ).first()
            if marker is not None:
                query = query.where(
                    or_(
                        MigrationRow.created_at < marker.created_at,
                        (MigrationRow.created_at == marker.created_at)
                        & (MigrationRow.id < marker.id),
                    )
                )
        query = query.order_by(MigrationRow.created_at.desc(), MigrationRow.id.desc())
    else:
        query = query.order_by(MigrationRow.id)
    if asked.limit is not None:
        query = query.limit(asked.limit)
    return [to_migration(r) for r in unit.session.scalars(query)]


# ---------------------------------------------------------------------- the server's move


def move_of(row: ServerRow) -> dict[str, Any] | None:
    """The move a server keeps (None when none is in progress or awaiting confirmation)."""
    entry = (row.system_metadata or {}).get(MOVE_KEY)
    return dict(entry) if isinstance(entry, dict) else None


def read_move(unit: ComputeUnit, server_id: str) -> dict[str, Any] | None:
    row = unit.session.get(ServerRow, server_id)
    return move_of(row) if row is not None else None


def write_move(unit: ComputeUnit, server_id: str, move: dict[str, Any] | None) -> None:
    """Set (or with None, drop) the server's move, keeping the other `system_metadata` keys;
    the row is read locked, so a concurrent writer of another key is not lost."""
    query = (
        select(ServerRow.system_metadata)
        .where(ServerRow.id == server_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    current = unit.session.execute(query).scalar()
    merged = dict(current or {})
    if move is None:
        merged.pop(MOVE_KEY, None)
    else:
        merged[MOVE_KEY] = move
    unit.session.execute(
        update(ServerRow).where(ServerRow.id == server_id).values(system_metadata=merged),
        execution_options={"synchronize_session": False},
    )
