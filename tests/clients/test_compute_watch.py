"""vCenter's changes reach Nova through the inventory's `WaitForUpdatesEx` watch, not the
periodic sync: this cloud's periodic round is an hour away, so only the watch can make a VM
powered off, powered on or deleted in vCenter show on its server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.compute_story import boot, network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud, start_cloud, stop_cloud
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture(scope="module")
def watched_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    data_dir = tmp_path_factory.mktemp("watched") / "data"
    cloud = start_cloud(data_dir, {"VISTACK_COMPUTE_POWER_SYNC_SECONDS": "3600"})
    yield cloud
    stop_cloud(cloud)


def test_vm_changes_in_vcenter_show_on_the_server(
    watched_cloud: RunningCloud, tmp_path: Path
) -> None:
    cloud = watched_cloud
    image = vmdk_image(cloud, tmp_path)
    network = network_with_subnet(cloud, "10.92.0.0/24")
    server = boot(cloud, image["id"], network, unique("watched"))
    endpoint = read_endpoint_file(cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        vcenter = VSphereCompute(session, Lookup(endpoint.datacenter))
        vcenter.power_off(server["id"])
        _wait_status(cloud, server["id"], "SHUTOFF")
        vcenter.power_on(server["id"])
        _wait_status(cloud, server["id"], "ACTIVE")
        vcenter.power_off(server["id"])
        _wait_status(cloud, server["id"], "SHUTOFF")
        vcenter.destroy_vm(server["id"])
        shown = _wait_status(cloud, server["id"], "ERROR")
    assert "gone from vCenter" in str(shown.get("fault")), shown
    run(cloud, "server", "delete", "--wait", server["id"])


def _wait_status(cloud: RunningCloud, server_id: str, status: str) -> dict[str, object]:
    """Up to a minute (a loaded CI machine), far below the periodic round's hour."""
    deadline = time.monotonic() + 60
    while True:
        shown = run_json(cloud, "server", "show", server_id)
        if shown["status"] == status or time.monotonic() > deadline:
            assert shown["status"] == status, shown
            return dict(shown)
        time.sleep(0.5)
