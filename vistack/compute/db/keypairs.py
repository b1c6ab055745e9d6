"""Queries on key pairs (the key pair domain calls these with its unit).

Names are compared exactly: MariaDB's binary collation still pads spaces, so a lookup re-checks
what the database matched.
"""

from __future__ import annotations

from sqlalchemy import select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import KeypairRow


def get(unit: ComputeUnit, user_id: str, name: str) -> KeypairRow | None:
    row = unit.session.get(KeypairRow, (user_id, name))
    return row if row is not None and row.name == name and row.user_id == user_id else None


def of_user(unit: ComputeUnit, user_id: str) -> list[KeypairRow]:
    query = select(KeypairRow).where(KeypairRow.user_id == user_id)
    return [row for row in unit.session.scalars(query) if row.user_id == user_id]


def create(unit: ComputeUnit, row: KeypairRow) -> None:
    """:raises Collision: the user has a key pair of that name (a concurrent create)."""
    unit.add(row)
