"""A generation counter for identity data, kept in the shared cache.

Every identity write bumps it; validated-token scopes, the catalog and the revocation index are
cached per generation, so a change (a disabled user, a removed role) takes effect on the very next
request in every process that shares the cache, with no per-request database query.
"""

from __future__ import annotations

from typing import Any

from vistack.common.cache import Cache

GENERATION_KEY = "identity:generation"


class ChangeTracker:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def generation(self) -> int:
        value = self._cache.get(GENERATION_KEY)
        if value is None:
            # Lost (cache restart or eviction): start a new generation so nothing stale is used.
            return self._cache.incr(GENERATION_KEY)
        return int(value)

    def changed(self) -> None:
        self._cache.incr(GENERATION_KEY)


class GenerationCache:
    """Read-through memo of derived identity data, valid for one identity generation.

    Entries are keyed under the current generation, so any identity write makes them all
    unreachable at once (they age out of the cache on their own).
    """

    def __init__(self, cache: Cache, changes: ChangeTracker, namespace: str) -> None:
        self._cache = cache
        self._changes = changes
        self._namespace = namespace

    def _key(self, key: str) -> str:
        return f"{self._namespace}:{self._changes.generation()}:{key}"

    def get(self, key: str) -> Any | None:
        return self._cache.get(self._key(key))

    def set(self, key: str, value: Any) -> None:
        self._cache.set(self._key(key), value)
