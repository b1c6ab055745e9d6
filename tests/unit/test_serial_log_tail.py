"""The serial log's tail is kept while streaming: a server that ignores `Range` sends the whole
file, and only about `limit` + one chunk is ever held."""

from __future__ import annotations

import io
from collections import deque
from typing import Any

import pytest

from vistack.vsphere import serial_log


class Body:
    """A response body read in chunks, recording the most bytes held at once by the reader."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return self._data.read(size)


@pytest.mark.parametrize("size", [0, 10, serial_log.CHUNK, 3 * serial_log.CHUNK + 17])
@pytest.mark.parametrize("limit", [0, 1, 100, serial_log.CHUNK + 5])
def test_the_tail_is_the_last_limit_bytes(size: int, limit: int) -> None:
    data = bytes(n % 251 for n in range(size))
    body: Any = Body(data)
    assert serial_log._tail(body, limit) == (data[-limit:] if limit else b"")


def test_only_about_one_chunk_more_than_the_limit_is_held(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[int] = []

    class Watched(deque[bytes]):
        def append(self, item: bytes) -> None:
            super().append(item)
            held.append(sum(len(chunk) for chunk in self))

    monkeypatch.setattr(serial_log, "deque", Watched)
    limit = 1000
    body: Any = Body(b"x" * (20 * serial_log.CHUNK))
    assert serial_log._tail(body, limit) == b"x" * limit
    assert max(held) <= limit + 2 * serial_log.CHUNK
