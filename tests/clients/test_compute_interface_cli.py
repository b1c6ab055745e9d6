"""The real `openstack` CLI attaching and detaching ports against `vistack up` on the embedded
vCenter: `server add network` / `server add port` hot-add a NIC carrying the port's MAC on
the network's port group (read back from the simulator with pyVmomi), and `server remove
port` / `server remove network` take it away again, deleting the ports Nova made and giving
back the one it was given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.compute_story import network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter_compute(running_cloud: RunningCloud) -> Iterator[VSphereCompute]:
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield VSphereCompute(session, Lookup(endpoint.datacenter))


def test_ports_are_hot_plugged_and_unplugged(
    running_cloud: RunningCloud, vcenter_compute: VSphereCompute, tmp_path: Path
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path, public=True)
    first = network_with_subnet(cloud, "10.92.0.0/24")
    second = network_with_subnet(cloud, "10.93.0.0/24")
    name = unique("web")
    server = run_json(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--network", first, "--wait", name,
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server

    run(cloud, "server", "add", "network", name, second)
    ports = run_json(cloud, "port", "list", "--server", server["id"])
    assert len(ports) == 2
    vm = vcenter_compute.get_vm(server["id"])
    assert sorted(n.mac for n in vm.nics) == sorted(p["MAC Address"] for p in ports)
    assert second in run_json(cloud, "server", "show", name)["addresses"]

    given = run_json(cloud, "port", "create", "--network", first, unique("port"))
    run(cloud, "server", "add", "port", name, given["id"])
    macs = [n.mac for n in vcenter_compute.get_vm(server["id"]).nics]
    assert len(macs) == 3 and given["mac_address"] in macs
    assert run_json(cloud, "port", "show", given["id"])["device_id"] == server["id"]

    run(cloud, "server", "remove", "port", name, given["id"])
    macs = [n.mac for n in vcenter_compute.get_vm(server["id"]).nics]
    assert given["mac_address"] not in macs and len(macs) == 2
    assert run_json(cloud, "port", "show", given["id"])["device_id"] == ""

    run(cloud, "server", "remove", "network", name, second)
    assert len(vcenter_compute.get_vm(server["id"]).nics) == 1
    owned = run_json(cloud, "port", "list", "--network", second, "--device-owner", "compute:nova")
    assert owned == []  # the port Nova made for the network is deleted
    assert second not in run_json(cloud, "server", "show", name)["addresses"]

    run(cloud, "server", "delete", "--wait", name)
    run(cloud, "port", "delete", given["id"])
    for network in (first, second):
        run(cloud, "subnet", "delete", network)
        run(cloud, "network", "delete", network)
