"""Contract: `VolumeDriver.copy_disk` (volume from volume, snapshot, image), on the fake and on
the embedded vCenter alike."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import volume_path


def test_copy_a_disk_to_a_new_volume_disk(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    first, second = backend.drivers.topology.datastores[:2]
    source = volumes.create_disk(first, new_name(), 1, backend.thin)
    name = new_name()
    copy = volumes.copy_disk(source.path, second, name, Provisioning.THIN)
    assert copy.path == volume_path(second, name)
    assert copy.datastore == second
    assert volumes.disk_exists(copy.path) and volumes.disk_exists(source.path)
    assert copy.path in {d.path for d in volumes.list_disks(second)}
    # A copy is a disk of its own: deleting it keeps the source.
    volumes.delete_disk(copy.path)
    assert volumes.disk_exists(source.path)


def test_a_copy_can_grow(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    first, second = backend.drivers.topology.datastores[:2]
    source = volumes.create_disk(first, new_name(), 1, backend.thin)
    copy = volumes.copy_disk(source.path, second, new_name(), Provisioning.THIN)
    assert volumes.extend_disk(copy.path, 3).capacity_gb == 3


def test_a_copy_keeps_the_capacity_of_its_source(backend: Backend) -> None:
    """A retype's move and a snapshot are copies: the disk under the volume keeps its size
    (on vcsim, whose flat files hold only the bytes written, too)."""
    volumes = backend.drivers.volumes
    first, second = backend.drivers.topology.datastores[:2]
    source = volumes.create_disk(first, new_name(), 1, backend.thin)
    volumes.extend_disk(source.path, 3)
    copy = volumes.copy_disk(source.path, second, new_name(), Provisioning.THIN)
    with pytest.raises(InvalidStateError):
        volumes.extend_disk(copy.path, 2)  # it is 3 GB, and disks never shrink
    assert volumes.extend_disk(copy.path, 4).capacity_gb == 4


def test_a_copy_after_an_in_use_extend_has_the_grown_size(backend: Backend) -> None:
    """An in-use extend (the attached disk grown by a `ReconfigVM_Task` edit) grows the disk
    itself, not only the VM's device: detached, the disk and a copy of it (a retype's move, a
    snapshot) are the new size, as on vCenter. vcsim changed only the device; the launcher
    grows the descriptor's extent (tools/vcsim/disk_grows.go)."""
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    first, second = backend.drivers.topology.datastores[:2]
    vm = compute.create_vm(vm_spec(backend, datastore=first))
    disk = volumes.create_disk(first, new_name(), 1, backend.thin)
    compute.attach_disk(vm.instance_uuid, disk.path)
    assert compute.grow_disk(vm.instance_uuid, disk.path, 3).capacity_gb == 3
    compute.detach_disk(vm.instance_uuid, disk.path)
    copy = volumes.copy_disk(disk.path, second, new_name(), Provisioning.THIN)
    for path in (disk.path, copy.path):
        with pytest.raises(InvalidStateError):
            volumes.extend_disk(path, 2)  # it is 3 GB, and disks never shrink
    assert volumes.extend_disk(copy.path, 4).capacity_gb == 4


def test_copy_onto_an_existing_disk_is_refused_and_keeps_it(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    source = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    target = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    name = target.path.rpartition("/")[2].removesuffix(".vmdk")
    with pytest.raises(AlreadyExistsError):
        volumes.copy_disk(source.path, datastore, name, Provisioning.THIN)
    assert volumes.disk_exists(target.path)


def test_copy_of_a_missing_disk_is_not_found_and_leaves_nothing(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    with pytest.raises(NotFoundError):
        volumes.copy_disk(volume_path(datastore, new_name()), datastore, name, Provisioning.THIN)
    assert not volumes.disk_exists(volume_path(datastore, name))


def test_copy_to_an_unknown_datastore_is_not_found(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    source = volumes.create_disk(
        backend.drivers.topology.datastores[0], new_name(), 1, backend.thin
    )
    with pytest.raises(NotFoundError):
        volumes.copy_disk(source.path, "no-such-ds", new_name(), Provisioning.THIN)


def test_copy_of_an_uploaded_image_file_is_a_volume_disk(backend: Backend) -> None:
    datastore = backend.drivers.topology.datastores[0]
    data = b"KDMV" + b"\0" * 4092
    image = backend.drivers.images.upload_image(
        datastore, "images", new_name() + ".vmdk", [data], len(data)
    )
    name = new_name()
    copy = backend.drivers.volumes.copy_disk(
        f"[{image.datastore}] {image.path}", datastore, name, Provisioning.THIN
    )
    assert backend.drivers.volumes.disk_exists(copy.path)
    backend.drivers.volumes.delete_disk(copy.path)
    assert not backend.drivers.volumes.disk_exists(copy.path)


def test_a_copy_of_an_uploaded_image_can_grow(backend: Backend) -> None:
    datastore = backend.drivers.topology.datastores[0]
    data = b"KDMV" + b"\0" * 4092
    image = backend.drivers.images.upload_image(
        datastore, "images", new_name() + ".vmdk", [data], len(data)
    )
    copy = backend.drivers.volumes.copy_disk(
        f"[{image.datastore}] {image.path}", datastore, new_name(), Provisioning.THIN
    )
    assert backend.drivers.volumes.extend_disk(copy.path, 2).capacity_gb == 2
