"""The fake network driver's port plugging: same answers and errors as the vSphere driver."""

from __future__ import annotations

import uuid

import pytest

from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.fake import FakeCloud
from vistack.drivers.models import PortgroupInfo, VMSpec

MAC_A = "fa:16:3e:0a:00:01"
MAC_B = "fa:16:3e:0b:00:02"


@pytest.fixture
def fake() -> FakeCloud:
    return FakeCloud()


@pytest.fixture
def vm(fake: FakeCloud) -> str:
    topology = fake.drivers().topology
    spec = VMSpec(
        instance_uuid=str(uuid.uuid4()),
        name=uuid.uuid4().hex,
        cluster=topology.clusters[0],
        datastore=topology.datastores[0],
        cpus=1,
        memory_mb=128,
    )
    return fake.compute.create_vm(spec).instance_uuid


@pytest.fixture
def portgroup(fake: FakeCloud) -> PortgroupInfo:
    return fake.networks.create_portgroup("DVS0", f"vistack-{uuid.uuid4()}", 42)


def test_plug_list_unplug(fake: FakeCloud, vm: str, portgroup: PortgroupInfo) -> None:
    networks = fake.networks
    first = networks.plug_port(vm, portgroup.key, MAC_A.upper(), "port-a")
    second = networks.plug_port(vm, portgroup.key, MAC_B, "port-b", adapter="e1000")

    assert (first.mac, first.portgroup_key, first.external_id, first.adapter) == (
        MAC_A,
        portgroup.key,
        "port-a",
        "vmxnet3",
    )
    assert first.switch_uuid and first.switch_uuid == second.switch_uuid
    assert (first.device_key, second.device_key) == (4000, 4001)
    assert not first.connected  # the VM is off, and vCenter says so
    assert networks.list_nics(vm) == [first, second]
    assert fake.compute.get_vm(vm).nics == (first, second)

    fake.compute.power_on(vm)
    assert all(n.connected for n in networks.list_nics(vm))

    networks.unplug_port(vm, MAC_A.upper())
    assert [n.mac for n in networks.list_nics(vm)] == [MAC_B]
    # Device keys are not reused while a later NIC holds a higher one.
    third = networks.plug_port(vm, portgroup.key, MAC_A, "port-c")
    assert third.device_key == 4002


def test_a_plugged_port_keeps_its_portgroup(
    fake: FakeCloud, vm: str, portgroup: PortgroupInfo
) -> None:
    fake.networks.plug_port(vm, portgroup.key, MAC_A, "port-a")
    with pytest.raises(InvalidStateError):
        fake.networks.delete_portgroup(portgroup.key)
    fake.networks.unplug_port(vm, MAC_A)
    fake.networks.delete_portgroup(portgroup.key)


def test_errors(fake: FakeCloud, vm: str, portgroup: PortgroupInfo) -> None:
    networks = fake.networks
    networks.plug_port(vm, portgroup.key, MAC_A, "port-a")

    with pytest.raises(AlreadyExistsError):
        networks.plug_port(vm, portgroup.key, MAC_A.upper(), "port-b")
    with pytest.raises(NotFoundError):
        networks.plug_port(str(uuid.uuid4()), portgroup.key, MAC_B, "port-b")
    with pytest.raises(NotFoundError):
        networks.plug_port(vm, "dvportgroup-999999", MAC_B, "port-b")
    with pytest.raises(InvalidStateError, match="pcnet32"):
        networks.plug_port(vm, portgroup.key, MAC_B, "port-b", adapter="pcnet32")
    with pytest.raises(InvalidStateError, match="MAC"):
        networks.plug_port(vm, portgroup.key, "not-a-mac", "port-b")
    with pytest.raises(NotFoundError):
        networks.unplug_port(vm, MAC_B)
    with pytest.raises(NotFoundError):
        networks.unplug_port(str(uuid.uuid4()), MAC_A)
    with pytest.raises(NotFoundError):
        networks.list_nics(str(uuid.uuid4()))
    assert [n.mac for n in networks.list_nics(vm)] == [MAC_A]


def test_injected_faults_reach_plug_port(
    fake: FakeCloud, vm: str, portgroup: PortgroupInfo
) -> None:
    fake.fail_next("plug_port", InvalidStateError("vCenter busy"))
    with pytest.raises(InvalidStateError, match="busy"):
        fake.networks.plug_port(vm, portgroup.key, MAC_A, "port-a")
    assert fake.networks.list_nics(vm) == []
