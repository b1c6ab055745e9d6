"""The in-process cache and work queue behind the abstractions later backends implement."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from vistack.common.bus import InProcessWorkQueue
from vistack.common.cache import MemoryCache


def test_cache_expiry_and_lru() -> None:
    cache = MemoryCache(default_ttl=60, max_entries=2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # touches a: b is now least recently used
    cache.set("c", 3)
    assert cache.get("b") is None
    assert cache.get("a") == 1 and cache.get("c") == 3
    cache.set("short", "x", ttl=0)
    time.sleep(0.01)
    assert cache.get("short") is None
    cache.delete("a")
    assert cache.get("a") is None


def test_cache_incr_is_atomic() -> None:
    cache = MemoryCache()

    def bump() -> None:
        for _ in range(500):
            cache.incr("n")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("n") == 2000


def test_work_queue_runs_jobs_and_survives_failures() -> None:
    queue = InProcessWorkQueue(workers=2)
    done: list[int] = []

    def handler(payload: Mapping[str, Any]) -> None:
        if payload["n"] == 3:
            raise RuntimeError("boom")
        done.append(payload["n"])

    queue.register("count", handler)
    queue.start()
    ids = {queue.submit("count", {"n": n}) for n in range(10)}
    queue.join()
    queue.stop()
    assert len(ids) == 10
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7, 8, 9]


def test_work_queue_refuses_unknown_topics_and_double_registration() -> None:
    queue = InProcessWorkQueue()
    with pytest.raises(KeyError):
        queue.submit("nothing", {})
    queue.register("t", lambda payload: None)
    with pytest.raises(ValueError):
        queue.register("t", lambda payload: None)
