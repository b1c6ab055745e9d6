"""Boot from volume, the driver's side, on the fake and on the embedded vCenter: a VM made
without a template (`CreateVM_Task`) with a volume's disk as its first (boot) disk, other
volumes beside it or beside a template's root, and the order Nova's delete keeps: volumes off
first, then the VM destroyed, so the volume disks survive on any vCenter."""

from __future__ import annotations

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.models import DiskSpec, PowerState


def test_a_vm_boots_from_a_volume_disk_made_without_a_template(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    root = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    data = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    spec = vm_spec(backend, disks=(DiskSpec(path=root.path, root=True), DiskSpec(path=data.path)))
    vm = compute.create_vm(spec)
    assert [d.path for d in vm.disks] == [root.path, data.path]
    compute.power_on(vm.instance_uuid)
    assert compute.get_vm(vm.instance_uuid).power_state == PowerState.ON
    compute.power_off(vm.instance_uuid)
    for path in (data.path, root.path):
        compute.detach_disk(vm.instance_uuid, path)
    assert compute.get_vm(vm.instance_uuid).disks == ()
    compute.destroy_vm(vm.instance_uuid)
    assert volumes.disk_exists(root.path) and volumes.disk_exists(data.path)
    volumes.delete_disk(root.path)
    volumes.delete_disk(data.path)


def test_a_volume_reattached_to_a_new_vm_is_its_boot_disk_again(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    root = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    first = compute.create_vm(vm_spec(backend, disks=(DiskSpec(path=root.path, root=True),)))
    compute.detach_disk(first.instance_uuid, root.path)
    compute.destroy_vm(first.instance_uuid)
    again = compute.create_vm(vm_spec(backend, disks=(DiskSpec(path=root.path, root=True),)))
    assert [d.path for d in again.disks] == [root.path]


def test_a_template_clone_takes_mapped_volumes_beside_its_root(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    data = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    spec = vm_spec(backend, template=backend.template(), disks=(DiskSpec(path=data.path),))
    vm = compute.create_vm(spec)
    paths = [d.path for d in vm.disks]
    assert len(paths) == 2 and paths[1] == data.path and paths[0] != data.path
    compute.detach_disk(vm.instance_uuid, data.path)
    compute.destroy_vm(vm.instance_uuid)
    assert volumes.disk_exists(data.path)
