"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a server is a VM
cloned from the image's template, with the flavor's size and a NIC on the network's port group
carrying the port's MAC; stop, start, reboot and delete are seen in the simulator, and the
console log is the VM's serial port file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.compute_story import boot, network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import PowerState
from vistack.drivers.paths import SERIAL_LOG_NAME
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.drivers import vsphere_drivers
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter_compute(running_cloud: RunningCloud) -> Iterator[VSphereCompute]:
    """The compute driver on its own session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield VSphereCompute(session, Lookup(endpoint.datacenter))


def test_server_story(
    running_cloud: RunningCloud, vcenter_compute: VSphereCompute, tmp_path: Path
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path, public=True)
    network = network_with_subnet(cloud, "10.91.0.0/24")
    name = unique("web")
    server = boot(cloud, image["id"], network, name, "m1.small")
    vm = vcenter_compute.get_vm(server["id"])
    assert (vm.cpus, vm.memory_mb, vm.power_state) == (1, 2048, PowerState.ON)
    (port,) = run_json(cloud, "port", "list", "--server", server["id"])
    (nic,) = vm.nics
    assert nic.mac == port["MAC Address"]
    shown = run_json(cloud, "server", "show", name)
    assert network in shown["addresses"]

    run(cloud, "server", "stop", name)
    _wait(cloud, name, "SHUTOFF")
    assert vcenter_compute.get_vm(server["id"]).power_state == PowerState.OFF
    run(cloud, "server", "start", name)
    _wait(cloud, name, "ACTIVE")
    run(cloud, "server", "reboot", "--hard", "--wait", name)
    assert vcenter_compute.get_vm(server["id"]).power_state == PowerState.ON

    # The console log is the VM's serial.log: empty until the guest writes to its serial port
    # (the simulator runs no guest, so the test writes where the guest's output would go).
    assert run(cloud, "console", "log", "show", name).stdout.strip() == ""
    running = vcenter_compute.get_vm(server["id"])
    guest_output = "".join(f"cloud-init line {n}\n" for n in range(12))
    upload_guest_output(cloud, running.datastore, running.name, guest_output.encode())
    tail = run(cloud, "console", "log", "show", "--lines", "3", name).stdout
    assert tail.strip().splitlines() == ["cloud-init line 10", "cloud-init line 11"]

    run(cloud, "server", "delete", "--wait", name)
    with pytest.raises(NotFoundError):
        vcenter_compute.get_vm(server["id"])
    assert (
        run_json(cloud, "port", "list", "--network", network, "--device-owner", "compute:nova")
        == []
    )
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)


def upload_guest_output(cloud: RunningCloud, datastore: str, folder: str, data: bytes) -> None:
    """Write `data` as the VM's serial log, through the datastore, as the VM's serial port
    would when its guest writes to the console."""
    endpoint = read_endpoint_file(cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        images = vsphere_drivers(session, endpoint).images
        images.upload_image(datastore, folder, SERIAL_LOG_NAME, [data], len(data))


def _wait(cloud: RunningCloud, name: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if run_json(cloud, "server", "show", name)["status"] == status:
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} never reached {status}")
