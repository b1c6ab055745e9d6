"""The real `openstack` CLI against `vistack up` on the embedded vCenter: volume types,
volumes and snapshots, and the disks they are in vCenter (made on create, gone on delete)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.connection
import pytest

from tests.clients.compute_story import vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.drivers.volumes import volume_path
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.volumes import VSphereVolumes

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter_volumes(running_cloud: RunningCloud) -> Iterator[VSphereVolumes]:
    """The volume driver on its own session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield VSphereVolumes(session, Lookup(endpoint.datacenter))


def _wait(
    conn: openstack.connection.Connection,
    cloud: RunningCloud,
    kind: list[str],
    name: str,
    status: str,
) -> dict[str, Any]:
    """Poll over the SDK (a CLI process a poll costs a second), then show it with the CLI."""
    storage = conn.block_storage
    find = storage.find_snapshot if kind[-1] == "snapshot" else storage.find_volume
    deadline = time.monotonic() + 60
    while True:
        found = find(name, ignore_missing=False)
        if found.status == status:
            shown: dict[str, Any] = run_json(cloud, *kind, "show", name)
            return shown
        assert found.status not in ("error", "error_deleting"), found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def _wait_gone(conn: openstack.connection.Connection, kind: list[str], name: str) -> None:
    storage = conn.block_storage
    find = storage.find_snapshot if kind[-1] == "snapshot" else storage.find_volume
    deadline = time.monotonic() + 60
    while find(name, ignore_missing=True) is not None:
        assert time.monotonic() < deadline, name
        time.sleep(0.1)


def _disk(shown: dict[str, Any]) -> str:
    """The volume's disk path, from the pool an administrator sees (`host@vmware#datastore`)."""
    datastore = str(shown["os-vol-host-attr:host"]).rpartition("#")[2]
    return volume_path(datastore, str(shown["id"]))


def test_volume_story(
    running_cloud: RunningCloud,
    vcenter_volumes: VSphereVolumes,
    admin: openstack.connection.Connection,
) -> None:
    cloud = running_cloud
    type_name = unique("thin")
    run(cloud, "volume", "type", "create", "--property", "vmware:vmdk_type=thin", type_name)
    run(cloud, "volume", "type", "set", "--property", "tier=gold", type_name)
    shown_type = run_json(cloud, "volume", "type", "show", type_name)
    assert "tier" in str(shown_type["properties"])
    assert type_name in {t["Name"] for t in run_json(cloud, "volume", "type", "list")}

    name = unique("data")
    run(cloud, "volume", "create", "--size", "1", "--type", type_name, name)
    volume = _wait(admin, cloud, ["volume"], name, "available")
    assert volume["type"] == type_name and volume["size"] == 1
    disk = _disk(volume)
    assert vcenter_volumes.disk_exists(disk)
    assert name in {v["Name"] for v in run_json(cloud, "volume", "list")}

    renamed = unique("renamed")
    run(cloud, "volume", "set", "--name", renamed, "--description", "d", "--property", "a=b", name)
    volume = run_json(cloud, "volume", "show", renamed)
    assert volume["description"] == "d" and "a" in str(volume["properties"])

    snapshot = unique("snap")
    run(cloud, "volume", "snapshot", "create", "--volume", renamed, snapshot)
    _wait(admin, cloud, ["volume", "snapshot"], snapshot, "available")
    assert snapshot in {s["Name"] for s in run_json(cloud, "volume", "snapshot", "list")}
    run(cloud, "volume", "snapshot", "set", "--description", "s", snapshot)
    assert run_json(cloud, "volume", "snapshot", "show", snapshot)["description"] == "s"
    refused = run(cloud, "volume", "delete", renamed, check=False)
    assert refused.returncode != 0  # it has a snapshot
    run(cloud, "volume", "snapshot", "delete", snapshot)
    _wait_gone(admin, ["volume", "snapshot"], snapshot)

    run(cloud, "volume", "delete", renamed)
    _wait_gone(admin, ["volume"], renamed)
    assert not vcenter_volumes.disk_exists(disk)
    run(cloud, "volume", "type", "delete", type_name)
    assert type_name not in {t["Name"] for t in run_json(cloud, "volume", "type", "list")}


def test_volumes_from_an_image_and_a_volume(
    running_cloud: RunningCloud,
    vcenter_volumes: VSphereVolumes,
    admin: openstack.connection.Connection,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path)
    name = unique("boot")
    run(cloud, "volume", "create", "--size", "1", "--image", image["id"], name)
    volume = _wait(admin, cloud, ["volume"], name, "available")
    assert str(volume["bootable"]).lower() == "true"
    assert volume["volume_image_metadata"]["image_id"] == image["id"]
    assert vcenter_volumes.disk_exists(_disk(volume))
    clone = unique("clone")
    run(cloud, "volume", "create", "--size", "1", "--source", name, clone)
    copied = _wait(admin, cloud, ["volume"], clone, "available")
    assert vcenter_volumes.disk_exists(_disk(copied))
    run(cloud, "volume", "delete", clone, name)
    _wait_gone(admin, ["volume"], clone)
    _wait_gone(admin, ["volume"], name)
    assert not vcenter_volumes.disk_exists(_disk(volume))
    assert not vcenter_volumes.disk_exists(_disk(copied))
