"""Contract: the volume driver, identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import volume_path


def test_datastores_report_capacity(backend: Backend) -> None:
    datastores = backend.drivers.volumes.list_datastores()
    assert {d.name for d in datastores} == set(backend.drivers.topology.datastores)
    for ds in datastores:
        assert ds.id and 0 <= ds.free_gb <= ds.capacity_gb


@pytest.mark.parametrize("provisioning", list(Provisioning))
def test_create_list_delete_disk(backend: Backend, provisioning: Provisioning) -> None:
    volumes = backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[1]
    name = new_name()
    disk = volumes.create_disk(datastore, name, 2, provisioning)
    assert disk.path == volume_path(datastore, name)
    assert (disk.datastore, disk.capacity_gb, disk.provisioning) == (datastore, 2, provisioning)
    assert volumes.disk_exists(disk.path)
    assert disk.path in {d.path for d in volumes.list_disks(datastore)}
    volumes.delete_disk(disk.path)
    assert not volumes.disk_exists(disk.path)
    assert disk.path not in {d.path for d in volumes.list_disks(datastore)}


def test_duplicate_disk_is_refused(backend: Backend) -> None:
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    backend.drivers.volumes.create_disk(datastore, name, 1, Provisioning.THIN)
    with pytest.raises(AlreadyExistsError):
        backend.drivers.volumes.create_disk(datastore, name, 1, Provisioning.THIN)


def test_unknown_datastore_or_disk_is_not_found(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    with pytest.raises(NotFoundError):
        volumes.create_disk("no-such-ds", new_name(), 1, Provisioning.THIN)
    with pytest.raises(NotFoundError):
        volumes.list_disks("no-such-ds")
    with pytest.raises(NotFoundError):
        volumes.delete_disk(volume_path(backend.drivers.topology.datastores[0], new_name()))


def test_extend_a_detached_disk(backend: Backend) -> None:
    volumes = backend.drivers.volumes
    disk = volumes.create_disk(backend.drivers.topology.datastores[0], new_name(), 1, backend.thin)
    assert volumes.extend_disk(disk.path, 4).capacity_gb == 4
    with pytest.raises(InvalidStateError):
        volumes.extend_disk(disk.path, 2)


@pytest.mark.vcsim_cannot_prove("vcsim deletes disk files that a VM still has attached")
def test_delete_of_an_attached_disk_is_refused(backend: Backend) -> None:
    vm = backend.drivers.compute.create_vm(vm_spec(backend))
    disk = backend.drivers.volumes.create_disk(vm.datastore, new_name(), 1, backend.thin)
    backend.drivers.compute.attach_disk(vm.instance_uuid, disk.path)
    with pytest.raises(InvalidStateError):
        backend.drivers.volumes.delete_disk(disk.path)


@pytest.mark.vcsim_cannot_prove("vcsim never runs out of datastore space (statfs of /tmp)")
def test_disk_larger_than_free_space_is_no_capacity(backend: Backend) -> None:
    ds = backend.drivers.volumes.list_datastores()[0]
    with pytest.raises(NoCapacityError):
        backend.drivers.volumes.create_disk(ds.name, new_name(), ds.free_gb + 1, backend.thin)
