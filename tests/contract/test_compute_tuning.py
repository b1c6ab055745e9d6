"""A flavor's tuning (CPU and memory limits, reservations, shares; the hardware version) on the
VM, on the fake and on the embedded vCenter: set at the build, changed by a resize, read back
from the VM's own configuration, and never a hardware downgrade."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, vm_spec
from vistack.drivers.errors import InvalidStateError, UnsupportedError
from vistack.drivers.hw_version import version_number
from vistack.drivers.models import Allocation, DiskSpec, VMTuning

TUNED = VMTuning(
    cpu=Allocation(limit=2000, reservation=500, shares_level="high"),
    memory=Allocation(limit=1024, reservation=256, shares_level="custom", shares=2500),
)


def test_a_clone_gets_the_flavors_allocations(backend: Backend) -> None:
    spec = vm_spec(
        backend, template=backend.template(), disks=(DiskSpec(1, root=True),), tuning=TUNED
    )
    made = backend.drivers.compute.create_vm(spec)
    read = backend.drivers.compute.get_vm(spec.instance_uuid)
    assert (made.tuning.cpu, made.tuning.memory) == (TUNED.cpu, TUNED.memory)
    assert (read.tuning.cpu, read.tuning.memory) == (TUNED.cpu, TUNED.memory)
    assert read.tuning.hw_version is not None and read.tuning.hw_version.startswith("vmx-")


def test_a_vm_without_tuning_reads_back_as_vsphere_defaults(backend: Backend) -> None:
    spec = vm_spec(backend, template=backend.template(), disks=(DiskSpec(1, root=True),))
    made = backend.drivers.compute.create_vm(spec)
    assert (made.tuning.cpu, made.tuning.memory) == (Allocation(), Allocation())


VCSIM_UPGRADE = "UpgradeVM_Task always sets vcsim's own vmx-13, whatever version is asked"


@pytest.mark.vcsim_cannot_prove(VCSIM_UPGRADE)
def test_the_hardware_version_is_raised_and_never_lowered(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(backend, template=backend.template(), disks=(DiskSpec(1, root=True),))
    current = compute.create_vm(spec).tuning.hw_version
    assert current is not None
    newer = f"vmx-{version_number(current) + 1}"
    raised = compute.resize_vm(
        spec.instance_uuid,
        cpus=1,
        memory_mb=256,
        cores_per_socket=1,
        root_gb=0,
        tuning=VMTuning(hw_version=newer),
    )
    assert raised.tuning.hw_version == newer
    older = f"vmx-{version_number(current) - 1}"
    with pytest.raises(InvalidStateError, match="cannot downgrade"):
        compute.resize_vm(
            spec.instance_uuid,
            cpus=1,
            memory_mb=256,
            cores_per_socket=1,
            root_gb=0,
            tuning=VMTuning(hw_version=older),
        )
    assert compute.get_vm(spec.instance_uuid).tuning.hw_version == newer


@pytest.mark.vcsim_cannot_prove(VCSIM_UPGRADE)
def test_a_clone_asking_for_a_newer_version_is_upgraded(backend: Backend) -> None:
    compute = backend.drivers.compute
    probe = vm_spec(backend, template=backend.template(), disks=(DiskSpec(1, root=True),))
    current = compute.create_vm(probe).tuning.hw_version
    assert current is not None
    newer = f"vmx-{version_number(current) + 2}"
    spec = vm_spec(
        backend,
        template=backend.template(),
        disks=(DiskSpec(1, root=True),),
        tuning=VMTuning(hw_version=newer),
    )
    assert compute.create_vm(spec).tuning.hw_version == newer


def test_a_resize_replaces_the_allocations(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(
        backend, template=backend.template(), disks=(DiskSpec(1, root=True),), tuning=TUNED
    )
    compute.create_vm(spec)
    resized = compute.resize_vm(
        spec.instance_uuid, cpus=2, memory_mb=512, cores_per_socket=1, root_gb=0, tuning=VMTuning()
    )
    assert (resized.cpus, resized.memory_mb) == (2, 512)
    assert (resized.tuning.cpu, resized.tuning.memory) == (Allocation(), Allocation())


def test_a_version_the_backend_will_not_give_is_an_error_not_a_silent_success(
    backend: Backend,
) -> None:
    """On vcsim an upgrade lands on vmx-13 whatever is asked: the driver says so."""
    if backend.name != "vsphere":
        pytest.skip("the fake upgrades to what is asked")
    compute = backend.drivers.compute
    spec = vm_spec(backend, template=backend.template(), disks=(DiskSpec(1, root=True),))
    compute.create_vm(spec)
    with pytest.raises(UnsupportedError, match="vmx-19"):
        compute.resize_vm(
            spec.instance_uuid,
            cpus=1,
            memory_mb=256,
            cores_per_socket=1,
            root_gb=0,
            tuning=VMTuning(hw_version="vmx-19"),
        )
