"""A VM's disks as images, on the fake and on the embedded vCenter: the root disk copied out
while the VM runs (a snapshot's data), that copy made into a template that boots a new VM, and
a rescue disk attached as the boot device and taken away again."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import AlreadyExistsError, NotFoundError, UnsupportedError
from vistack.drivers.images import IMAGE_FOLDER
from vistack.drivers.models import DiskSpec, ImageFile, PowerState
from vistack.drivers.paths import datastore_path, split_datastore_path


def running_vm(backend: Backend) -> str:
    spec = vm_spec(backend, template=backend.template(), disks=(DiskSpec(size_gb=1, root=True),))
    backend.drivers.compute.create_vm(spec)
    backend.drivers.compute.power_on(spec.instance_uuid)
    return spec.instance_uuid


def image_target(backend: Backend) -> tuple[str, str]:
    datastore = backend.drivers.topology.datastores[0]
    return datastore, f"{IMAGE_FOLDER}/{uuid.uuid4()}.vmdk"


def vsphere_props(backend: Backend, instance_uuid: str, paths: list[str]) -> dict[str, Any]:
    """Properties of the VM read straight from vCenter (what the driver does not report)."""
    from vistack.vsphere.properties import retrieve_one

    compute: Any = backend.drivers.compute

    def run(client: Any) -> dict[str, Any]:
        vm = compute._lookup.vm(client, instance_uuid)
        props = retrieve_one(client, vm, paths)
        assert props is not None
        return {path: props.get(path) for path in paths}

    found: dict[str, Any] = compute._session.call(run)
    return found


def test_export_root_disk_of_a_running_vm_makes_one_image_file(backend: Backend) -> None:
    drivers = backend.drivers
    instance_uuid = running_vm(backend)
    datastore, path = image_target(backend)
    copied = drivers.compute.export_root_disk(instance_uuid, datastore_path(datastore, path))
    assert (copied.datastore, copied.path) == (datastore, path)
    assert drivers.images.image_exists(datastore, path)
    assert copied.size == sum(len(c) for c in drivers.images.download_image(copied))
    assert drivers.compute.get_vm(instance_uuid).power_state == PowerState.ON
    if backend.name == "vsphere":
        # The copy's VM snapshot is gone again.
        props = vsphere_props(backend, instance_uuid, ["snapshot"])
        assert props["snapshot"] is None or not props["snapshot"].rootSnapshotList
    with pytest.raises(AlreadyExistsError):
        drivers.compute.export_root_disk(instance_uuid, datastore_path(datastore, path))
    with pytest.raises(NotFoundError):
        drivers.compute.export_root_disk(str(uuid.uuid4()), datastore_path(*image_target(backend)))
    drivers.images.delete_image(ImageFile(datastore, path, 0))
    assert not drivers.images.image_exists(datastore, path)


def test_an_exported_disk_boots_a_new_vm(backend: Backend) -> None:
    drivers = backend.drivers
    instance_uuid = running_vm(backend)
    datastore, path = image_target(backend)
    drivers.compute.export_root_disk(instance_uuid, datastore_path(datastore, path))
    template = drivers.images.make_template(
        new_name(),
        datastore_path(datastore, path),
        drivers.topology.clusters[0],
        datastore,
        cpus=1,
        memory_mb=256,
    )
    spec = vm_spec(backend, template=template, disks=(DiskSpec(size_gb=1, root=True),))
    vm = drivers.compute.create_vm(spec)
    assert vm.instance_uuid == spec.instance_uuid and vm.disks
    drivers.compute.destroy_vm(spec.instance_uuid)
    drivers.images.delete_template(template)


def test_a_rescue_disk_becomes_the_boot_disk_and_goes_away(backend: Backend) -> None:
    drivers = backend.drivers
    instance_uuid = running_vm(backend)
    datastore, path = image_target(backend)
    drivers.compute.export_root_disk(instance_uuid, datastore_path(datastore, path))
    drivers.compute.power_off(instance_uuid)
    root = drivers.compute.get_vm(instance_uuid).disks[0]
    rescue = drivers.compute.attach_rescue_disk(instance_uuid, datastore_path(datastore, path))
    assert rescue.path.endswith("-rescue.vmdk")
    disks = [d.path for d in drivers.compute.get_vm(instance_uuid).disks]
    assert disks == [root.path, rescue.path]
    # Repeatable (a resumed rescue): still one rescue disk.
    drivers.compute.attach_rescue_disk(instance_uuid, datastore_path(datastore, path))
    assert len(drivers.compute.get_vm(instance_uuid).disks) == 2
    if backend.name == "vsphere":
        order = vsphere_props(backend, instance_uuid, ["config.bootOptions"])
        boot = order["config.bootOptions"].bootOrder
        keys = vsphere_props(backend, instance_uuid, ["config.hardware.device"])
        rescue_key = next(
            d.key
            for d in keys["config.hardware.device"]
            if getattr(getattr(d, "backing", None), "fileName", "") == rescue.path
        )
        assert [b.deviceKey for b in boot] == [rescue_key]
    drivers.compute.power_on(instance_uuid)
    drivers.compute.power_off(instance_uuid)
    drivers.compute.detach_rescue_disk(instance_uuid)
    assert [d.path for d in drivers.compute.get_vm(instance_uuid).disks] == [root.path]
    drivers.compute.detach_rescue_disk(instance_uuid)  # nothing left: nothing to do
    if backend.name == "vsphere":
        order = vsphere_props(backend, instance_uuid, ["config.bootOptions"])
        (first,) = order["config.bootOptions"].bootOrder
        devices = vsphere_props(backend, instance_uuid, ["config.hardware.device"])
        root_key = next(
            d.key
            for d in devices["config.hardware.device"]
            if getattr(getattr(d, "backing", None), "fileName", "") == root.path
        )
        assert first.deviceKey == root_key
    with pytest.raises(NotFoundError):
        drivers.compute.attach_rescue_disk(instance_uuid, datastore_path(datastore, "no/such.vmdk"))


@pytest.mark.vcsim_cannot_prove(
    "vcsim makes no delta disk for a snapshot and cannot convert while copying "
    "(sparseMonolithic destSpec is NotImplemented): the copy of the snapshot's base as one "
    "monolithicSparse file is vCenter's"
)
def test_export_copies_the_disk_bytes_as_of_the_snapshot(backend: Backend) -> None:
    """On the fake (which models vCenter) the copy names the disk it copied."""
    drivers = backend.drivers
    instance_uuid = running_vm(backend)
    datastore, path = image_target(backend)
    copied = drivers.compute.export_root_disk(instance_uuid, datastore_path(datastore, path))
    data = b"".join(drivers.images.download_image(copied))
    root = drivers.compute.get_vm(instance_uuid).disks[0]
    assert root.path.encode() in data


def test_a_disk_with_data_the_simulator_cannot_convert_is_never_copied_in_part(
    backend: Backend,
) -> None:
    """The simulator's fallback (copy the descriptor as it is) is only for disks whose flat
    extent is empty: with bytes in it the export fails and leaves no file."""
    if backend.name != "vsphere":
        pytest.skip("the fallback is the simulator's; the fake converts as vCenter does")
    drivers = backend.drivers
    instance_uuid = running_vm(backend)
    root = drivers.compute.get_vm(instance_uuid).disks[0].path
    datastore, relative = split_datastore_path(root)
    flat = relative.removesuffix(".vmdk") + "-flat.vmdk"
    folder, name = flat.rsplit("/", 1)
    drivers.images.delete_image(ImageFile(datastore, flat, 0))
    drivers.images.upload_image(datastore, folder, name, [b"guest data" * 10], 100)
    target_ds, path = image_target(backend)
    with pytest.raises(UnsupportedError):
        drivers.compute.export_root_disk(instance_uuid, datastore_path(target_ds, path))
    assert not drivers.images.image_exists(target_ds, path)
