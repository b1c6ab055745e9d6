"""Volume snapshots through HTTP: create (with `force` for an in-use volume), list and detail,
show, update, delete, metadata, volumes made from snapshots, cascade deletes, the snapshot
quota, and the administrator's actions."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import (
    assert_fault,
    create_volume,
    disk_of,
    has_disk,
    wait_gone,
    wait_volume,
)
from vistack.drivers.errors import NoCapacityError


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def wait_snapshot(api: VolumeApi, snapshot_id: str, token: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        snapshot: dict[str, Any] = api.get(f"/snapshots/{snapshot_id}", token=token).json()[
            "snapshot"
        ]
        if snapshot["status"] == status:
            return snapshot
        assert time.monotonic() < deadline, snapshot
        time.sleep(0.02)


def snapshot_of(api: VolumeApi, volume_id: str, token: str, **fields: Any) -> dict[str, Any]:
    body = {"snapshot": {"volume_id": volume_id, **fields}}
    response = api.post("/snapshots", token=token, json=body)
    assert response.status_code == 202, response.text
    return wait_snapshot(api, response.json()["snapshot"]["id"], token, "available")


def snapshot_disks(api: VolumeApi, snapshot_id: str) -> list[str]:
    return [p for p in api.fake.state.disks if p.endswith(f"/snapshot-{snapshot_id}.vmdk")]


def test_snapshot_lifecycle(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token, 2)
    response = volume_api.post(
        "/snapshots",
        token=member.token,
        json={"snapshot": {"volume_id": volume["id"], "name": "s", "metadata": {"a": "1"}}},
    )
    assert response.status_code == 202, response.text
    created = response.json()["snapshot"]
    assert created["status"] == "creating" and created["size"] == 2
    assert "os-extended-snapshot-attributes:progress" not in created
    snapshot = wait_snapshot(volume_api, created["id"], member.token, "available")
    assert snapshot["os-extended-snapshot-attributes:progress"] == "100%"
    assert snapshot["os-extended-snapshot-attributes:project_id"] == member.project_id
    assert len(snapshot_disks(volume_api, snapshot["id"])) == 1
    listed = volume_api.get("/snapshots", token=member.token).json()["snapshots"]
    assert snapshot["id"] in {s["id"] for s in listed}
    assert "os-extended-snapshot-attributes:progress" not in listed[0]
    detail = volume_api.get(
        "/snapshots/detail", token=member.token, params={"volume_id": volume["id"]}
    ).json()["snapshots"]
    assert [s["id"] for s in detail] == [snapshot["id"]]
    scope = {"volume_id": volume["id"], "all_tenants": "1"}
    every = volume_api.get("/snapshots", params=scope).json()["snapshots"]
    assert [s["id"] for s in every] == [snapshot["id"]]
    elsewhere = volume_api.get("/snapshots", params={**scope, "project_id": str(uuid.uuid4())})
    assert elsewhere.json()["snapshots"] == []
    assert_fault(volume_api.get("/snapshots", token=member.token, params=scope), 403)
    updated = volume_api.put(
        f"/snapshots/{snapshot['id']}",
        token=member.token,
        json={"snapshot": {"name": "t", "description": "d"}},
    )
    assert updated.status_code == 200
    assert (updated.json()["snapshot"]["name"], updated.json()["snapshot"]["description"]) == (
        "t",
        "d",
    )
    other = persona(volume_api.identity)
    assert_fault(volume_api.get(f"/snapshots/{snapshot['id']}", token=other.token), 404)
    delete = volume_api.delete(f"/snapshots/{snapshot['id']}", token=member.token)
    assert delete.status_code == 202
    wait_gone(volume_api, f"/snapshots/{snapshot['id']}", member.token)
    assert snapshot_disks(volume_api, snapshot["id"]) == []


def test_snapshot_metadata(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    snapshot = snapshot_of(volume_api, volume["id"], member.token, metadata={"a": "1"})
    path = f"/snapshots/{snapshot['id']}/metadata"
    assert volume_api.post(path, token=member.token, json={"metadata": {"b": "2"}}).json() == {
        "metadata": {"a": "1", "b": "2"}
    }
    assert volume_api.put(path, token=member.token, json={"metadata": {"c": "3"}}).json() == {
        "metadata": {"c": "3"}
    }
    assert volume_api.put(f"{path}/c", token=member.token, json={"meta": {"c": "4"}}).json() == {
        "meta": {"c": "4"}
    }
    assert volume_api.get(f"{path}/c", token=member.token).json() == {"meta": {"c": "4"}}
    assert volume_api.delete(f"{path}/c", token=member.token).status_code == 200
    assert_fault(volume_api.get(f"{path}/c", token=member.token), 404)
    assert_fault(volume_api.post(path, token=member.token, json={}), 400)


def test_in_use_volume_needs_force(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    action = f"/volumes/{volume['id']}/action"
    assert volume_api.post(action, token=member.token, json=attach).status_code == 202
    refused = volume_api.post(
        "/snapshots", token=member.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    assert "in-use" in assert_fault(refused, 400)
    snapshot_of(volume_api, volume["id"], member.token, force=True)


def test_bad_snapshot_requests(volume_api: VolumeApi, member: Persona) -> None:
    assert_fault(volume_api.post("/snapshots", token=member.token, json={"snapshot": {}}), 404)
    assert_fault(volume_api.post("/snapshots", token=member.token, json={"snap": {}}), 400)
    missing = {"snapshot": {"volume_id": str(uuid.uuid4())}}
    assert_fault(volume_api.post("/snapshots", token=member.token, json=missing), 404)
    volume = create_volume(volume_api, member.token)
    bad = {"snapshot": {"volume_id": volume["id"], "force": "sometimes"}}
    assert_fault(volume_api.post("/snapshots", token=member.token, json=bad), 400)
    assert_fault(volume_api.get(f"/snapshots/{uuid.uuid4()}", token=member.token), 404)
    assert_fault(volume_api.delete(f"/snapshots/{uuid.uuid4()}", token=member.token), 404)


def test_a_failed_snapshot_is_error_and_leaves_no_disk(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    volume_api.fake.state.fail_next("copy_disk", NoCapacityError("datastore full"))
    response = volume_api.post(
        "/snapshots", token=member.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    snapshot = wait_snapshot(volume_api, response.json()["snapshot"]["id"], member.token, "error")
    assert snapshot_disks(volume_api, snapshot["id"]) == []
    assert volume_api.delete(f"/snapshots/{snapshot['id']}", token=member.token).status_code == 202
    wait_gone(volume_api, f"/snapshots/{snapshot['id']}", member.token)


def test_volume_from_snapshot_and_cascade_delete(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token, 1)
    snapshot = snapshot_of(volume_api, volume["id"], member.token)
    restored = create_volume(volume_api, member.token, 2, snapshot_id=snapshot["id"])
    assert restored["snapshot_id"] == snapshot["id"]
    assert volume_api.fake.state.disks[disk_of(volume_api, restored["id"])].capacity_gb == 2
    smaller = {"volume": {"size": 1, "snapshot_id": snapshot["id"]}}
    assert_fault(
        volume_api.post(
            "/volumes",
            token=member.token,
            json={"volume": {"size": 1, "snapshot_id": str(uuid.uuid4())}},
        ),
        404,
    )
    assert volume_api.post("/volumes", token=member.token, json=smaller).status_code == 202
    refused = volume_api.delete(f"/volumes/{volume['id']}", token=member.token)
    assert "snapshot" in assert_fault(refused, 400)
    cascade = volume_api.delete(f"/volumes/{volume['id']}?cascade=true", token=member.token)
    assert cascade.status_code == 202
    wait_gone(volume_api, f"/volumes/{volume['id']}", member.token)
    assert_fault(volume_api.get(f"/snapshots/{snapshot['id']}", token=member.token), 404)
    assert snapshot_disks(volume_api, snapshot["id"]) == []
    assert not has_disk(volume_api, volume["id"])
    assert has_disk(volume_api, restored["id"])


def test_snapshot_quota_is_413(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"snapshots": 1}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    volume = create_volume(volume_api, owner.token)
    snapshot_of(volume_api, volume["id"], owner.token)
    response = volume_api.post(
        "/snapshots", token=owner.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    assert "SnapshotLimitExceeded" in assert_fault(response, 413)


def test_snapshot_admin_actions(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    snapshot = snapshot_of(volume_api, volume["id"], member.token)
    action = f"/snapshots/{snapshot['id']}/action"
    reset = {"os-reset_status": {"status": "creating"}}
    assert_fault(volume_api.post(action, token=member.token, json=reset), 403)
    assert volume_api.post(action, json=reset).status_code == 202
    refused = volume_api.delete(f"/snapshots/{snapshot['id']}", token=member.token)
    assert "creating" in assert_fault(refused, 400)
    assert_fault(volume_api.post(action, json={"os-reset_status": {"status": "bad"}}), 400)
    assert volume_api.post(action, json={"os-force_delete": {}}).status_code == 202
    wait_gone(volume_api, f"/snapshots/{snapshot['id']}", member.token)
    assert wait_volume(volume_api, volume["id"], member.token, "available")


def test_update_snapshot_status(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    snapshot = snapshot_of(volume_api, volume["id"], member.token)
    action = f"/snapshots/{snapshot['id']}/action"
    update = {"os-update_snapshot_status": {"status": "error", "progress": "80%"}}
    assert "not allowed" in assert_fault(
        volume_api.post(action, token=member.token, json=update), 400
    )
    assert (
        volume_api.post(action, json={"os-reset_status": {"status": "creating"}}).status_code == 202
    )
    assert volume_api.post(action, token=member.token, json=update).status_code == 202
    shown = volume_api.get(f"/snapshots/{snapshot['id']}", token=member.token).json()["snapshot"]
    assert shown["status"] == "error"
    assert shown["os-extended-snapshot-attributes:progress"] == "80%"
    assert_fault(
        volume_api.post(action, token=member.token, json={"os-update_snapshot_status": {}}), 400
    )
