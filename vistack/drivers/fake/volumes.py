"""The in-memory volume driver: disk files with capacities, counted against datastore space."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.fake.state import FakeDisk, FakeState
from vistack.drivers.models import DatastoreInfo, DiskInfo, Provisioning
from vistack.drivers.paths import split_datastore_path
from vistack.drivers.volumes import VOLUME_FOLDER, volume_path

#: The pieces `read_disk` yields (any size would do; the backup service re-chunks).
READ_PIECE = 1 << 20


class FakeVolumes:
    """`VolumeDriver` over a `FakeState`; models vCenter (extend works, attached disks are kept)."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    def list_datastores(self) -> list[DatastoreInfo]:
        state = self._state
        with state.operation("list_datastores"):
            return [
                DatastoreInfo(
                    ds.id, ds.name, ds.capacity_gb, ds.capacity_gb - state.datastore_used_gb(name)
                )
                for name, ds in state.datastores.items()
            ]

    def create_disk(
        self, datastore: str, name: str, size_gb: int, provisioning: Provisioning
    ) -> DiskInfo:
        state = self._state
        with state.operation("create_disk"):
            ds = state.datastore(datastore)
            path = volume_path(datastore, name)
            if path in state.disks:
                raise AlreadyExistsError(f"a disk exists at {path}")
            if size_gb > ds.capacity_gb - state.datastore_used_gb(datastore):
                raise NoCapacityError(f"datastore {datastore} has no room for {size_gb} GB")
            disk = FakeDisk(path, datastore, size_gb, provisioning)
            state.disks[path] = disk
            return _info(disk)

    def copy_disk(
        self, source: str, datastore: str, name: str, provisioning: Provisioning
    ) -> DiskInfo:
        state = self._state
        with state.operation("copy_disk"):
            size_gb = self._source_size(source)
            state.datastore(datastore)
            path = volume_path(datastore, name)
            if path in state.disks:
                raise AlreadyExistsError(f"a disk exists at {path}")
            if size_gb > state.datastores[datastore].capacity_gb - (
                state.datastore_used_gb(datastore)
            ):
                raise NoCapacityError(f"datastore {datastore} has no room for {path}")
            disk = FakeDisk(path, datastore, size_gb, provisioning, data=self._source_data(source))
            state.disks[path] = disk
            return _info(disk)

    def delete_disk(self, path: str) -> None:
        state = self._state
        with state.operation("delete_disk"):
            disk = self._disk(path)
            if disk.vm is not None:
                raise InvalidStateError(f"{path} is attached to VM {disk.vm}")
            del state.disks[path]

    def extend_disk(self, path: str, size_gb: int) -> DiskInfo:
        with self._state.operation("extend_disk"):
            disk = self._disk(path)
            if disk.vm is not None:
                raise InvalidStateError(f"{path} is attached to VM {disk.vm}; grow it there")
            if size_gb < disk.capacity_gb:
                raise InvalidStateError(f"{path} is {disk.capacity_gb} GB; disks never shrink")
            disk.capacity_gb = size_gb
            return _info(disk)

    def list_disks(self, datastore: str) -> list[DiskInfo]:
        state = self._state
        with state.operation("list_disks"):
            state.datastore(datastore)
            prefix = f"[{datastore}] {VOLUME_FOLDER}/"
            return [_info(d) for p, d in state.disks.items() if p.startswith(prefix)]

    def disk_exists(self, path: str) -> bool:
        with self._state.operation("disk_exists"):
            split_datastore_path(path)
            return path in self._state.disks

    def key_providers(self) -> list[str]:
        with self._state.operation("key_providers"):
            return list(self._state.key_providers)

    def read_disk(self, path: str) -> Iterator[bytes]:
        """The bytes written to the disk (`write_disk`, or copied from its source); a disk
        never written stores none, and all of it reads as zeros."""
        with self._state.operation("read_disk"):
            data = self._disk(path).data
        return (data[i : i + READ_PIECE] for i in range(0, len(data), READ_PIECE))

    def replace_disk(self, source: str, path: str, provisioning: Provisioning) -> DiskInfo:
        state = self._state
        with state.operation("replace_disk"):
            disk = self._disk(path)
            size_gb = self._source_size(source)
            if disk.vm is not None:
                raise InvalidStateError(f"{path} is attached to VM {disk.vm}")
            free = state.datastores[disk.datastore].capacity_gb - state.datastore_used_gb(
                disk.datastore
            )
            if size_gb > free:  # the copy exists next to the old disk until it replaces it
                raise NoCapacityError(f"datastore {disk.datastore} has no room for {source}")
            disk.capacity_gb, disk.provisioning = size_gb, provisioning
            disk.data = self._source_data(source)
            return _info(disk)

    def write_disk(self, path: str, data: Iterable[bytes], size: int) -> None:
        # The bytes are gathered before the disk changes, as the vSphere driver writes a
        # temporary file first: a failing source leaves the old data.
        received = b"".join(data)
        if len(received) != size:
            raise InvalidStateError(f"{len(received)} bytes came for {path}, not {size}")
        with self._state.operation("write_disk"):
            disk = self._disk(path)
            if disk.vm is not None:
                raise InvalidStateError(f"{path} is attached to VM {disk.vm}")
            disk.data = received + bytes(max(0, len(disk.data) - size))

    def _source_data(self, source: str) -> bytes:
        if source in self._state.disks:
            return self._state.disks[source].data
        file = self._state.files.get(split_datastore_path(source))
        return file.data if file is not None else b""

    def _source_size(self, source: str) -> int:
        """A disk's capacity, or an uploaded image file's size rounded up to whole GB."""
        if source in self._state.disks:
            return self._state.disks[source].capacity_gb
        file = self._state.files.get(split_datastore_path(source))
        if file is None:
            raise NotFoundError(f"no disk at {source}")
        return max(1, -(-len(file.data) // 2**30))

    def _disk(self, path: str) -> FakeDisk:
        disk = self._state.disks.get(path)
        if disk is None:
            raise NotFoundError(f"no disk at {path}")
        return disk


def _info(disk: FakeDisk) -> DiskInfo:
    return DiskInfo(disk.path, disk.datastore, disk.capacity_gb, disk.provisioning)
