"""The reads and writes every Cinder resource table with an `id`, a `status` and a
`created_at` gets the same way (volumes, snapshots, groups, group snapshots), stated once: the
locked read that serialises the changes of one resource, the conditional status write, and the
oldest-first list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select, update

from vistack.volume.db.store import VolumeUnit

R = TypeVar("R")


def one(unit: VolumeUnit, table: type[R], ident: str, *, lock: bool = False) -> R | None:
    """The row; with `lock`, held until commit so that state changes of one resource
    serialise. The lock is a no-op UPDATE first: on MariaDB and PostgreSQL it takes the row
    lock, and on SQLite it makes this transaction the writer before it reads (a read first
    would see a snapshot a concurrent writer may have made stale)."""
    mapped: Any = table
    if lock:
        unit.session.execute(
            update(mapped)
            .where(mapped.id == ident)
            .values(updated_at=mapped.updated_at)
            .execution_options(synchronize_session=False)
        )
    query = select(mapped).where(mapped.id == ident)
    if lock:
        query = query.with_for_update()
    found: R | None = unit.session.scalars(query).first()
    return found


def set_status(
    unit: VolumeUnit, table: type[Any], ident: str, expected: Sequence[str], **values: object
) -> bool:
    """Change a row only if its status is one of `expected` (a conditional write: two
    requests racing on one resource cannot both win). Returns whether it changed."""
    mapped: Any = table
    result = unit.session.execute(
        update(mapped)
        .where(mapped.id == ident, mapped.status.in_(list(expected)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    unit.session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def oldest_first(unit: VolumeUnit, table: type[R], **equal: str | None) -> Sequence[R]:
    """The rows, oldest first (ties by id), whose named columns equal the values given; a
    None value filters nothing (every project's rows, for `project_id=None`)."""
    mapped: Any = table
    query = select(mapped).order_by(mapped.created_at, mapped.id)
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(mapped, column) == value)
    rows: Sequence[R] = unit.session.scalars(query).all()
    return rows
