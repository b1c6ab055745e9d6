"""Contract: ISO files on CD-ROMs (the config drive), on the fake and on the embedded vCenter.

The ISO is uploaded beside the VM through the image driver's datastore upload, attached to a
CD-ROM on an IDE slot, and survives power cycles; detach keeps the file; once the VM and the
file are deleted nothing of it is left on the datastore.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.contract.conftest import Backend, vm_spec
from vistack.compute.domain.config_drive import ISO_NAME, build_iso
from vistack.drivers.errors import AlreadyExistsError, NoCapacityError, NotFoundError
from vistack.drivers.models import DiskSpec, ImageFile, IsoImage, NicSpec, PowerState, VMSpec
from vistack.drivers.paths import datastore_path

DATA = build_iso([("openstack/latest/meta_data.json", b'{"uuid": "x"}')])


def upload(backend: Backend, spec: VMSpec, name: str = ISO_NAME) -> str:
    file = backend.drivers.images.upload_image(spec.datastore, spec.name, name, [DATA], len(DATA))
    assert file.size == len(DATA)
    return datastore_path(spec.datastore, file.path)


def test_an_iso_beside_the_vm_is_attached_as_a_cdrom_and_deleted_with_it(
    backend: Backend,
) -> None:
    compute, images = backend.drivers.compute, backend.drivers.images
    spec = vm_spec(backend)
    compute.create_vm(spec)
    assert compute.list_isos(spec.instance_uuid) == []
    path = upload(backend, spec)
    compute.attach_iso(spec.instance_uuid, path)
    assert compute.list_isos(spec.instance_uuid) == [path]
    relative = f"{spec.name}/{ISO_NAME}"
    assert images.image_exists(spec.datastore, relative)
    stored = b"".join(images.download_image(ImageFile(spec.datastore, relative, len(DATA))))
    assert stored == DATA
    with pytest.raises(AlreadyExistsError):
        compute.attach_iso(spec.instance_uuid, path)
    # Connected at power-on: the VM starts with it and keeps it.
    compute.power_on(spec.instance_uuid)
    assert compute.list_isos(spec.instance_uuid) == [path]
    compute.power_off(spec.instance_uuid)
    compute.destroy_vm(spec.instance_uuid)
    # vCenter keeps files it did not make; the server's undo deletes the ISO (the simulator
    # removed the VM's folder already: gone either way).
    with contextlib.suppress(NotFoundError):
        images.delete_image(ImageFile(spec.datastore, relative, 0))
    assert not images.image_exists(spec.datastore, relative)


def test_detach_keeps_the_file(backend: Backend) -> None:
    compute, images = backend.drivers.compute, backend.drivers.images
    spec = vm_spec(backend)
    compute.create_vm(spec)
    path = upload(backend, spec)
    compute.attach_iso(spec.instance_uuid, path)
    compute.detach_iso(spec.instance_uuid, path)
    assert compute.list_isos(spec.instance_uuid) == []
    assert images.image_exists(spec.datastore, f"{spec.name}/{ISO_NAME}")
    with pytest.raises(NotFoundError):
        compute.detach_iso(spec.instance_uuid, path)


def test_a_missing_iso_or_vm_is_not_found(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(backend)
    compute.create_vm(spec)
    missing = datastore_path(spec.datastore, f"{spec.name}/none.iso")
    with pytest.raises(NotFoundError):
        compute.attach_iso(spec.instance_uuid, missing)
    assert compute.list_isos(spec.instance_uuid) == []
    with pytest.raises(NotFoundError):
        compute.list_isos("00000000-0000-4000-8000-00000000dead")


def test_cdroms_fill_the_ide_slots_then_no_capacity(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(backend)
    compute.create_vm(spec)
    paths = [upload(backend, spec, f"disc{n}.iso") for n in range(5)]
    for path in paths[:4]:
        compute.attach_iso(spec.instance_uuid, path)
    assert compute.list_isos(spec.instance_uuid) == paths[:4]
    with pytest.raises(NoCapacityError):
        compute.attach_iso(spec.instance_uuid, paths[4])


def test_a_clone_is_completed_with_its_iso_and_powered_on_in_one_call(backend: Backend) -> None:
    """What a build's first attempt asks: clone, grow the root, write and attach the config
    drive, power on; the VMInfo returned is what vCenter reports afterwards."""
    compute, images = backend.drivers.compute, backend.drivers.images
    portgroup = backend.drivers.networks.list_portgroups()[0]
    spec = vm_spec(
        backend,
        template=backend.template(),
        cpus=2,
        memory_mb=768,
        annotation="server web1",
        nics=(NicSpec(portgroup.key, "fa:16:3e:00:00:21"),),
        disks=(DiskSpec(size_gb=3, root=True),),
        isos=(IsoImage(ISO_NAME, DATA),),
        power_on=True,
        may_exist=False,
    )
    made = compute.create_vm(spec)
    path = datastore_path(spec.datastore, f"{spec.name}/{ISO_NAME}")
    assert compute.list_isos(spec.instance_uuid) == [path]
    stored = images.download_image(ImageFile(spec.datastore, f"{spec.name}/{ISO_NAME}", len(DATA)))
    assert b"".join(stored) == DATA
    now = compute.get_vm(spec.instance_uuid)
    assert made == now
    assert (now.cpus, now.memory_mb, now.annotation) == (2, 768, "server web1")
    assert (now.power_state, now.disks[0].capacity_gb) == (PowerState.ON, 3)
    compute.power_off(spec.instance_uuid)
    compute.destroy_vm(spec.instance_uuid)


def test_an_empty_vm_gets_its_iso_too(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(backend, isos=(IsoImage(ISO_NAME, DATA),))
    made = compute.create_vm(spec)
    assert made.power_state is PowerState.OFF
    path = datastore_path(spec.datastore, f"{spec.name}/{ISO_NAME}")
    assert compute.list_isos(spec.instance_uuid) == [path]
    assert compute.get_vm(spec.instance_uuid) == made
    compute.destroy_vm(spec.instance_uuid)
