"""Contract: a detached disk's data written with `VolumeDriver.write_disk` reads back the same
with `read_disk` (what backups and their restores rely on), on the fake and on the embedded
vCenter alike; a failed write leaves the old data and no other file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.conftest import Backend, new_name
from vistack.drivers.errors import InvalidStateError, NotFoundError
from vistack.drivers.volumes import volume_path

#: Not a multiple of any piece size, so the pieces' edges are exercised.
DATA = bytes(range(256)) * 4099 + b"tail"


def _read(backend: Backend, path: str) -> bytes:
    return b"".join(backend.drivers.volumes.read_disk(path))


def test_written_data_reads_back(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    disk = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    pieces = [DATA[i : i + 300_000] for i in range(0, len(DATA), 300_000)]
    volumes.write_disk(disk.path, iter(pieces), len(DATA))
    back = _read(backend, disk.path)
    assert hashlib.sha256(back).digest() == hashlib.sha256(DATA).digest()
    # A shorter restore keeps the extent's length: the rest is zeros, the disk does not shrink.
    volumes.write_disk(disk.path, [b"abc"], 3)
    again = _read(backend, disk.path)
    assert again[:3] == b"abc" and len(again) == len(DATA) and again.count(0) == len(DATA) - 3
    # A copy of the disk carries its data (a backup of an in-use volume reads a copy).
    copy = volumes.copy_disk(disk.path, datastore, new_name(), backend.thin)
    assert _read(backend, copy.path)[:3] == b"abc"


def test_a_short_write_keeps_the_old_data(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    disk = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    volumes.write_disk(disk.path, [b"old data"], 8)
    with pytest.raises(InvalidStateError):
        volumes.write_disk(disk.path, [b"new"], 10)
    assert _read(backend, disk.path) == b"old data"

    def broken() -> Iterator[bytes]:
        yield b"new"
        raise OSError("the backup store failed")

    with pytest.raises(OSError, match="backup store"):
        volumes.write_disk(disk.path, broken(), 10)
    assert _read(backend, disk.path) == b"old data"
    assert _leftovers(backend, datastore) == []


def _leftovers(backend: Backend, datastore: str) -> list[str]:
    """Temporary files of writes in the volume folder (the fake has no files to leave)."""
    volumes = backend.drivers.volumes
    if backend.name != "vsphere":
        return []
    session: Any = getattr(volumes, "_session")  # noqa: B009 - the test looks behind the driver
    found = session.call(
        lambda c: volumes.search(c, datastore, "volumes", ["*partial*"], disks=False)  # type: ignore[attr-defined]
    )
    return [f.path for f in found]


def test_missing_disks_are_not_found(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    path = volume_path(backend.drivers.topology.datastores[0], new_name())
    with pytest.raises(NotFoundError):
        volumes.write_disk(path, [b"x"], 1)
    with pytest.raises(NotFoundError):
        _read(backend, path)
