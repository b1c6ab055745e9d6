"""Worker-thread lanes: how many blocking request handlers of one kind run at once.

FastAPI runs every plain-`def` handler on one shared pool of 40 threads. That suits handlers
that wait (on vCenter, on a client's upload), not handlers that compute against SQLite: those
only hold the GIL or SQLite's single write lock, so more threads than cores make them queue for
both, and the writer holding the lock waits for the GIL between its statements while the
others run. Measured with 16 concurrent port creates on 2 cores: the write section took
5.6 ms on the shared pool and 1.7 ms in a lane two wide, and creates went from ~140/s to
~190/s. A lane bounds one kind of handler without touching the shared pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class WorkLane:
    """Runs blocking calls on worker threads, at most `width` at a time (None: on the
    server's shared pool, unbounded beyond it)."""

    def __init__(self, width: int | None) -> None:
        if width is not None and width < 1:
            raise ValueError("a lane is at least one thread wide")
        self.width = width
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, call: Callable[..., T], *args: object) -> T:
        if self.width is None:
            return await run_in_threadpool(call, *args)
        if self._limiter is None:  # made on the event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.width)
        return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter)


def database_lane_width(database_url: str) -> int | None:
    """The lane width for handlers that only use the database: on SQLite as many as the
    machine has cores (at least two, so a slow request does not stall the rest); on MariaDB
    or PostgreSQL None, the shared pool, since there a handler mostly waits on the server and
    row locks let writers proceed side by side."""
    if make_url(database_url).get_backend_name() != "sqlite":
        return None
    return max(2, os.cpu_count() or 2)
