"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a server's snapshot
(`server image create --wait`) boots a new server, `server rebuild` remakes the VM with the
same MAC, `server rescue` boots a rescue disk, `server backup create` makes a backup, and
`server shelve` / `server unshelve` take the VM away and bring it back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.clients.compute_story import boot, network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.clients.test_compute_cli import vcenter_compute  # noqa: F401  (fixture)
from tests.conftest import RunningCloud
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import PowerState
from vistack.vsphere.compute import VSphereCompute

pytestmark = pytest.mark.clients


def test_snapshot_rebuild_and_shelve_story(
    running_cloud: RunningCloud,
    vcenter_compute: VSphereCompute,  # noqa: F811
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path, public=True)
    network = network_with_subnet(cloud, "10.92.0.0/24")
    name = unique("web")
    server = boot(cloud, image["id"], network, name)
    (nic,) = vcenter_compute.get_vm(server["id"]).nics

    snapshot = run_json(cloud, "server", "image", "create", "--wait", "--name", unique("s"), name)
    shown = run_json(cloud, "image", "show", snapshot["id"])
    assert shown["status"] == "active" and shown["disk_format"] == "vmdk"
    assert shown["properties"]["instance_uuid"] == server["id"]
    assert shown["properties"]["image_type"] == "snapshot"
    clone = run_json(
        cloud, "server", "create", "--image", snapshot["id"], "--flavor", "m1.tiny",
        "--network", network, "--wait", unique("clone"),
    )  # fmt: skip
    assert clone["status"] == "ACTIVE", clone
    run(cloud, "server", "delete", "--wait", clone["id"])

    old_vm = vcenter_compute.get_vm(server["id"])
    run(cloud, "server", "rebuild", "--image", snapshot["id"], "--wait", name)
    rebuilt = run_json(cloud, "server", "show", name)
    assert rebuilt["status"] == "ACTIVE" and snapshot["id"] in str(rebuilt["image"])
    vm = vcenter_compute.get_vm(server["id"])
    assert vm.id != old_vm.id and vm.power_state == PowerState.ON
    assert [n.mac for n in vm.nics] == [nic.mac]

    run(cloud, "server", "rescue", name)
    _wait(cloud, name, "RESCUE")
    disks = [d.path for d in vcenter_compute.get_vm(server["id"]).disks]
    assert len(disks) == 2 and disks[1].endswith("-rescue.vmdk")
    run(cloud, "server", "unrescue", name)
    _wait(cloud, name, "ACTIVE")
    assert len(vcenter_compute.get_vm(server["id"]).disks) == 1

    backup = unique("b")
    run(cloud, "server", "backup", "create", "--name", backup, "--type", "daily", "--rotate", "1",
        "--wait", name)  # fmt: skip
    (made,) = [i for i in run_json(cloud, "image", "list", "--name", backup)]
    assert run_json(cloud, "image", "show", made["ID"])["properties"]["backup_type"] == "daily"
    _wait(cloud, name, "ACTIVE")
    run(cloud, "image", "delete", made["ID"])

    run(cloud, "server", "shelve", name)
    _wait(cloud, name, "SHELVED_OFFLOADED")
    with pytest.raises(NotFoundError):
        vcenter_compute.get_vm(server["id"])
    run(cloud, "server", "unshelve", name)
    _wait(cloud, name, "ACTIVE")
    vm = vcenter_compute.get_vm(server["id"])
    assert [n.mac for n in vm.nics] == [nic.mac]

    run(cloud, "server", "delete", "--wait", name)
    run(cloud, "image", "delete", snapshot["id"])
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)


def _wait(cloud: RunningCloud, name: str, status: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if run_json(cloud, "server", "show", name)["status"] == status:
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} never reached {status}")
