"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a server resized with
`--wait` (the VM reconfigured and its root disk grown in the simulator), confirmed, reverted,
then live- and cold-migrated between the simulator's two clusters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openstack.connection
import pytest

from tests.clients.compute_story import network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.clients.test_compute_cli import _wait
from tests.conftest import RunningCloud
from vistack.drivers.models import PowerState
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[VSphereCompute]:
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield VSphereCompute(session, Lookup(endpoint.datacenter))


def test_resize_and_migrations(
    running_cloud: RunningCloud,
    vcenter: VSphereCompute,
    admin: openstack.connection.Connection,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path, public=True)
    network = network_with_subnet(cloud, "10.92.0.0/24")
    name = unique("grow")
    server = run_json(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--network", network, "--wait", name,
    )  # fmt: skip
    root = vcenter.get_vm(server["id"]).disks[0]

    run(cloud, "server", "resize", "--flavor", "m1.small", "--wait", name)
    shown = run_json(cloud, "server", "show", name)
    assert shown["status"] == "VERIFY_RESIZE", shown
    vm = vcenter.get_vm(server["id"])
    assert (vm.memory_mb, vm.power_state) == (2048, PowerState.ON)
    assert vm.disks[0].path == root.path and vm.disks[0].capacity_gb == 20
    run(cloud, "server", "resize", "revert", name)
    _wait(cloud, name, "ACTIVE")
    vm = vcenter.get_vm(server["id"])
    assert (vm.memory_mb, vm.disks[0].capacity_gb) == (512, root.capacity_gb)

    run(cloud, "server", "resize", "--flavor", "m1.small", "--wait", name)
    run(cloud, "server", "resize", "confirm", name)
    _wait(cloud, name, "ACTIVE")
    assert vcenter.get_vm(server["id"]).memory_mb == 2048

    before = run_json(cloud, "server", "show", name)["OS-EXT-SRV-ATTR:host"]
    # `openstack server migrate --live-migration` below 2.25 passes openstacksdk a keyword it
    # does not take (`disk_overcommit`): a client bug; the SDK itself is the client here.
    admin.compute.live_migrate_server(
        server["id"], host=None, block_migration=False, disk_over_commit=False
    )
    _wait_host(cloud, name, before)
    after = run_json(cloud, "server", "show", name)
    assert after["status"] == "ACTIVE" and after["OS-EXT-SRV-ATTR:host"] != before
    vm = vcenter.get_vm(server["id"])
    assert vm.cluster == after["OS-EXT-SRV-ATTR:host"] and vm.power_state == PowerState.ON

    run(cloud, "server", "migrate", "--wait", name)
    _wait(cloud, name, "VERIFY_RESIZE")
    run(cloud, "server", "migrate", "confirm", name)
    _wait(cloud, name, "ACTIVE")
    assert vcenter.get_vm(server["id"]).cluster == before
    listed = run_json(cloud, "server", "migration", "list", "--server", name)
    assert sorted(m["Status"] for m in listed) == [
        "completed",
        "confirmed",
        "confirmed",
        "reverted",
    ]

    run(cloud, "server", "delete", "--wait", name)
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)


def _wait_host(cloud: RunningCloud, name: str, old_host: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = run_json(cloud, "server", "show", name)
        if shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] != old_host:
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} never left {old_host}")
