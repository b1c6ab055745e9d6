"""Contract: moving and resizing VMs (relocate between clusters, resize, the revert's disk copy),
with identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import uuid

import pytest

from tests.contract.conftest import Backend, vm_spec
from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.models import DiskSpec, PowerState, VMInfo


def _cluster_hosts(backend: Backend) -> dict[str, tuple[str, ...]]:
    return {c.name: c.hosts for c in backend.drivers.compute.list_clusters()}


def _vm_with_root(backend: Backend, size_gb: int = 1, **overrides: object) -> VMInfo:
    spec = vm_spec(backend, disks=(DiskSpec(size_gb=size_gb, root=True),), **overrides)
    return backend.drivers.compute.create_vm(spec)


def _backup_path(root: str) -> str:
    return root.removesuffix(".vmdk") + "-resize-backup.vmdk"


def test_relocate_moves_a_running_vm_to_another_cluster(backend: Backend) -> None:
    compute = backend.drivers.compute
    first, second = backend.drivers.topology.clusters[:2]
    vm = _vm_with_root(backend)
    compute.power_on(vm.instance_uuid)
    hosts = _cluster_hosts(backend)
    assert vm.host in hosts[first]

    moved = compute.relocate_vm(vm.instance_uuid, second)
    assert moved.cluster == second and moved.host in hosts[second]
    assert moved.power_state == PowerState.ON  # a vMotion, not a restart
    again = compute.get_vm(vm.instance_uuid)
    assert (again.cluster, again.host) == (second, moved.host)

    chosen = hosts[first][-1]
    back = compute.relocate_vm(vm.instance_uuid, first, chosen)
    assert (back.cluster, back.host) == (first, chosen)


def test_relocate_to_where_the_vm_is_changes_nothing(backend: Backend) -> None:
    vm = _vm_with_root(backend)
    same = backend.drivers.compute.relocate_vm(vm.instance_uuid, vm.cluster)
    assert (same.cluster, same.host) == (vm.cluster, vm.host)


def test_relocate_to_unknown_places_is_not_found(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = _vm_with_root(backend)
    second = backend.drivers.topology.clusters[1]
    with pytest.raises(NotFoundError):
        compute.relocate_vm(vm.instance_uuid, "no-such-cluster")
    with pytest.raises(NotFoundError):
        compute.relocate_vm(vm.instance_uuid, second, "no-such-host")
    with pytest.raises(NotFoundError):
        compute.relocate_vm(str(uuid.uuid4()), second)


def test_resize_sets_cpus_memory_cores_and_grows_the_root_disk(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = _vm_with_root(backend)
    resized = compute.resize_vm(
        vm.instance_uuid, cpus=4, memory_mb=1024, cores_per_socket=2, root_gb=3
    )
    assert (resized.cpus, resized.memory_mb, resized.cores_per_socket) == (4, 1024, 2)
    assert resized.disks[0].capacity_gb == 3
    read = compute.get_vm(vm.instance_uuid)
    assert (read.cpus, read.memory_mb, read.disks[0].capacity_gb) == (4, 1024, 3)
    # Smaller CPU and memory are fine; a smaller root disk never is.
    smaller = compute.resize_vm(
        vm.instance_uuid, cpus=1, memory_mb=256, cores_per_socket=1, root_gb=3
    )
    assert (smaller.cpus, smaller.memory_mb, smaller.disks[0].capacity_gb) == (1, 256, 3)
    with pytest.raises(InvalidStateError):
        compute.resize_vm(vm.instance_uuid, cpus=1, memory_mb=256, cores_per_socket=1, root_gb=2)


def test_a_kept_root_copy_puts_the_old_disk_back(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    vm = _vm_with_root(backend)
    root = vm.disks[0].path
    backup = _backup_path(root)
    compute.copy_disk(root, backup)
    assert volumes.disk_exists(backup)
    with pytest.raises(AlreadyExistsError):
        compute.copy_disk(root, backup)
    compute.resize_vm(vm.instance_uuid, cpus=2, memory_mb=512, cores_per_socket=1, root_gb=4)

    restored = compute.replace_disk(vm.instance_uuid, root, backup, 1)
    assert [(d.path, d.capacity_gb) for d in restored.disks] == [(root, 1)]
    assert volumes.disk_exists(backup)  # kept until the caller is done with it
    # Interrupted and run again: the same outcome.
    again = compute.replace_disk(vm.instance_uuid, root, backup, 1)
    assert [(d.path, d.capacity_gb) for d in again.disks] == [(root, 1)]

    volumes.delete_disk(backup)
    assert not volumes.disk_exists(backup)
    with pytest.raises(NotFoundError):
        compute.copy_disk(backup, _backup_path(backup))
