"""A volume type's front-end QoS on an attached disk, and whether vCenter can encrypt
volumes, on the fake and on the embedded vCenter.

vcsim keeps the `storageIOAllocation` a `ReconfigVM_Task` sends (it stores the device as
sent), so the limit is read back from the VM's devices, as vCenter reports it. vcsim names a
`CryptoManagerKmip` in its service content but serves no such object: the driver reads that as
"no key provider", so encrypted volume types are refused there.
"""

from __future__ import annotations

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.models import DiskIo


def test_attached_disk_carries_the_iops_limit_and_shares(backend: Backend) -> None:
    drivers = backend.drivers
    spec = vm_spec(backend)
    drivers.compute.create_vm(spec)
    datastore = drivers.topology.datastores[0]
    limited = drivers.volumes.create_disk(datastore, new_name(), 1, backend.thin)
    plain = drivers.volumes.create_disk(datastore, new_name(), 1, backend.thin)
    io = DiskIo(iops_limit=500, shares_level="custom", shares=2000)
    attached = drivers.compute.attach_disk(spec.instance_uuid, limited.path, io)
    assert attached.io == io
    assert drivers.compute.attach_disk(spec.instance_uuid, plain.path).io is None
    if backend.name == "vsphere":
        from tests.contract.test_compute_disks import vsphere_props

        found = vsphere_props(backend, spec.instance_uuid, ["config.hardware.device"])
        disks = [
            d
            for d in found["config.hardware.device"]
            if getattr(getattr(d, "backing", None), "fileName", None) == limited.path
        ]
        assert disks[0].storageIOAllocation.limit == 500
        assert disks[0].storageIOAllocation.shares.shares == 2000
    drivers.compute.detach_disk(spec.instance_uuid, limited.path)
    again = drivers.compute.attach_disk(
        spec.instance_uuid, limited.path, DiskIo(iops_limit=100, shares_level="high")
    )
    assert again.io == DiskIo(iops_limit=100, shares_level="high")


def test_no_key_provider_without_a_kms(backend: Backend) -> None:
    assert backend.drivers.volumes.key_providers() == []
    if backend.fake is not None:
        backend.fake.state.key_providers.append("kms-1")
        assert backend.drivers.volumes.key_providers() == ["kms-1"]
