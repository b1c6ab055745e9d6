"""Key/value spec rows owned by a type: a volume type's extra specs and a group type's group
specs are the same table shape (owner id, key, value), so one set of queries serves both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from vistack.volume.db.store import VolumeUnit


class SpecRows:
    """The queries on one spec table: `row` is its mapped class, `owner` the name of the
    column holding the owning type's id."""

    def __init__(self, row: type[Any], owner: str) -> None:
        self._row = row
        self._owner = owner

    def of(self, unit: VolumeUnit, owner_id: str) -> dict[str, str]:
        column = getattr(self._row, self._owner)
        rows = unit.session.scalars(select(self._row).where(column == owner_id)).all()
        return {row.key: row.value for row in rows}

    def all(self, unit: VolumeUnit) -> dict[str, dict[str, str]]:
        """Every owner's specs, by owner id (one query for a whole list)."""
        out: dict[str, dict[str, str]] = {}
        for row in unit.session.scalars(select(self._row)).all():
            out.setdefault(getattr(row, self._owner), {})[row.key] = row.value
        return out

    def set(self, unit: VolumeUnit, owner_id: str, specs: dict[str, str]) -> None:
        for key, value in specs.items():
            row = unit.session.get(self._row, (owner_id, key))
            if row is None:
                unit.add(self._row(**{self._owner: owner_id, "key": key, "value": value}))
            else:
                row.value = value
        unit.flush()

    def delete(self, unit: VolumeUnit, owner_id: str, key: str) -> bool:
        column = getattr(self._row, self._owner)
        result = unit.session.execute(
            delete(self._row).where(column == owner_id, self._row.key == key)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
