"""Worker-thread lanes: how wide the database lane is per backend, and that a lane runs at
most its width of calls at once."""

from __future__ import annotations

import os
import threading
import time

import anyio
import pytest

from vistack.common.lanes import WorkLane, database_lane_width


def test_database_lane_width_per_backend() -> None:
    assert database_lane_width("sqlite:////tmp/x.db") == max(2, os.cpu_count() or 2)
    assert database_lane_width("mysql+pymysql://root@127.0.0.1/x") is None
    assert database_lane_width("postgresql+psycopg://u@h/x") is None
    with pytest.raises(ValueError):
        WorkLane(0)


@pytest.mark.parametrize("width", [1, 2])
def test_a_lane_runs_at_most_its_width_at_once(width: int) -> None:
    lane = WorkLane(width)
    lock = threading.Lock()
    running = peak = 0

    def call(seconds: float) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(seconds)
        with lock:
            running -= 1
        return threading.current_thread().name

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(lane.run, call, 0.05)

    anyio.run(main)
    assert peak == width
