"""Database engines and sessions for SQLite (embedded), MariaDB and PostgreSQL.

One declarative `Base` holds every service's tables so Alembic sees one metadata. The engine is
tuned per backend here, once: SQLite gets WAL, a busy timeout and foreign keys (off by default in
SQLite); MariaDB gets utf8mb4 and pre-ping so a Galera failover does not surface as errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: How long a SQLite writer waits for another before giving up with "database is locked".
BUSY_TIMEOUT_SECONDS = 30

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Naive UTC timestamps with microseconds on every backend (MariaDB's DATETIME drops them unless
#: asked): token revocation compares issue times within the same second.
PreciseDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Declarative base of every vistack table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine configured for the backend named by `url`."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        SqliteWriteGate().install(engine)
        return engine
    kwargs.update(
        pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=3600
    )
    if parsed.get_backend_name() in {"mysql", "mariadb"}:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return create_engine(parsed, **kwargs)
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


class SqliteWriteGate:
    """Lets one connection of this process write to SQLite at a time, waiting in a fair queue.

    SQLite has one writer; a second one waits in SQLite's busy handler, which sleeps in growing
    steps (up to 100 ms) and polls. With many request threads writing at once (port creates at
    concurrency 16) those sleeps, not the work, bounded the rate. Here a writer takes a process
    lock before its first INSERT/UPDATE/DELETE (the statement that opens SQLite's write
    transaction) and releases it when that transaction ends, so threads queue on the lock and
    start the moment the writer before them commits. Other processes still meet the busy
    timeout. Reads never take the lock (WAL readers do not block the writer).
    """

    _WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection holding the lock

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._on_end)
        event.listen(engine, "rollback", self._on_end)
        # A connection going back to the pool ends whatever it had open.
        event.listen(engine, "checkin", self._on_checkin)
        event.listen(engine, "reset", self._on_checkin)

    def _before_execute(
        self, conn: Any, cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if not statement.lstrip()[:7].upper().startswith(self._WRITES):
            return
        owner = id(cursor.connection)
        if self._holder == owner:
            return
        # Bounded like SQLite's own busy timeout: should a writer ever wait on itself (a second
        # connection of the same thread), SQLite's error surfaces instead of a hang.
        if self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            self._holder = owner

    def _release(self, dbapi_connection: Any) -> None:
        if dbapi_connection is not None and self._holder == id(dbapi_connection):
            self._holder = None
            self._lock.release()

    def _on_end(self, conn: Any) -> None:
        self._release(conn.connection.dbapi_connection)

    def _on_checkin(self, dbapi_connection: Any, *_args: Any) -> None:
        self._release(dbapi_connection)


class Database:
    """An engine plus a session factory; `transaction()` is the only way code writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def listen_sessions(self, identifier: str, listener: Any) -> None:
        """Register a session event listener on every session this database opens (once:
        a second registration of the same listener is a no-op)."""
        if not event.contains(self._sessions, identifier, listener):
            event.listen(self._sessions, identifier, listener)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
        return cls(create_db_engine(url, pool_size=pool_size, echo=echo))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
