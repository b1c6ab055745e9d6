"""The SQLite write gate: writers of one process queue on a lock instead of SQLite's sleeping
busy handler, and every way a transaction ends (commit, rollback, error) lets the next one in."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from vistack.common.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database.from_url(f"sqlite:///{tmp_path / 'gate.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    return db


def test_concurrent_writers_all_commit_one_at_a_time(database: Database) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        nonlocal inside, most
        try:
            with database.transaction() as session:
                session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.01)  # hold the write transaction a while
                with guard:
                    inside -= 1
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert most == 1, "two writers were inside a write transaction at once"
    with database.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 16


def test_rollback_and_errors_release_the_gate(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.execute(text("INSERT INTO t (n) VALUES (1)"))
        raise RuntimeError("abandon")
    with pytest.raises(Exception, match="UNIQUE"), database.transaction() as session:
        session.execute(text("INSERT INTO t (n) VALUES (2)"))
        session.execute(text("INSERT INTO t (n) VALUES (2)"))
    done = threading.Event()

    def write() -> None:
        with database.transaction() as session:
            session.execute(text("INSERT INTO t (n) VALUES (3)"))
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert done.wait(5), "a writer waited on a gate nobody holds"
    thread.join()
