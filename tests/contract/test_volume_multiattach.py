"""A multiattach volume's disk on two VMs, on the fake and on the embedded vCenter.

The driver sends the disk's backing with `sharing = sharingMultiWriter` on each VM, and reads
it back from `config.hardware.device`. vcsim stores a device's backing as sent, so the flag is
read back as vCenter would report it; what vcsim cannot prove is vCenter's lock itself (it
lets a second VM open any disk, shared or not, and does not check that a multi-writer disk is
eager-zeroed thick): the fake refuses a second unshared attach, as vCenter does.
"""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import InvalidStateError
from vistack.drivers.models import DiskSpec, Provisioning


def _sharing(backend: Backend, instance_uuid: str, path: str) -> list[str]:
    """The `sharing` of the disk at `path` as vCenter reports it on the VM."""
    from tests.contract.test_compute_disks import vsphere_props

    found = vsphere_props(backend, instance_uuid, ["config.hardware.device"])
    return [
        str(d.backing.sharing)
        for d in found["config.hardware.device"]
        if getattr(getattr(d, "backing", None), "fileName", None) == path
    ]


def test_a_shared_disk_is_multi_writer_on_both_vms(backend: Backend) -> None:
    drivers = backend.drivers
    first, second = vm_spec(backend), vm_spec(backend)
    drivers.compute.create_vm(first)
    drivers.compute.create_vm(second)
    datastore = drivers.topology.datastores[0]
    eager = Provisioning.EAGER_ZEROED_THICK
    disk = drivers.volumes.create_disk(datastore, new_name(), 1, eager)
    attached = drivers.compute.attach_disk(first.instance_uuid, disk.path, shared=True)
    assert attached.shared
    assert drivers.compute.attach_disk(second.instance_uuid, disk.path, shared=True).shared
    for spec in (first, second):
        on_vm = [d for d in drivers.compute.get_vm(spec.instance_uuid).disks if d.path == disk.path]
        assert [d.shared for d in on_vm] == [True]
        if backend.name == "vsphere":
            assert _sharing(backend, spec.instance_uuid, disk.path) == ["sharingMultiWriter"]
    # One VM lets go; the other keeps the disk, still shared.
    drivers.compute.detach_disk(first.instance_uuid, disk.path)
    assert disk.path not in [d.path for d in drivers.compute.get_vm(first.instance_uuid).disks]
    kept = [d for d in drivers.compute.get_vm(second.instance_uuid).disks if d.path == disk.path]
    assert [d.shared for d in kept] == [True]
    if backend.name == "vsphere":
        assert _sharing(backend, second.instance_uuid, disk.path) == ["sharingMultiWriter"]
    # A disk attached the ordinary way is not shared, and a VM made with a shared disk has it
    # shared from the start (a server built or remade with a multiattach volume).
    plain = drivers.volumes.create_disk(datastore, new_name(), 1, backend.thin)
    assert not drivers.compute.attach_disk(first.instance_uuid, plain.path).shared
    third = vm_spec(backend, disks=(DiskSpec(path=disk.path, shared=True),))
    drivers.compute.create_vm(third)
    made = [d for d in drivers.compute.get_vm(third.instance_uuid).disks if d.path == disk.path]
    assert [d.shared for d in made] == [True]
    if backend.name == "vsphere":
        # Unset, as sent (vcsim keeps None; vCenter fills in its default, sharingNone).
        assert _sharing(backend, first.instance_uuid, plain.path)[0] in ("None", "sharingNone")


def test_the_fake_refuses_an_unshared_second_vm(backend: Backend) -> None:
    if backend.fake is None:
        pytest.skip("vcsim lets any VM open any disk: vCenter's lock is the fake's to model")
    drivers = backend.drivers
    first, second = vm_spec(backend), vm_spec(backend)
    drivers.compute.create_vm(first)
    drivers.compute.create_vm(second)
    disk = drivers.volumes.create_disk(drivers.topology.datastores[0], new_name(), 1, backend.thin)
    drivers.compute.attach_disk(first.instance_uuid, disk.path)
    with pytest.raises(InvalidStateError):
        drivers.compute.attach_disk(second.instance_uuid, disk.path)
