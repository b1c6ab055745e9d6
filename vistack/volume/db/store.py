"""Units of work on Cinder's tables: one transaction each, a duplicate key becoming `Collision`.

Domain modules never touch SQLAlchemy; they call `db/queries.py` with the `VolumeUnit` a
transaction gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.db import Base, Database
from vistack.volume.db.tables import VolumeProjectLockRow


class Collision(Exception):
    """A write met a unique key or a foreign key another transaction holds."""


class VolumeUnit:
    """One transaction's session, with the generic writes every domain module needs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.flush()

    def delete(self, row: Base) -> None:
        self.session.delete(row)
        self.flush()

    def flush(self) -> None:
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc

    def lock_project(self, project_id: str) -> None:
        """Serialise this project's quota-checked creates from here to commit.

        It must be the transaction's first statement: a locking UPDATE takes no snapshot, so on
        MariaDB (repeatable read) the usage read after it sees every create committed before
        the lock was granted. `VolumeStore.ensure_project` makes the row beforehand; should it
        be missing, it is made here under a savepoint (a concurrent insert just means waiting).
        """
        bump = (
            update(VolumeProjectLockRow)
            .where(VolumeProjectLockRow.project_id == project_id)
            .values(generation=VolumeProjectLockRow.generation + 1)
        )
        if self.session.execute(bump).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.add(VolumeProjectLockRow(project_id=project_id, generation=0))
        except IntegrityError:
            self.session.execute(bump)


class VolumeStore:
    """Opens units of work on the database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def ensure_project(self, project_id: str) -> None:
        """Make the project's lock row exist (idempotent, race-safe), in its own transaction."""
        try:
            with self._database.transaction() as session:
                if session.get(VolumeProjectLockRow, project_id) is None:
                    session.add(VolumeProjectLockRow(project_id=project_id, generation=0))
        except IntegrityError:
            pass  # made by a concurrent request: all this wanted

    @contextmanager
    def transaction(self) -> Iterator[VolumeUnit]:
        """A unit that commits on success; a collision at commit is a `Collision` too."""
        try:
            with self._database.transaction() as session:
                yield VolumeUnit(session)
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc
