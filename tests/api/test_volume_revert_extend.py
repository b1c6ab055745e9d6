"""`revert` (3.40) and the in-use `os-extend` (3.42) through HTTP on the fake vCenter: the
volume's disk gets its latest snapshot's bytes back (only the latest, only when available), and
an attached disk grows on the VM that holds it; below their microversions both are refused as
before."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, ComputeApi, VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_snapshots import snapshot_of, wait_snapshot
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.drivers.errors import TransientError
from vistack.drivers.fake.state import FakeVM

pytestmark = VOLUME_ON_SQLITE_ONLY


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def act(api: VolumeApi, volume_id: str, body: object, token: str, version: str = "3.0") -> Any:
    return api.post(f"/volumes/{volume_id}/action", token=token, json=body, headers=mv(version))


def test_revert_gives_the_disk_its_latest_snapshot_back(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    disks = volume_api.fake.state.disks
    disks[disk_of(volume_api, vid)].data = b"first"
    older = snapshot_of(volume_api, vid, token)["id"]
    disks[disk_of(volume_api, vid)].data = b"second"
    latest = snapshot_of(volume_api, vid, token)["id"]
    disks[disk_of(volume_api, vid)].data = b"changed since"
    revert_older = {"revert": {"snapshot_id": older}}
    assert "latest" in assert_fault(act(volume_api, vid, revert_older, token, "3.40"), 400)
    assert "3.40" in assert_fault(
        act(volume_api, vid, {"revert": {"snapshot_id": latest}}, token, "3.39"), 404
    )
    # Grown since the snapshot: reverted, then grown back to the volume's size.
    assert act(volume_api, vid, {"os-extend": {"new_size": 2}}, token).status_code == 202
    wait_volume(volume_api, vid, token, "available")
    response = act(volume_api, vid, {"revert": {"snapshot_id": latest}}, token, "3.40")
    assert response.status_code == 202, response.text
    reverted = wait_volume(volume_api, vid, token, "available")
    wait_snapshot(volume_api, latest, token, "available")
    disk = disks[disk_of(volume_api, vid)]
    assert disk.data == b"second"
    assert reverted["size"] == 2 and disk.capacity_gb == 2
    missing = {"revert": {"snapshot_id": str(uuid.uuid4())}}
    assert_fault(act(volume_api, vid, missing, token, "3.40"), 404)
    assert_fault(act(volume_api, vid, {"revert": {}}, token, "3.40"), 400)


def test_revert_refuses_attached_volumes_and_survives_a_failure(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    disks = volume_api.fake.state.disks
    disks[disk_of(volume_api, vid)].data = b"snapshotted"
    latest = snapshot_of(volume_api, vid, token)["id"]
    disks[disk_of(volume_api, vid)].data = b"current"
    volume_api.fake.state.fail_next("replace_disk", TransientError("datastore went away"))
    body = {"revert": {"snapshot_id": latest}}
    assert act(volume_api, vid, body, token, "3.40").status_code == 202
    wait_volume(volume_api, vid, token, "available")
    wait_snapshot(volume_api, latest, token, "available")
    assert disks[disk_of(volume_api, vid)].data == b"current"
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert act(volume_api, vid, attach, token).status_code == 202
    assert "available" in assert_fault(act(volume_api, vid, body, token, "3.40"), 400)


def attach_to_a_vm(api: VolumeApi, volume_id: str, token: str) -> str:
    """A VM on the fake vCenter holding the volume's disk, and Cinder's record of it."""
    state = api.fake.state
    path = disk_of(api, volume_id)
    server_id = str(uuid.uuid4())
    datastore = path[1 : path.index("]")]
    with state.lock:
        state.vms[server_id] = FakeVM(
            server_id, f"vm-{server_id[:8]}", "vm", "cluster", "host", datastore, 1, 1, 512
        )
    api.fake.drivers().compute.attach_disk(server_id, path)
    attach = {"os-attach": {"instance_uuid": server_id, "mountpoint": "/dev/sdb"}}
    assert act(api, volume_id, attach, token).status_code == 202
    return server_id


def test_in_use_extend_grows_the_attached_disk_from_3_42(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    server_id = attach_to_a_vm(volume_api, vid, token)
    compute = ComputeApi(volume_api.cloud, volume_api.client, volume_api.fake)
    insert_server(compute, member.project_id, id=server_id, cluster="cluster", vm_host="host")
    extend = {"os-extend": {"new_size": 3}}
    assert "in-use" in assert_fault(act(volume_api, vid, extend, token, "3.41"), 400)
    assert act(volume_api, vid, extend, token, "3.42").status_code == 202
    grown = wait_volume(volume_api, vid, token, "in-use", "error_extending")
    assert grown["status"] == "in-use" and grown["size"] == 3
    assert volume_api.fake.state.disks[disk_of(volume_api, vid)].capacity_gb == 3
    # Nova was told (Cinder's `volume-extended`): the owner sees the action, an admin its step.
    path = f"/servers/{server_id}/os-instance-actions"
    [action] = compute.get(path, token=token).json()["instanceActions"]
    assert action["action"] == "extend_volume"
    shown = compute.get(f"{path}/{action['request_id']}").json()["instanceAction"]
    [event] = shown["events"]
    assert (event["event"], event["result"]) == ("compute_extend_volume", "Success")
    assert event["finish_time"] is not None


def test_a_failed_in_use_extend_keeps_the_old_size(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    attach_to_a_vm(volume_api, vid, token)
    volume_api.fake.state.fail_next("grow_disk", TransientError("ReconfigVM_Task failed"))
    assert act(volume_api, vid, {"os-extend": {"new_size": 2}}, token, "3.42").status_code == 202
    failed = wait_volume(volume_api, vid, token, "error_extending")
    assert failed["size"] == 1
    assert volume_api.fake.state.disks[disk_of(volume_api, vid)].capacity_gb == 1
