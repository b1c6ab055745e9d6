"""An image's md5 and sha512, computed beside the upload instead of in its way.

Glance records both digests of every image (`checksum` and `os_hash_value`), so every uploaded
byte is hashed twice. Done inline on the thread that also sends the bytes to the datastore,
that hashing was most of an upload's time: on the reference machine md5 runs at about 800 MB/s
and sha512 at about 860 MB/s, 420 MB/s together, and bench/image.py found the upload thread
spending three quarters of its time in them.

hashlib releases the GIL while it hashes a buffer larger than 2 KiB, so the two digests can run
on other cores while the caller goes on: `update(chunk)` hands the chunk to a small shared pool,
one task per algorithm, and returns at once; the *next* `update` first waits for those tasks, so
each algorithm still sees the chunks strictly in order, at most one chunk per algorithm is in
flight (memory stays flat: one chunk held a little longer) and a slow hash slows the upload
down rather than piling chunks up. md5, sha512 and the caller's own work on
the chunk (sending it, reading the next one) overlap, so given idle cores an upload runs at
about the speed of the slower digest instead of the sum of both (alone: 512 MiB hashed in
0.59 s instead of 0.99 s, for 2% more CPU). Where every core is already busy, as on a loaded
2-core machine, it changes nothing: the hashing CPU is the same, only its place moves.

The pool is shared by every upload of the process and never holds a thread hostage: a task is
one `update` call, so an upload that is abandoned half-way leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: Below this size a chunk is hashed on the caller's thread: handing it over costs more than
#: hashing it (and hashlib keeps the GIL for buffers under 2 KiB anyway).
INLINE_BELOW = 64 << 10

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The process-wide hashing pool, made on first use: two threads per upload in flight
    would be wasted on a small machine, so it has one per CPU (at least two, so that md5 and
    sha512 of one upload can run side by side)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="image-digest"
            )
        return _pool


class PipelinedDigests:
    """md5 and sha512 of a stream of chunks, hashed on other threads while the caller works.

    Chunks must not change after `update` (bytes never do; a reused bytearray would be hashed
    after it was overwritten). Reading a digest waits for the hashing still in flight.
    """

    def __init__(self) -> None:
        # Private: reading a digest must go through `_wait`, never straight to the object.
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        self._pending: list[Future[Any]] = []

    def update(self, chunk: bytes) -> None:
        self._wait()
        if len(chunk) < INLINE_BELOW:
            self._md5.update(chunk)
            self._sha512.update(chunk)
            return
        pool = _executor()
        self._pending = [
            pool.submit(self._md5.update, chunk),
            pool.submit(self._sha512.update, chunk),
        ]

    def md5_hex(self) -> str:
        self._wait()
        return self._md5.hexdigest()

    def sha512_hex(self) -> str:
        self._wait()
        return self._sha512.hexdigest()

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
