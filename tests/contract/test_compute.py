"""Contract: the compute driver, identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import uuid

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.models import DiskSpec, NicSpec, PowerState, VMSpec
from vistack.drivers.volumes import volume_path


def test_list_clusters_reports_hosts_capacity_and_datastores(backend: Backend) -> None:
    clusters = backend.drivers.compute.list_clusters()
    topology = backend.drivers.topology
    assert sorted(c.name for c in clusters) == sorted(topology.clusters)
    for cluster in clusters:
        assert cluster.id and len(cluster.hosts) == 3
        assert cluster.cpu_cores > 0 and 0 <= cluster.cpu_mhz_free <= cluster.cpu_mhz_total
        assert 0 <= cluster.memory_mb_free <= cluster.memory_mb_total
        assert set(cluster.datastores) == set(topology.datastores)


def test_create_vm_builds_a_powered_off_vm_as_specified(backend: Backend) -> None:
    spec = vm_spec(backend, cpus=2, memory_mb=512, disks=(DiskSpec(size_gb=1, root=True),))
    vm = backend.drivers.compute.create_vm(spec)
    assert vm.instance_uuid == spec.instance_uuid and vm.name == spec.name
    assert (vm.cpus, vm.memory_mb, vm.power_state) == (2, 512, PowerState.OFF)
    assert vm.cluster == spec.cluster and vm.datastore == spec.datastore
    assert vm.host in next(
        c.hosts for c in backend.drivers.compute.list_clusters() if c.name == spec.cluster
    )
    assert [d.capacity_gb for d in vm.disks] == [1]
    assert vm.disks[0].path.startswith(f"[{spec.datastore}] ")


def test_create_vm_with_nic_keeps_the_neutron_mac(backend: Backend) -> None:
    portgroup = backend.drivers.networks.list_portgroups()[0]
    nic = NicSpec(portgroup.key, "fa:16:3e:00:00:01")
    vm = backend.drivers.compute.create_vm(vm_spec(backend, nics=(nic,)))
    assert [(n.mac, n.portgroup) for n in vm.nics] == [(nic.mac, portgroup.key)]


def test_create_vm_twice_with_one_instance_uuid_is_refused(backend: Backend) -> None:
    spec = vm_spec(backend)
    backend.drivers.compute.create_vm(spec)
    again = VMSpec(**{**spec.__dict__, "name": new_name()})
    with pytest.raises(AlreadyExistsError):
        backend.drivers.compute.create_vm(again)


def test_create_vm_with_a_taken_name_is_refused(backend: Backend) -> None:
    spec = vm_spec(backend)
    backend.drivers.compute.create_vm(spec)
    with pytest.raises(AlreadyExistsError):
        backend.drivers.compute.create_vm(vm_spec(backend, name=spec.name))


def test_create_vm_on_unknown_cluster_or_portgroup_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.compute.create_vm(vm_spec(backend, cluster="no-such-cluster"))
    with pytest.raises(NotFoundError):
        backend.drivers.compute.create_vm(
            vm_spec(backend, nics=(NicSpec("dvportgroup-999999", "fa:16:3e:00:00:02"),))
        )


def test_get_vm_of_unknown_uuid_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.compute.get_vm(str(uuid.uuid4()))


def test_list_vms_includes_created_vms_and_no_templates(backend: Backend) -> None:
    created = backend.drivers.compute.create_vm(vm_spec(backend))
    listed = {vm.instance_uuid: vm for vm in backend.drivers.compute.list_vms()}
    assert listed[created.instance_uuid] == created


def test_power_cycle_and_state_errors(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    with pytest.raises(InvalidStateError):
        compute.power_off(vm.instance_uuid)
    compute.power_on(vm.instance_uuid)
    assert compute.get_vm(vm.instance_uuid).power_state is PowerState.ON
    with pytest.raises(InvalidStateError):
        compute.power_on(vm.instance_uuid)
    compute.power_off(vm.instance_uuid)
    assert compute.get_vm(vm.instance_uuid).power_state is PowerState.OFF


def test_hard_reboot_needs_a_running_vm(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    with pytest.raises(InvalidStateError):
        compute.reboot(vm.instance_uuid, hard=True)
    compute.power_on(vm.instance_uuid)
    compute.reboot(vm.instance_uuid, hard=True)
    assert compute.get_vm(vm.instance_uuid).power_state is PowerState.ON


def test_soft_reboot_keeps_the_vm_running(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    compute.power_on(vm.instance_uuid)
    compute.reboot(vm.instance_uuid, hard=False)
    assert compute.get_vm(vm.instance_uuid).power_state is PowerState.ON


def test_destroy_refuses_a_running_vm_then_removes_it(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    compute.power_on(vm.instance_uuid)
    with pytest.raises(InvalidStateError):
        compute.destroy_vm(vm.instance_uuid)
    compute.power_off(vm.instance_uuid)
    compute.destroy_vm(vm.instance_uuid)
    with pytest.raises(NotFoundError):
        compute.get_vm(vm.instance_uuid)
    assert vm.instance_uuid not in {v.instance_uuid for v in compute.list_vms()}


def test_destroy_of_an_absent_vm_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.compute.destroy_vm(str(uuid.uuid4()))


def test_operations_on_a_destroyed_vm_are_not_found(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    compute.power_on(vm.instance_uuid)  # warms any uuid -> moref cache
    compute.power_off(vm.instance_uuid)
    compute.destroy_vm(vm.instance_uuid)
    with pytest.raises(NotFoundError):
        compute.power_on(vm.instance_uuid)


def test_reconfigure_changes_cpus_and_memory(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend, cpus=1, memory_mb=256))
    resized = compute.reconfigure(vm.instance_uuid, cpus=4, memory_mb=1024)
    assert (resized.cpus, resized.memory_mb) == (4, 1024)
    assert compute.get_vm(vm.instance_uuid) == resized


def test_attach_and_detach_nic(backend: Backend) -> None:
    compute = backend.drivers.compute
    portgroup = backend.drivers.networks.list_portgroups()[0]
    vm = compute.create_vm(vm_spec(backend))
    nic = compute.attach_nic(vm.instance_uuid, NicSpec(portgroup.key, "fa:16:3e:00:00:10"))
    assert nic.mac == "fa:16:3e:00:00:10" and nic.portgroup == portgroup.key
    assert compute.get_vm(vm.instance_uuid).nics == (nic,)
    with pytest.raises(AlreadyExistsError):
        compute.attach_nic(vm.instance_uuid, NicSpec(portgroup.key, "fa:16:3e:00:00:10"))
    compute.detach_nic(vm.instance_uuid, nic.mac)
    assert compute.get_vm(vm.instance_uuid).nics == ()
    with pytest.raises(NotFoundError):
        compute.detach_nic(vm.instance_uuid, nic.mac)


def test_attach_grow_and_detach_a_volume_keeps_the_disk(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    vm = compute.create_vm(vm_spec(backend))
    disk = volumes.create_disk(vm.datastore, new_name(), 1, backend.thin)
    attached = compute.attach_disk(vm.instance_uuid, disk.path)
    assert attached.path == disk.path
    assert disk.path in [d.path for d in compute.get_vm(vm.instance_uuid).disks]
    with pytest.raises(AlreadyExistsError):
        compute.attach_disk(vm.instance_uuid, disk.path)
    grown = compute.grow_disk(vm.instance_uuid, disk.path, 3)
    assert grown.capacity_gb == 3
    with pytest.raises(InvalidStateError):
        compute.grow_disk(vm.instance_uuid, disk.path, 2)
    compute.detach_disk(vm.instance_uuid, disk.path)
    assert disk.path not in [d.path for d in compute.get_vm(vm.instance_uuid).disks]
    assert volumes.disk_exists(disk.path)
    with pytest.raises(NotFoundError):
        compute.detach_disk(vm.instance_uuid, disk.path)


def test_attach_of_a_missing_disk_is_not_found(backend: Backend) -> None:
    vm = backend.drivers.compute.create_vm(vm_spec(backend))
    missing = volume_path(vm.datastore, new_name())
    with pytest.raises(NotFoundError):
        backend.drivers.compute.attach_disk(vm.instance_uuid, missing)


@pytest.mark.vcsim_cannot_prove("vcsim's Destroy_Task keeps disks outside the VM's directory")
def test_destroy_deletes_disks_still_attached(backend: Backend) -> None:
    compute, volumes = backend.drivers.compute, backend.drivers.volumes
    vm = compute.create_vm(vm_spec(backend))
    disk = volumes.create_disk(vm.datastore, new_name(), 1, backend.thin)
    compute.attach_disk(vm.instance_uuid, disk.path)
    compute.destroy_vm(vm.instance_uuid)
    assert not volumes.disk_exists(disk.path)


def test_clone_from_template_takes_the_specs_shape(backend: Backend) -> None:
    compute = backend.drivers.compute
    template = backend.template()
    portgroup = backend.drivers.networks.list_portgroups()[0]
    spec = vm_spec(
        backend,
        template=template,
        cpus=2,
        memory_mb=768,
        nics=(NicSpec(portgroup.key, "fa:16:3e:00:00:20"),),
        disks=(DiskSpec(size_gb=2, root=True),),
    )
    vm = compute.create_vm(spec)
    assert (vm.cpus, vm.memory_mb, vm.power_state) == (2, 768, PowerState.OFF)
    assert [n.mac for n in vm.nics] == ["fa:16:3e:00:00:20"]
    assert vm.disks[0].capacity_gb == 2
    compute.power_on(vm.instance_uuid)
    assert compute.get_vm(vm.instance_uuid).power_state is PowerState.ON


def test_template_is_not_a_vm(backend: Backend) -> None:
    template = backend.template()
    assert template.id not in {vm.id for vm in backend.drivers.compute.list_vms()}


@pytest.mark.vcsim_cannot_prove("vcsim has no admission control; powers on whatever fits or not")
def test_power_on_beyond_cluster_memory_is_no_capacity(backend: Backend) -> None:
    compute = backend.drivers.compute
    cluster = compute.list_clusters()[0]
    vm = compute.create_vm(
        vm_spec(backend, cluster=cluster.name, memory_mb=cluster.memory_mb_free + 1)
    )
    with pytest.raises(NoCapacityError):
        compute.power_on(vm.instance_uuid)
