"""Units of work for a service's tables: one transaction each, a duplicate key becoming
`Collision`, and the per-project lock row that makes quota-checked creates exact.

Nova and Cinder each keep their own lock table (`compute_project_lock`, `volume_project_lock`)
but the unit and the store around it are the same; a service subclasses `UnitOfWork` with its
lock row and `UnitStore` with its unit. Domain modules never touch SQLAlchemy: they call their
service's query modules with the unit a transaction gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.db import Base, Database


class Collision(Exception):
    """A write met a unique key or a foreign key another transaction holds."""


class UnitOfWork:
    """One transaction's session, with the few generic writes every domain module needs.

    `lock_row` is the service's table of one row per project (`project_id`, `generation`).
    """

    lock_row: ClassVar[Any]

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
        (`UnitStore.ensure_project`); one that did not gets it made here, under a savepoint
        so a concurrent first insert only sends it back to waiting on the row.
        """
        row = self.lock_row
        bump = update(row).where(row.project_id == project_id).values(generation=row.generation + 1)
        if self.session.execute(bump).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.add(row(project_id=project_id, generation=0))
        except IntegrityError:
            self.session.execute(bump)  # made meanwhile by another: wait for its lock


U = TypeVar("U", bound=UnitOfWork)


class UnitStore(Generic[U]):
    """Opens units of work (of `unit_class`) on the database."""

    unit_class: type[U]

    def __init__(self, database: Database) -> None:
        self._database = database
        #: Projects whose lock row this process has seen exist: lock rows are never deleted
        #: (and `lock_project` makes a missing one), so each is looked for once, not on every
        #: create.
        self._ensured: set[str] = set()

    def ensure_project(self, project_id: str) -> None:
        """Make the project's lock row exist (idempotent, race-safe), in its own transaction."""
        if project_id in self._ensured:
            return
        row = self.unit_class.lock_row
        try:
            with self._database.transaction() as session:
                if session.get(row, project_id) is None:
                    session.add(row(project_id=project_id, generation=0))
        except IntegrityError:
            pass  # a concurrent request made it: that is all this wanted
        self._ensured.add(project_id)

    @contextmanager
    def transaction(self) -> Iterator[U]:
        """A unit that commits on success; a collision at commit is a `Collision` too."""
        try:
            with self._database.transaction() as session:
                yield self.unit_class(session)
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc
