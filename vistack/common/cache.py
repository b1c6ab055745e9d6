"""The cache abstraction: a small key/value interface with an in-process implementation.

Services cache derived data (validated token scopes, the catalog) behind this interface so that
a multi-controller deployment can swap in memcached without touching them. Values must be
immutable or treated as such by readers, since the in-process cache hands out the same object.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Protocol


class Cache(Protocol):
    """What every cache backend offers."""

    def get(self, key: str) -> Any | None:
        """The value stored under `key`, or None when absent or expired."""

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        """Store `value`; `ttl` seconds (None: the backend's default)."""

    def delete(self, key: str) -> None:
        """Forget `key`; absent keys are fine."""

    def incr(self, key: str) -> int:
        """Atomically add one to the integer under `key` (starting at 1) and return it."""


class MemoryCache:
    """A thread-safe LRU with per-entry expiry, for the single-process embedded mode."""

    def __init__(self, default_ttl: int = 300, max_entries: int = 10000) -> None:
        self._default_ttl = default_ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = time.monotonic() + (self._default_ttl if ttl is None else ttl)
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def incr(self, key: str) -> int:
        with self._lock:
            entry = self._entries.get(key)
            current = int(entry[1]) if entry and entry[0] >= time.monotonic() else 0
            # Counters are generations: they must not expire while in use.
            self._entries[key] = (float("inf"), current + 1)
            return current + 1
