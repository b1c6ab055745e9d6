"""The Fernet key repository, laid out as Keystone lays it out, and its rotation.

Files are named by integer: `0` is the staged key (already distributed, not yet used to
encrypt), the highest number is the primary key (encrypts new tokens), everything between is a
secondary key (still decrypts). Rotation promotes the staged key to primary, stages a new key and
drops the oldest secondaries beyond `max_active_keys`, so every controller that received the
staged key earlier can validate the new primary's tokens the moment rotation happens.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class FernetKeyRepository:
    def __init__(self, directory: Path, max_active_keys: int = 3) -> None:
        if max_active_keys < 2:
            raise ValueError("fernet_max_active_keys must be at least 2 (primary and staged)")
        self.directory = directory
        self.max_active_keys = max_active_keys
        self._loaded: tuple[float, MultiFernet] | None = None

    def current_cipher(self) -> MultiFernet:
        """The cipher for the keys on disk now; re-read only when the directory changed.

        A running server thus follows `vistack keys rotate` without a restart, at the cost of
        one stat() per token operation.
        """
        stamp = self.directory.stat().st_mtime_ns
        if self._loaded is None or self._loaded[0] != stamp:
            self._loaded = (stamp, self.cipher())
        return self._loaded[1]

    def keys(self) -> dict[int, bytes]:
        """Key index to key, read from disk."""
        found: dict[int, bytes] = {}
        if not self.directory.is_dir():
            return found
        for path in self.directory.iterdir():
            if path.name.isdigit():
                found[int(path.name)] = path.read_bytes().strip()
        return found

    def ensure(self) -> None:
        """Create the repository with a staged and a primary key if it has none."""
        if len(self.keys()) >= 2:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if 0 not in self.keys():
            self._write(0, Fernet.generate_key())
        self.rotate()

    def rotate(self) -> int:
        """Promote the staged key, stage a new one, prune old ones; return the primary index."""
        keys = self.keys()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged = keys.get(0) or Fernet.generate_key()
        primary_index = max(keys, default=0) + 1
        self._write(primary_index, staged)
        self._write(0, Fernet.generate_key())
        secondaries = sorted(index for index in self.keys() if index not in (0, primary_index))
        excess = len(secondaries) - (self.max_active_keys - 2)
        for index in secondaries[: max(excess, 0)]:
            (self.directory / str(index)).unlink()
        return primary_index

    def cipher(self) -> MultiFernet:
        """Primary first (it encrypts), then the others (they only decrypt)."""
        keys = self.keys()
        if not keys:
            raise RuntimeError(f"no Fernet keys in {self.directory}; run `vistack keys rotate`")
        order = sorted(keys, reverse=True)
        # The staged key (0) decrypts too but must never encrypt while a primary exists.
        order = [i for i in order if i != 0] + ([0] if 0 in keys else [])
        return MultiFernet([Fernet(keys[i]) for i in order])

    def _write(self, index: int, key: bytes) -> None:
        path = self.directory / str(index)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        temporary.replace(path)
