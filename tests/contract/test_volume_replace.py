"""Contract: `VolumeDriver.replace_disk` (revert to snapshot, re-provisioning in place) makes a
disk a copy of another, bytes included, on the fake and on the embedded vCenter alike; a failed
replace leaves the disk as it was and no temporary disk; and `read_disk` of a fresh disk (what
an upload to an image reads) gives no more than its capacity."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, new_name
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import volume_path

DATA = b"snapshot content " * 5000


def _read(backend: Backend, path: str) -> bytes:
    return b"".join(backend.drivers.volumes.read_disk(path))


def test_replace_gives_the_disk_the_source_bytes(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    disk = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    volumes.write_disk(disk.path, [DATA], len(DATA))
    snapshot = volumes.copy_disk(disk.path, datastore, new_name(), backend.thin)
    volumes.write_disk(disk.path, [b"changed"], 7)
    assert _read(backend, disk.path)[:7] == b"changed"
    replaced = volumes.replace_disk(snapshot.path, disk.path, Provisioning.THIN)
    assert replaced.path == disk.path
    assert _read(backend, disk.path) == DATA
    # The source stays, the temporary copy does not, and the disk is a disk (it can grow).
    assert _read(backend, snapshot.path) == DATA
    stem = disk.path.removesuffix(".vmdk")
    assert not volumes.disk_exists(f"{stem}-replace.vmdk")
    assert volumes.extend_disk(disk.path, 2).capacity_gb == 2


def test_replace_in_place_re_provisions_and_keeps_the_bytes(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    disk = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    volumes.write_disk(disk.path, [DATA], len(DATA))
    assert volumes.replace_disk(disk.path, disk.path, Provisioning.THICK).path == disk.path
    assert _read(backend, disk.path) == DATA


def test_replace_with_a_missing_source_keeps_the_disk(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    disk = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    volumes.write_disk(disk.path, [b"kept"], 4)
    with pytest.raises(NotFoundError):
        volumes.replace_disk(volume_path(datastore, new_name()), disk.path, Provisioning.THIN)
    assert _read(backend, disk.path) == b"kept"
    assert not volumes.disk_exists(disk.path.removesuffix(".vmdk") + "-replace.vmdk")
    with pytest.raises(NotFoundError):
        volumes.replace_disk(disk.path, volume_path(datastore, new_name()), Provisioning.THIN)


def test_a_fresh_disk_reads_no_more_than_its_capacity(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    disk = volumes.create_disk(backend.drivers.topology.datastores[0], new_name(), 1, backend.thin)
    assert len(_read(backend, disk.path)) <= 2**30
