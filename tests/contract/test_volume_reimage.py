"""Contract: the driver calls a re-image of a booted root volume makes (Nova's 2.93 rebuild of
a volume-backed server, `vistack/volume/domain/reimage.py`), on the fake and on the embedded
vCenter alike: the volume's disk comes off the VM, is deleted, an image's disk is copied under
the same name and grown, and a new VM boots from it with the other volume beside it."""

from __future__ import annotations

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.models import DiskSpec, Provisioning


def test_a_root_volume_disk_is_replaced_by_an_image_copy_under_its_own_path(
    backend: Backend,
) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    root = volumes.create_disk(datastore, name, 1, backend.thin)
    data = volumes.create_disk(datastore, new_name(), 1, backend.thin)
    disks = (DiskSpec(path=root.path, root=True), DiskSpec(path=data.path))
    first = compute.create_vm(vm_spec(backend, disks=disks))
    payload = b"KDMV" + b"\0" * 4092
    image = backend.drivers.images.upload_image(
        datastore, "images", new_name() + ".vmdk", [payload], len(payload)
    )
    for path in (root.path, data.path):
        compute.detach_disk(first.instance_uuid, path)
    compute.destroy_vm(first.instance_uuid)
    volumes.delete_disk(root.path)
    assert not volumes.disk_exists(root.path)
    source = f"[{image.datastore}] {image.path}"
    copy = volumes.copy_disk(source, datastore, name, Provisioning.THIN)
    assert copy.path == root.path
    volumes.extend_disk(copy.path, 2)
    again = compute.create_vm(vm_spec(backend, instance_uuid=first.instance_uuid, disks=disks))
    assert [d.path for d in again.disks] == [root.path, data.path]
    for path in (root.path, data.path):
        compute.detach_disk(again.instance_uuid, path)
    compute.destroy_vm(again.instance_uuid)
    assert volumes.disk_exists(root.path) and volumes.disk_exists(data.path)
    volumes.delete_disk(root.path)
    volumes.delete_disk(data.path)
