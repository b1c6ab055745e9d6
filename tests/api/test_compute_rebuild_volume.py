"""Rebuild of a volume-backed server (microversion 2.93) through HTTP on the fake vCenter, with
the cloud's own block storage service behind Nova's volume port: the root volume is re-imaged
in place (same volume, same path, a new disk copied from the new image and grown to the
volume's size, `volume_image_metadata` naming the image), the other volumes stay attached,
the rebuild's fields are written and the server ends ACTIVE on a new VM booting from the
volume; below 2.93 it is a 400; an image too big for the volume is a 400; a failed copy
leaves the volume `error` with the reason, the server ERROR, and no disk behind."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.api.compute_env import Env, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, mv, vm_disks
from tests.api.conftest import ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture, unique
from tests.api.test_compute_servers import fault, wait_gone, wait_status
from tests.api.test_compute_snapshots import upload_vmdk
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.fake.volumes import FakeVolumes
from vistack.drivers.models import DiskInfo, PowerState, Provisioning
from vistack.volume.db import queries

member = persona_fixture("compute_api")
env = env_fixture("10.43.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()


@pytest.fixture(scope="module")
def other_image(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image the servers are rebuilt with."""
    return upload_vmdk(compute_api, tmp_path_factory.mktemp("vmdk-other"))


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(source, name) of every volume disk copy the fake vCenter makes during the test."""
    made: list[tuple[str, str]] = []
    original = FakeVolumes.copy_disk

    def spy(
        self: FakeVolumes, source: str, datastore: str, name: str, provisioning: Provisioning
    ) -> DiskInfo:
        info = original(self, source, datastore, name, provisioning)
        made.append((source, name))
        return info

    monkeypatch.setattr(FakeVolumes, "copy_disk", spy)
    return made


def boot_from_volume(api: ComputeApi, env: Env, size_gb: int = 2) -> tuple[str, str, str]:
    """An ACTIVE server whose root is a volume made from the env's image (`size_gb`, deleted
    with the server) with a blank data volume beside it: (server, root volume, data volume)."""
    root = {
        "source_type": "image",
        "destination_type": "volume",
        "uuid": env.image_id,
        "boot_index": 0,
        "volume_size": size_gb,
        "delete_on_termination": True,
    }
    data = {
        "source_type": "blank",
        "destination_type": "volume",
        "volume_size": 1,
        "boot_index": -1,
        "delete_on_termination": True,
    }
    server = {
        "name": unique("bfv"),
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping_v2": [root, data],
    }
    token = env.member.token
    response = api.post("/servers", token=token, json={"server": server}, headers=mv("2.3"))
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    wait_status(api, server_id, token, "ACTIVE")
    shown = api.get(f"/servers/{server_id}", token=token, headers=mv("2.3")).json()["server"]
    root_id, data_id = (v["id"] for v in shown["os-extended-volumes:volumes_attached"])
    return server_id, root_id, data_id


def volume_of(cinder: VolumeApi, token: str, volume_id: str) -> dict[str, Any]:
    response = cinder.get(f"/volumes/{volume_id}", token=token)
    assert response.status_code == 200, response.text
    volume: dict[str, Any] = response.json()["volume"]
    return volume


def rebuild(api: ComputeApi, token: str, server_id: str, version: str, **fields: Any) -> Any:
    return api.post(
        f"/servers/{server_id}/action",
        token=token,
        json={"rebuild": fields},
        headers=mv(version),
    )


def error_message(api: ComputeApi, volume_id: str) -> str | None:
    """What Cinder recorded on the volume (its API does not show it; its messages would)."""
    volume = api.cloud.volume
    assert volume is not None
    store = volume.volumes.store
    with store.transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None
        return row.error_message


def test_rebuild_at_2_93_reimages_the_root_volume(
    compute_api: ComputeApi,
    env: Env,
    other_image: str,
    cinder: VolumeApi,
    copies: list[tuple[str, str]],
) -> None:
    token = env.member.token
    server_id, root_id, data_id = boot_from_volume(compute_api, env)
    root_before = volume_of(cinder, token, root_id)
    assert root_before["volume_image_metadata"]["image_id"] == env.image_id
    state = compute_api.fake.state
    root_path, data_path = vm_disks(compute_api, server_id)
    old_root_disk, old_data_disk = state.disks[root_path], state.disks[data_path]
    old_vm = compute_api.fake.drivers().compute.get_vm(server_id)
    files_before = set(state.disks)
    copies.clear()

    user_data = base64.b64encode(b"#cloud-config\n").decode()
    response = rebuild(
        compute_api,
        token,
        server_id,
        "2.93",
        imageRef=other_image,
        name="rebuilt",
        metadata={"stage": "two"},
        description="re-imaged",
        user_data=user_data,
    )
    assert response.status_code == 202, response.text
    shown = response.json()["server"]
    assert shown["status"] == "REBUILD" and shown["name"] == "rebuilt"
    assert shown["image"] == "" and shown["adminPass"] and shown["user_data"] == user_data
    server = wait_status(compute_api, server_id, token, "ACTIVE")
    assert server["OS-EXT-STS:task_state"] is None and server["image"] == ""
    assert (server["name"], server["metadata"]) == ("rebuilt", {"stage": "two"})
    later = compute_api.get(f"/servers/{server_id}", token=token, headers=mv("2.93")).json()
    assert later["server"]["description"] == "re-imaged"
    attached = [v["id"] for v in later["server"]["os-extended-volumes:volumes_attached"]]
    assert attached == [root_id, data_id]

    # Cinder: the same volume, in-use, its image the new one, its size kept.
    root_after = volume_of(cinder, token, root_id)
    assert root_after["status"] == "in-use" and root_after["size"] == 2
    assert root_after["volume_image_metadata"]["image_id"] == other_image
    assert [a["server_id"] for a in root_after["attachments"]] == [server_id]
    assert volume_of(cinder, token, data_id)["status"] == "in-use"

    # vCenter: a new VM booting from the root volume's disk, which is a new copy of the new
    # image's disk grown to the volume's size; the data volume's disk untouched.
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert vm.id != old_vm.id and vm.power_state == PowerState.ON
    assert vm_disks(compute_api, server_id) == [root_path, data_path]
    assert state.disks[root_path] is not old_root_disk
    assert state.disks[root_path].capacity_gb == 2
    assert state.disks[data_path] is old_data_disk
    ((source, name),) = copies
    assert name == root_id and other_image in source
    assert set(state.disks) == files_before  # nothing left beside the volumes

    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    (last, *_) = actions["instanceActions"]
    assert last["action"] == "rebuild"
    detail = compute_api.get(
        f"/servers/{server_id}/os-instance-actions/{last['request_id']}",
        token=token,
        headers=mv("2.51"),
    ).json()["instanceAction"]
    assert [(e["event"], e["result"]) for e in detail["events"]] == [
        ("compute_rebuild_instance", "Success")
    ]


def test_below_2_93_and_too_small_a_volume_are_refused(
    compute_api: ComputeApi,
    env: Env,
    cinder: VolumeApi,
    tmp_path_factory: pytest.TempPathFactory,
    copies: list[tuple[str, str]],
) -> None:
    token = env.member.token
    server_id, root_id, _data_id = boot_from_volume(compute_api, env, size_gb=1)
    copies.clear()
    early = rebuild(compute_api, token, server_id, "2.92", imageRef=env.image_id)
    assert "2.93" in fault(early, 400, "badRequest")
    big = upload_vmdk(compute_api, tmp_path_factory.mktemp("vmdk-big"), min_disk=5)
    small = rebuild(compute_api, token, server_id, "2.93", imageRef=big)
    assert "smaller than the minimum disk" in fault(small, 400, "badRequest")
    server = compute_api.get(f"/servers/{server_id}", token=token).json()["server"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None
    image = volume_of(cinder, token, root_id)["volume_image_metadata"]["image_id"]
    assert image == env.image_id
    assert copies == []


def test_a_failed_copy_leaves_the_volume_in_error_and_no_disk_behind(
    compute_api: ComputeApi, env: Env, other_image: str, cinder: VolumeApi
) -> None:
    token = env.member.token
    server_id, root_id, data_id = boot_from_volume(compute_api, env)
    state = compute_api.fake.state
    root_path, data_path = vm_disks(compute_api, server_id)
    files_before = set(state.disks)
    state.fail_next("copy_disk", NoCapacityError("datastore is full"))
    response = rebuild(compute_api, token, server_id, "2.93", imageRef=other_image)
    assert response.status_code == 202, response.text
    server = wait_status(compute_api, server_id, token, "ERROR")
    assert "datastore is full" in server["fault"]["message"]
    assert volume_of(cinder, token, root_id)["status"] == "error"
    assert "datastore is full" in str(error_message(compute_api, root_id))
    assert volume_of(cinder, token, data_id)["status"] == "in-use"
    # The old disk went (a re-image overwrites it) and no copy was left half-made.
    assert set(state.disks) == files_before - {root_path}
    assert data_path in state.disks
    # The delete still cleans up: both volumes were marked delete_on_termination.
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    for volume_id in (root_id, data_id):
        gone = cinder.get(f"/volumes/{volume_id}", token=token)
        deadline = 200
        while gone.status_code != 404 and deadline:
            deadline -= 1
            gone = cinder.get(f"/volumes/{volume_id}", token=token)
        assert gone.status_code == 404, gone.text
    assert data_path not in state.disks


def test_a_stopped_server_is_rebuilt_stopped(
    compute_api: ComputeApi, env: Env, other_image: str, cinder: VolumeApi
) -> None:
    token = env.member.token
    server_id, root_id, _data_id = boot_from_volume(compute_api, env, size_gb=1)
    action = f"/servers/{server_id}/action"
    assert compute_api.post(action, token=token, json={"os-stop": None}).status_code == 202
    wait_status(compute_api, server_id, token, "SHUTOFF")
    response = rebuild(compute_api, token, server_id, "2.93", imageRef=other_image)
    assert response.status_code == 202, response.text
    wait_status(compute_api, server_id, token, "SHUTOFF")
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert vm.power_state == PowerState.OFF
    assert volume_of(cinder, token, root_id)["volume_image_metadata"]["image_id"] == other_image
