"""Contract: Nova's swap volume (`ComputeDriver.swap_disk`) on the fake and on the embedded
vCenter. The new disk takes the old one's place on the VM (same controller and unit, read
back from vCenter's `config.hardware.device`) and holds the old one's data; the old disk's
file is kept; a swap that cannot be done leaves the VM with its old disk; what a swap cut short
during its copy left (the copy's VM snapshot, the partial file) is removed by `clean_swap`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from tests.contract.test_compute_disks import vsphere_props
from vistack.drivers.errors import AlreadyExistsError, NotFoundError

DATA = b"the guest's data " * 1000


def _slots(backend: Backend, instance_uuid: str) -> dict[str, tuple[int, int]]:
    """Each disk's file and its (controller key, unit) as vCenter reports them."""
    found = vsphere_props(backend, instance_uuid, ["config.hardware.device"])
    return {
        str(d.backing.fileName): (int(d.controllerKey), int(d.unitNumber))
        for d in found["config.hardware.device"]
        if getattr(getattr(d, "backing", None), "fileName", None) and hasattr(d, "capacityInKB")
    }


def _paths(backend: Backend, instance_uuid: str) -> list[str]:
    return [d.path for d in backend.drivers.compute.get_vm(instance_uuid).disks]


def test_the_new_disk_takes_the_old_ones_place_with_its_data(backend: Backend) -> None:
    drivers = backend.drivers
    spec = vm_spec(backend)
    drivers.compute.create_vm(spec)
    datastores = drivers.topology.datastores
    old = drivers.volumes.create_disk(datastores[0], new_name(), 1, backend.thin)
    drivers.volumes.write_disk(old.path, [DATA], len(DATA))
    drivers.compute.attach_disk(spec.instance_uuid, old.path)
    before: dict[str, Any] = {}
    if backend.name == "vsphere":
        before = _slots(backend, spec.instance_uuid)
    # The new volume's disk on another datastore (a migration's target).
    new = drivers.volumes.create_disk(datastores[-1], new_name(), 1, backend.thin)
    swapped = drivers.compute.swap_disk(spec.instance_uuid, old.path, new.path)
    assert swapped.path == new.path
    paths = _paths(backend, spec.instance_uuid)
    assert new.path in paths and old.path not in paths
    assert b"".join(drivers.volumes.read_disk(new.path))[: len(DATA)] == DATA
    assert drivers.volumes.disk_exists(old.path)  # kept: Cinder deletes it, or keeps it
    if backend.name == "vsphere":
        after = _slots(backend, spec.instance_uuid)
        assert after[new.path] == before[old.path]
        assert old.path not in after
        assert not drivers.volumes.disk_exists(new.path.removesuffix(".vmdk") + "-swap.vmdk")
    # The old disk is free again: it can be deleted.
    drivers.volumes.delete_disk(old.path)


def test_a_swap_that_cannot_be_done_keeps_the_old_disk(backend: Backend) -> None:
    drivers = backend.drivers
    spec = vm_spec(backend)
    drivers.compute.create_vm(spec)
    datastore = drivers.topology.datastores[0]
    old = drivers.volumes.create_disk(datastore, new_name(), 1, backend.thin)
    other = drivers.volumes.create_disk(datastore, new_name(), 1, backend.thin)
    drivers.compute.attach_disk(spec.instance_uuid, old.path)
    drivers.compute.attach_disk(spec.instance_uuid, other.path)
    missing = old.path.replace(".vmdk", "-missing.vmdk")
    with pytest.raises(NotFoundError):
        drivers.compute.swap_disk(spec.instance_uuid, old.path, missing)
    with pytest.raises(AlreadyExistsError):
        drivers.compute.swap_disk(spec.instance_uuid, old.path, other.path)
    with pytest.raises(NotFoundError):
        drivers.compute.swap_disk(spec.instance_uuid, missing, other.path)
    kept = [p for p in _paths(backend, spec.instance_uuid) if p in (old.path, other.path)]
    assert sorted(kept) == sorted([old.path, other.path])


def _snapshot_names(backend: Backend, instance_uuid: str) -> list[str]:
    info = vsphere_props(backend, instance_uuid, ["snapshot"])["snapshot"]
    names: list[str] = []
    trees = list(getattr(info, "rootSnapshotList", None) or ())
    while trees:
        tree = trees.pop()
        names.append(str(tree.name))
        trees.extend(tree.childSnapshotList or ())
    return names


def _cut_copy(backend: Backend, instance_uuid: str, new_path: str) -> None:
    """What the process stopping during a swap's copy leaves on vCenter: the VM snapshot the
    copy runs under and the partial `-swap.vmdk` copy (`VMDisks._copy_attached`)."""
    from vistack.vsphere.tasks import wait_for_task
    from vistack.vsphere.vm_disks import SWAP_SNAPSHOT_NAME, SWAP_SUFFIX

    compute: Any = backend.drivers.compute

    def run(client: Any) -> None:
        vm = compute._lookup.vm(client, instance_uuid)
        task = vm.CreateSnapshot_Task(
            name=SWAP_SNAPSHOT_NAME, description="cut", memory=False, quiesce=False
        )
        wait_for_task(client, task, 60)

    compute._session.call(run, idempotent=False)
    partial = new_path.removesuffix(".vmdk") + SWAP_SUFFIX
    datastore = new_path[1 : new_path.index("]")]
    backend.drivers.volumes.create_disk(
        datastore, partial.rsplit("/", 1)[1].removesuffix(".vmdk"), 1, backend.thin
    )


def test_what_a_swap_cut_short_left_is_removed(backend: Backend) -> None:
    drivers = backend.drivers
    spec = vm_spec(backend)
    drivers.compute.create_vm(spec)
    datastores = drivers.topology.datastores
    old = drivers.volumes.create_disk(datastores[0], new_name(), 1, backend.thin)
    drivers.compute.attach_disk(spec.instance_uuid, old.path)
    new = drivers.volumes.create_disk(datastores[-1], new_name(), 1, backend.thin)
    partial = new.path.removesuffix(".vmdk") + "-swap.vmdk"
    if backend.name == "vsphere":
        _cut_copy(backend, spec.instance_uuid, new.path)
        assert _snapshot_names(backend, spec.instance_uuid) == ["vistack-swap-copy"]
        assert drivers.volumes.disk_exists(partial)
    drivers.compute.clean_swap(spec.instance_uuid, new.path)
    drivers.compute.clean_swap(spec.instance_uuid, new.path)  # nothing left: no error
    assert old.path in _paths(backend, spec.instance_uuid)
    assert drivers.volumes.disk_exists(new.path) and not drivers.volumes.disk_exists(partial)
    if backend.name == "vsphere":
        assert _snapshot_names(backend, spec.instance_uuid) == []
    # The VM's disk is free of the snapshot: the swap runs as usual.
    assert drivers.compute.swap_disk(spec.instance_uuid, old.path, new.path).path == new.path
    with pytest.raises(NotFoundError):
        drivers.compute.clean_swap(new_name(), new.path)
