"""The in-memory image driver: datastore files as bytes, templates as template-flagged VMs.

It models vCenter, not vcsim: an upload's bytes count against the datastore's free space at
once (vcsim's `freeSpace` is a start-up snapshot), and a failed or aborted upload or copy stores
nothing, which the vSphere driver gets with its `.partial-*` names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    RangeNotSatisfiableError,
)
from vistack.drivers.fake.state import FakeDisk, FakeFile, FakeState, FakeVM
from vistack.drivers.models import DatastoreSpace, ImageFile, Provisioning, TemplateRef
from vistack.drivers.paths import datastore_path, split_datastore_path

_CHUNK = 1 << 20


class FakeImages:
    """`ImageDriver` over a `FakeState`."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    def upload_image(
        self, datastore: str, folder: str, name: str, data: Iterable[bytes], size: int | None
    ) -> ImageFile:
        if size is not None and size < 0:
            raise ValueError(f"an upload's size must be at least 0, not {size}")
        state = self._state
        path = f"{folder.strip('/')}/{name}"
        with state.operation("upload_image"):
            self._check_target(datastore, path, size or 0)
        # The stream is read outside the lock, as a real upload runs beside other calls. An
        # exception from it propagates as it is and nothing is stored, as on vSphere.
        body = b"".join(data)
        if size is not None and len(body) != size:
            raise InvalidStateError(f"upload declared {size} bytes but sent {len(body)}")
        with state.lock:
            # Checked again: another upload may have taken the name or the space meanwhile (on
            # vSphere the final move refuses the name; the datastore refuses the bytes).
            self._check_target(datastore, path, len(body))
            state.files[(datastore, path)] = FakeFile(datastore, path, body)
        return ImageFile(datastore, path, len(body))

    def download_image(
        self, file: ImageFile, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"bad byte range: offset {offset}, length {length}")
        with self._state.operation("download_image"):
            stored = self._file(file.datastore, file.path)
        data = stored.data
        if data and offset >= len(data):
            raise RangeNotSatisfiableError(
                f"{datastore_path(file.datastore, file.path)} has {len(data)} bytes; "
                f"a range from byte {offset} is past its end",
                size=len(data),
            )
        end = len(data) if length is None else min(len(data), offset + length)
        return (data[i : min(i + _CHUNK, end)] for i in range(offset, end, _CHUNK))

    def copy_image(self, file: ImageFile, datastore: str, folder: str, name: str) -> ImageFile:
        state = self._state
        path = f"{folder.strip('/')}/{name}"
        with state.operation("copy_image"):
            source = self._file(file.datastore, file.path)
            self._check_target(datastore, path, len(source.data))
            state.files[(datastore, path)] = FakeFile(datastore, path, source.data)
            return ImageFile(datastore, path, len(source.data))

    def datastore_space(self, datastore: str) -> DatastoreSpace:
        state = self._state
        with state.operation("datastore_space"):
            capacity = state.datastore(datastore).capacity_gb * 2**30
            return DatastoreSpace(capacity, state.datastore_free_bytes(datastore))

    def image_exists(self, datastore: str, path: str) -> bool:
        with self._state.operation("image_exists"):
            self._state.datastore(datastore)
            return (datastore, path) in self._state.files

    def delete_image(self, file: ImageFile) -> None:
        with self._state.operation("delete_image"):
            self._file(file.datastore, file.path)
            del self._state.files[(file.datastore, file.path)]

    def make_template(
        self, name: str, disk_path: str, cluster: str, datastore: str, *, cpus: int, memory_mb: int
    ) -> TemplateRef:
        state = self._state
        with state.operation("make_template"):
            if cluster not in state.clusters:
                raise NotFoundError(f"no cluster named {cluster!r}")
            state.datastore(datastore)
            if any(vm.name == name for vm in state.vms.values()):
                raise AlreadyExistsError(f"a VM or template named {name!r} exists")
            source_ds, source_path = split_datastore_path(disk_path)
            if disk_path in state.disks:
                size_gb = state.disks[disk_path].capacity_gb
            elif (source_ds, source_path) in state.files:
                size_gb = max(1, -(-len(state.files[(source_ds, source_path)].data) // 2**30))
            else:
                raise NotFoundError(f"no disk at {disk_path}")
            root = datastore_path(datastore, f"{name}/{name}.vmdk")
            state.disks[root] = FakeDisk(root, datastore, size_gb, Provisioning.THIN)
            template = FakeVM(
                instance_uuid=str(uuid.uuid4()),
                id=state.new_id("vm"),
                name=name,
                cluster=cluster,
                host=state.clusters[cluster].hosts[0].name,
                datastore=datastore,
                cpus=cpus,
                cores_per_socket=1,
                memory_mb=memory_mb,
                disks=[root],
                template=True,
            )
            state.disks[root].vm = template.instance_uuid
            state.vms[template.instance_uuid] = template
            return TemplateRef(template.instance_uuid, name, datastore)

    def find_template(self, name: str) -> TemplateRef:
        with self._state.operation("find_template"):
            for vm in self._state.vms.values():
                if vm.template and vm.name == name:
                    return TemplateRef(vm.instance_uuid, vm.name, vm.datastore)
            raise NotFoundError(f"no template named {name!r}")

    def delete_template(self, template: TemplateRef) -> None:
        state = self._state
        with state.operation("delete_template"):
            vm = state.vm(template.id, template=True)
            for path in vm.disks:
                del state.disks[path]
            del state.vms[vm.instance_uuid]

    def _check_target(self, datastore: str, path: str, size: int) -> None:
        """Refuse to store `size` bytes at `[datastore] path`: no datastore, taken, no room."""
        state = self._state
        state.datastore(datastore)
        if (datastore, path) in state.files:
            raise AlreadyExistsError(f"{datastore_path(datastore, path)} exists")
        if size > state.datastore_free_bytes(datastore):
            raise NoCapacityError(f"datastore {datastore} has no room for {size} bytes")

    def _file(self, datastore: str, path: str) -> FakeFile:
        stored = self._state.files.get((datastore, path))
        if stored is None:
            raise NotFoundError(f"no file {datastore_path(datastore, path)}")
        return stored
