"""Units of work on Nova's tables: one transaction each, a duplicate key becoming `Collision`.

Domain modules never touch SQLAlchemy; they call the query modules of this package
(`db/flavors.py`, `db/servers.py`...) with the `ComputeUnit` a transaction gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.db import Base, Database
from vistack.compute.db.tables import ComputeProjectLockRow


class Collision(Exception):
    """A write met a unique key or a foreign key another transaction holds."""


class ComputeUnit:
    """One transaction's session, with the few generic writes every domain module needs."""

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

        It must be the transaction's first statement: a locking UPDATE takes no snapshot, so
        on MariaDB (repeatable read) the quota counts read after it see every create committed
        before the lock was granted. Callers make the row beforehand in its own transaction
        (`ComputeStore.ensure_project`); one that did not gets it made here, under a savepoint
        so a concurrent first insert only sends it back to waiting on the row.
        """
        bump = (
            update(ComputeProjectLockRow)
            .where(ComputeProjectLockRow.project_id == project_id)
            .values(generation=ComputeProjectLockRow.generation + 1)
        )
        if self.session.execute(bump).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.add(ComputeProjectLockRow(project_id=project_id, generation=0))
        except IntegrityError:
            self.session.execute(bump)  # made meanwhile by another: wait for its lock


class ComputeStore:
    """Opens units of work on the database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def ensure_project(self, project_id: str) -> None:
        """Make the project's lock row exist (idempotent, race-safe), in its own transaction."""
        try:
            with self._database.transaction() as session:
                if session.get(ComputeProjectLockRow, project_id) is None:
                    session.add(ComputeProjectLockRow(project_id=project_id, generation=0))
        except IntegrityError:
            pass  # a concurrent request made it: that is all this wanted

    @contextmanager
    def transaction(self) -> Iterator[ComputeUnit]:
        """A unit that commits on success; a collision at commit is a `Collision` too."""
        try:
            with self._database.transaction() as session:
                yield ComputeUnit(session)
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc
