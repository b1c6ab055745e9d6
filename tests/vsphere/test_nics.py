"""Plugging Neutron ports into VMs through the network driver, checked in the VM's own config.

The driver's answers are not trusted on their own: every NIC is read back with pyVmomi from
`config.hardware.device`, which is what vCenter (and an operator's govc/MOB) would show.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.vsphere.conftest import create_vm
from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.models import PortgroupInfo
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.networks import VSphereNetworks
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.vmomi import vim

MAC_A = "fa:16:3e:0a:00:01"
MAC_B = "fa:16:3e:0b:00:02"


@pytest.fixture
def lookup() -> Lookup:
    return Lookup(None)


@pytest.fixture
def networks(session: VCenterSession, lookup: Lookup) -> VSphereNetworks:
    return VSphereNetworks(session, lookup, task_timeout=30)


@pytest.fixture
def vm(session: VCenterSession) -> tuple[str, str]:
    """(instance UUID, moref) of a fresh powered-off VM with no NICs."""

    def make(client: Client) -> tuple[str, str]:
        moref = create_vm(client, f"nics-{uuid.uuid4().hex[:8]}")
        props = retrieve_one(client, client.moref("VirtualMachine", moref), ["config.instanceUuid"])
        assert props is not None
        return str(props.get("config.instanceUuid")), moref

    return session.call(make, idempotent=False)


@pytest.fixture
def portgroup(networks: VSphereNetworks) -> PortgroupInfo:
    return networks.create_portgroup("DVS0", f"vistack-{uuid.uuid4()}", 42)


def _switch_uuid(session: VCenterSession) -> str:
    def read(client: Client) -> str:
        return Lookup(None).switch(client, "DVS0").uuid

    return session.call(read)


def _vm_nics(session: VCenterSession, moref: str) -> list[Any]:
    """The VM's NIC devices as vSphere stores them."""

    def read(client: Client) -> list[Any]:
        props = retrieve_one(
            client, client.moref("VirtualMachine", moref), ["config.hardware.device"]
        )
        assert props is not None
        found = props.get("config.hardware.device") or ()
        return [d for d in found if isinstance(d, vim.vm.device.VirtualEthernetCard)]

    return session.call(read)


def test_plug_two_ports_then_unplug_one(
    session: VCenterSession,
    networks: VSphereNetworks,
    vm: tuple[str, str],
    portgroup: PortgroupInfo,
) -> None:
    instance_uuid, moref = vm
    switch_uuid = _switch_uuid(session)
    port_a, port_b = str(uuid.uuid4()), str(uuid.uuid4())

    first = networks.plug_port(instance_uuid, portgroup.key, MAC_A, port_a)
    # An upper-case MAC is stored as Neutron writes it: lower case.
    second = networks.plug_port(
        instance_uuid, portgroup.key, MAC_B.upper(), port_b, adapter="e1000e"
    )

    assert (first.mac, first.portgroup_key, first.switch_uuid, first.external_id) == (
        MAC_A,
        portgroup.key,
        switch_uuid,
        port_a,
    )
    assert (second.mac, second.external_id, second.adapter) == (MAC_B, port_b, "e1000e")
    assert first.device_key and second.device_key and first.device_key != second.device_key

    devices = _vm_nics(session, moref)
    assert len(devices) == 2
    by_mac = {d.macAddress: d for d in devices}
    assert set(by_mac) == {MAC_A, MAC_B}
    for device, port_id in ((by_mac[MAC_A], port_a), (by_mac[MAC_B], port_b)):
        assert device.addressType == "manual"
        assert isinstance(
            device.backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo
        )
        assert device.backing.port.portgroupKey == portgroup.key
        assert device.backing.port.switchUuid == switch_uuid
        assert device.externalId == port_id
        assert device.connectable.startConnected
    assert isinstance(by_mac[MAC_A], vim.vm.device.VirtualVmxnet3)
    assert isinstance(by_mac[MAC_B], vim.vm.device.VirtualE1000e)
    assert by_mac[MAC_A].key == first.device_key

    assert networks.list_nics(instance_uuid) == [first, second]

    networks.unplug_port(instance_uuid, MAC_A.upper())
    devices = _vm_nics(session, moref)
    assert [d.macAddress for d in devices] == [MAC_B]
    assert networks.list_nics(instance_uuid) == [second]


def test_compute_sees_the_plugged_port(
    session: VCenterSession,
    lookup: Lookup,
    networks: VSphereNetworks,
    vm: tuple[str, str],
    portgroup: PortgroupInfo,
) -> None:
    instance_uuid, _ = vm
    plugged = networks.plug_port(instance_uuid, portgroup.key, MAC_A, "port-1", adapter="e1000")
    compute = VSphereCompute(session, lookup, task_timeout=30)
    assert compute.get_vm(instance_uuid).nics == (plugged,)


def test_errors(networks: VSphereNetworks, vm: tuple[str, str], portgroup: PortgroupInfo) -> None:
    instance_uuid, _ = vm
    networks.plug_port(instance_uuid, portgroup.key, MAC_A, "port-1")

    with pytest.raises(AlreadyExistsError):
        networks.plug_port(instance_uuid, portgroup.key, MAC_A.upper(), "port-2")
    with pytest.raises(NotFoundError):
        networks.plug_port(str(uuid.uuid4()), portgroup.key, MAC_B, "port-2")
    with pytest.raises(NotFoundError):
        networks.plug_port(instance_uuid, "dvportgroup-999999", MAC_B, "port-2")
    with pytest.raises(InvalidStateError, match="pcnet32"):
        networks.plug_port(instance_uuid, portgroup.key, MAC_B, "port-2", adapter="pcnet32")
    with pytest.raises(InvalidStateError, match="MAC"):
        networks.plug_port(instance_uuid, portgroup.key, "fa:16:3e:zz:00:01", "port-2")
    with pytest.raises(NotFoundError):
        networks.unplug_port(instance_uuid, MAC_B)
    with pytest.raises(NotFoundError):
        networks.unplug_port(str(uuid.uuid4()), MAC_A)
    with pytest.raises(NotFoundError):
        networks.list_nics(str(uuid.uuid4()))
    # Nothing above changed the VM.
    assert [n.mac for n in networks.list_nics(instance_uuid)] == [MAC_A]
