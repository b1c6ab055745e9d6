"""createImage of a volume-backed server through HTTP on the fake vCenter, with the cloud's own
block storage service behind Nova's volume port: each volume of the server gets a Cinder
snapshot, the Glance image is active with no data and maps them (`bdm_v2`,
`block_device_mapping`, `root_device_name`), a server booted from that image gets volumes made
from the snapshots, deleting the image keeps the snapshots and a deleted snapshot makes the
boot a 400 naming it; a snapshot that fails leaves no image and no snapshot, and the action
says why; createBackup is Nova's 400."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.api.compute_env import Env, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, mv, vm_disks
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi, ImageApi, VolumeApi
from tests.api.helpers import persona_fixture, unique
from tests.api.test_compute_servers import fault, wait_status
from tests.api.test_compute_snapshots import image_of, wait_image, wait_image_gone, wait_task_none
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.fake.volumes import FakeVolumes
from vistack.drivers.models import DiskInfo, Provisioning

pytestmark = COMPUTE_ON_SQLITE_ONLY

member = persona_fixture("compute_api")
env = env_fixture("10.48.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()


def create_server(api: ComputeApi, env: Env, **fields: Any) -> Any:
    server = {
        "name": unique("vbs"),
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        **fields,
    }
    return api.post("/servers", token=env.member.token, json={"server": server}, headers=mv("2.3"))


def boot_from_volume(api: ComputeApi, env: Env) -> tuple[str, str, str]:
    """An ACTIVE server with a 2 GB root volume made from the env's image (deleted with the
    server) and a 1 GB blank data volume (kept): (server, root volume, data volume)."""
    root = {
        "source_type": "image",
        "destination_type": "volume",
        "uuid": env.image_id,
        "boot_index": 0,
        "volume_size": 2,
        "delete_on_termination": True,
    }
    data = {"source_type": "blank", "destination_type": "volume", "volume_size": 1}
    response = create_server(api, env, block_device_mapping_v2=[root, data])
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    wait_status(api, server_id, env.member.token, "ACTIVE")
    root_id, data_id = attached(api, env, server_id)
    return server_id, root_id, data_id


def attached(api: ComputeApi, env: Env, server_id: str) -> list[str]:
    shown = api.get(f"/servers/{server_id}", token=env.member.token, headers=mv("2.3"))
    return [v["id"] for v in shown.json()["server"]["os-extended-volumes:volumes_attached"]]


def create_image(api: ComputeApi, env: Env, server_id: str, **fields: Any) -> Any:
    body = {"createImage": {"name": unique("vbs-image"), **fields}}
    path = f"/servers/{server_id}/action"
    return api.post(path, token=env.member.token, json=body, headers=mv("2.45"))


def snapshots_of(cinder: VolumeApi, env: Env, volume_ids: list[str]) -> list[dict[str, Any]]:
    listed = cinder.get("/snapshots/detail", token=env.member.token).json()["snapshots"]
    return [s for s in listed if s["volume_id"] in volume_ids]


def action_of(api: ComputeApi, server_id: str, name: str) -> dict[str, Any]:
    """The server's latest `name` action with its events, as an administrator sees it."""
    path = f"/servers/{server_id}/os-instance-actions"
    listed = api.get(path, headers=mv("2.51")).json()["instanceActions"]
    latest = next(a for a in listed if a["action"] == name)
    shown = api.get(f"{path}/{latest['request_id']}", headers=mv("2.51"))
    found: dict[str, Any] = shown.json()["instanceAction"]
    return found


def test_create_image_snapshots_the_volumes_and_the_image_boots_from_them(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    token = env.member.token
    server_id, root_id, data_id = boot_from_volume(compute_api, env)
    volume_metadata = cinder.get(f"/volumes/{root_id}", token=token).json()["volume"]
    assert volume_metadata["volume_image_metadata"]["image_id"] == env.image_id

    response = create_image(compute_api, env, server_id, metadata={"purpose": "golden"})
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    image = wait_image(compute_api, image_id, token, "active")
    server = wait_task_none(compute_api, server_id, token)
    assert server["status"] == "ACTIVE"
    assert (image["size"], image["disk_format"], image["container_format"]) == (0, "raw", "bare")
    assert image["bdm_v2"] == "True" and image["root_device_name"] == "/dev/sda"
    assert (image["image_type"], image["instance_uuid"]) == ("snapshot", server_id)
    assert image["purpose"] == "golden" and "image_name" not in image
    snapshots = {s["volume_id"]: s for s in snapshots_of(cinder, env, [root_id, data_id])}
    assert {v: s["status"] for v, s in snapshots.items()} == {
        root_id: "available",
        data_id: "available",
    }
    mappings = json.loads(image["block_device_mapping"])
    assert [
        (
            m["source_type"],
            m["destination_type"],
            m["snapshot_id"],
            m["volume_size"],
            m["boot_index"],
            m["device_name"],
            m["delete_on_termination"],
        )
        for m in mappings
    ] == [
        ("snapshot", "volume", snapshots[root_id]["id"], 2, 0, "/dev/sda", True),
        ("snapshot", "volume", snapshots[data_id]["id"], 1, None, "/dev/sdb", False),
    ]
    action = action_of(compute_api, server_id, "createImage")
    assert action["events"][0]["event"] == "api_snapshot_instance"
    assert action["events"][0]["result"] == "Success"

    # A server booted from the image is volume-backed, its volumes made from the snapshots;
    # it shows the image it was booted from, as Nova (which keeps the imageRef as the
    # instance's image_ref) does.
    booted = create_server(compute_api, env, imageRef=image_id)
    assert booted.status_code == 202, booted.text
    new_id = booted.json()["server"]["id"]
    new_server = wait_status(compute_api, new_id, token, "ACTIVE")
    assert new_server["image"]["id"] == image_id
    assert new_server["image"]["links"][0]["href"].endswith(f"/images/{image_id}")
    new_root, new_data = attached(compute_api, env, new_id)
    assert {new_root, new_data}.isdisjoint({root_id, data_id})
    shown = {
        v: cinder.get(f"/volumes/{v}", token=token).json()["volume"]
        for v in attached(compute_api, env, new_id)
    }
    assert shown[new_root]["snapshot_id"] == snapshots[root_id]["id"]
    assert shown[new_root]["bootable"] == "true" and shown[new_root]["size"] == 2
    assert shown[new_data]["snapshot_id"] == snapshots[data_id]["id"]
    new_disks = vm_disks(compute_api, new_id)
    assert len(new_disks) == 2 and set(new_disks).isdisjoint(vm_disks(compute_api, server_id))

    # Deleting the image keeps the snapshots; a snapshot deleted in Cinder fails the boot.
    again = create_server(compute_api, env, imageRef=image_id)
    assert again.status_code == 202, again.text
    images = compute_api.other(ImageApi)
    assert images.delete(f"/v2/images/{image_id}", token=token).status_code == 204
    wait_image_gone(compute_api, image_id, token)
    assert len(snapshots_of(cinder, env, [root_id, data_id])) == 2
    wait_status(compute_api, again.json()["server"]["id"], token, "ACTIVE")

    second = create_image(compute_api, env, server_id)
    assert second.status_code == 202, second.text
    second_id = second.json()["image_id"]
    wait_image(compute_api, second_id, token, "active")
    wait_task_none(compute_api, server_id, token)
    gone = json.loads(image_of(compute_api, second_id, token).json()["block_device_mapping"])[1]
    path = f"/snapshots/{gone['snapshot_id']}"
    assert cinder.delete(path, token=token).status_code == 202
    deadline = time.monotonic() + 20
    while cinder.get(path, token=token).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    refused = create_server(compute_api, env, imageRef=second_id)
    assert f"failed to get snapshot {gone['snapshot_id']}" in fault(refused, 400, "badRequest")


def test_a_failed_volume_snapshot_leaves_no_image_and_no_snapshot(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root volume's snapshot is made, the data volume's copy fails: the image and the
    root's snapshot go, the server is given back ACTIVE and its action says why."""
    token = env.member.token
    server_id, root_id, data_id = boot_from_volume(compute_api, env)
    original = FakeVolumes.copy_disk
    calls: list[str] = []

    def second_fails(
        self: FakeVolumes, source: str, datastore: str, name: str, provisioning: Provisioning
    ) -> DiskInfo:
        calls.append(name)
        if len(calls) == 2:
            raise NoCapacityError(f"datastore {datastore} is full")
        return original(self, source, datastore, name, provisioning)

    monkeypatch.setattr(FakeVolumes, "copy_disk", second_fails)
    response = create_image(compute_api, env, server_id)
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    wait_image_gone(compute_api, image_id, token)
    server = wait_task_none(compute_api, server_id, token)
    assert server["status"] == "ACTIVE"
    assert len(calls) == 2
    assert snapshots_of(cinder, env, [root_id, data_id]) == []
    disks = compute_api.fake.state.disks
    assert not [p for p in disks if any(name in p for name in calls)]
    action = action_of(compute_api, server_id, "createImage")
    (event,) = action["events"]
    assert event["result"] == "Error" and "is full" in event["traceback"]
    assert cinder.get(f"/volumes/{root_id}", token=token).json()["volume"]["status"] == "in-use"


def test_create_backup_of_a_volume_backed_server_is_refused(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    server_id, _, _ = boot_from_volume(compute_api, env)
    body = {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}}
    response = compute_api.post(f"/servers/{server_id}/action", token=env.member.token, json=body)
    assert "volume-backed" in fault(response, 400, "badRequest")


def test_a_restart_deletes_the_snapshots_of_an_interrupted_snapshot(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    """A job cut after the root volume's snapshot: the restart deletes that snapshot and the
    queued image, and gives the server back with no task."""
    from tests.api.test_compute_snapshots import set_row
    from vistack.compute.domain.snapshots import NOT_INHERITED
    from vistack.compute.domain.work import owner_context

    token = env.member.token
    server_id, root_id, _ = boot_from_volume(compute_api, env)
    made = cinder.post(
        "/snapshots", token=token, json={"snapshot": {"volume_id": root_id, "force": True}}
    )
    assert made.status_code == 202, made.text
    snapshot_id = made.json()["snapshot"]["id"]
    deadline = time.monotonic() + 20
    while cinder.get(f"/snapshots/{snapshot_id}", token=token).json()["snapshot"]["status"] != (
        "available"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    owner = owner_context(env.member.project_id, env.member.user_id)
    server = compute_api.cloud.compute.servers.get(owner, server_id)
    image = disk.snapshots.volumes.make_image(owner, server, "cut", {}, NOT_INHERITED)
    job = {"image_id": image.id, "kind": "volume", "snapshots": [snapshot_id]}
    set_row(
        compute_api,
        server_id,
        task_state="image_pending_upload",
        system_metadata={"image_job": job},
    )
    disk.snapshots.start()
    assert wait_task_none(compute_api, server_id, token)["status"] == "ACTIVE"
    assert image_of(compute_api, image.id, token).status_code == 404
    assert cinder.get(f"/snapshots/{snapshot_id}", token=token).status_code == 404
