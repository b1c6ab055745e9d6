"""createImage and createBackup through HTTP on the fake vCenter: the Glance image made at once
with Nova's snapshot properties, filled from the VM's root disk (the file on the datastore is
the image's data, hashed), the server's task states, a new server booted from the snapshot,
backups rotated, the refusals (state, lock, policy, quota, bad bodies) and the failures that
leave no image behind."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from tests.api.test_compute_servers import OCTET, boot, fault, make_network, wait_status
from tests.image_files import make_vmdk
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")
V245 = {"OpenStack-API-Version": "compute 2.45"}


def upload_vmdk(api: ComputeApi, directory: Path, **fields: Any) -> str:
    """A public, active VMDK image on a datastore store; its id."""
    images = api.other(ImageApi)
    body = {"name": unique("vmdk"), "disk_format": "vmdk", "container_format": "bare"}
    created = images.post("/v2/images", json={**body, "visibility": "public", **fields})
    assert created.status_code == 201, created.text
    image_id = str(created.json()["id"])
    data = make_vmdk(directory, size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image_id}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    return image_id


@pytest.fixture(scope="module")
def image_id(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    return upload_vmdk(compute_api, tmp_path_factory.mktemp("vmdk"), os_distro="debian")


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.30.0.0/24")


def needs_microversion(api: ComputeApi, version: str) -> None:
    """Skip a test of a microversion the cloud does not advertise yet."""
    (_, listed) = api.client.get("/compute/").json()["versions"]
    top = tuple(int(p) for p in listed["version"].split("."))
    if top < tuple(int(p) for p in version.split(".")):
        pytest.skip(f"the cloud advertises microversions up to {listed['version']}")


def action(api: ComputeApi, server_id: str, token: str, body: Any, **kwargs: Any) -> Any:
    return api.post(f"/servers/{server_id}/action", token=token, json=body, **kwargs)


def image_of(api: ComputeApi, image_id: str, token: str | None = None) -> Any:
    return api.other(ImageApi).get(f"/v2/images/{image_id}", token=token)


def wait_image(api: ComputeApi, image_id: str, token: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = image_of(api, image_id, token)
        if response.status_code == 200 and response.json()["status"] == status:
            image: dict[str, Any] = response.json()
            return image
        assert time.monotonic() < deadline, response.text
        time.sleep(0.02)


def wait_image_gone(api: ComputeApi, image_id: str, token: str) -> None:
    deadline = time.monotonic() + 20
    while image_of(api, image_id, token).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def wait_task_none(api: ComputeApi, server_id: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        server: dict[str, Any] = api.get(f"/servers/{server_id}", token=token).json()["server"]
        if server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.02)


def actions_of(api: ComputeApi, server_id: str, token: str) -> dict[str, Any]:
    listed = api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    return {a["action"]: a for a in listed["instanceActions"]}


@pytest.fixture(scope="module")
def server_id(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> str:
    made = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, made, member.token, "ACTIVE")
    return made


def test_create_image_makes_a_snapshot_image_that_boots(
    compute_api: ComputeApi,
    member: Persona,
    server_id: str,
    image_id: str,
    network: dict[str, Any],
) -> None:
    name = unique("snap")
    body = {"createImage": {"name": name, "metadata": {"purpose": "test"}}}
    response = action(compute_api, server_id, member.token, body)
    assert response.status_code == 202, response.text
    assert response.content == b""
    snapshot_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.headers["Location"].endswith(f"/image/v2/images/{snapshot_id}")
    image = wait_image(compute_api, snapshot_id, member.token, "active")
    base = image_of(compute_api, image_id).json()
    assert image["name"] == name and image["visibility"] == "private"
    assert (image["disk_format"], image["container_format"]) == ("vmdk", "bare")
    assert image["owner"] == member.project_id
    assert image["image_type"] == "snapshot" and image["instance_uuid"] == server_id
    assert image["base_image_ref"] == image_id and image["owner_id"] == member.project_id
    assert image["user_id"] == member.user_id and image["purpose"] == "test"
    assert image["os_distro"] == "debian"  # inherited from the base image
    assert image["vmware_disktype"] == "sparse"
    assert image["min_disk"] == max(1, base["min_disk"])  # m1.tiny's root disk
    # The data is the VM's root disk copied to the image datastore: its bytes are hashed.
    data = compute_api.other(ImageApi).get(f"/v2/images/{snapshot_id}/file", token=member.token)
    assert data.status_code == 200 and data.content.startswith(b"fake VMDK: a copy of")
    assert image["size"] == len(data.content)
    assert image["checksum"] == hashlib.md5(data.content, usedforsecurity=False).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data.content).hexdigest()
    server = wait_task_none(compute_api, server_id, member.token)
    assert server["status"] == "ACTIVE"
    assert actions_of(compute_api, server_id, member.token)["createImage"]["message"] is None
    # The snapshot boots a new server (its own template is made from the copied disk).
    booted = boot(compute_api, member, snapshot_id, network["id"])
    wait_status(compute_api, booted, member.token, "ACTIVE")
    assert compute_api.delete(f"/servers/{booted}", token=member.token).status_code == 204


def test_create_image_at_2_45_answers_the_image_id(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    needs_microversion(compute_api, "2.45")
    wait_task_none(compute_api, server_id, member.token)
    body = {"createImage": {"name": unique("snap")}}
    response = action(compute_api, server_id, member.token, body, headers=V245)
    assert response.status_code == 202, response.text
    assert "Location" not in response.headers
    snapshot_id = response.json()["image_id"]
    wait_image(compute_api, snapshot_id, member.token, "active")
    wait_task_none(compute_api, server_id, member.token)


def test_a_stopped_server_snapshots_too_and_stays_stopped(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    stopped = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, stopped, member.token, "ACTIVE")
    assert action(compute_api, stopped, member.token, {"os-stop": None}).status_code == 202
    wait_status(compute_api, stopped, member.token, "SHUTOFF")
    response = action(compute_api, stopped, member.token, {"createImage": {"name": "s"}})
    assert response.status_code == 202, response.text
    wait_image(compute_api, response.headers["Location"].rsplit("/", 1)[1], member.token, "active")
    server = wait_task_none(compute_api, stopped, member.token)
    assert server["status"] == "SHUTOFF"
    vm = compute_api.fake.drivers().compute.get_vm(stopped)
    assert vm.power_state == PowerState.OFF


def test_refusals(compute_api: ComputeApi, member: Persona, server_id: str) -> None:
    wait_task_none(compute_api, server_id, member.token)
    bodies: list[dict[str, Any]] = [
        {"createImage": {}},
        {"createImage": {"name": " "}},
        {"createImage": None},
    ]
    for bad in bodies:
        fault(action(compute_api, server_id, member.token, bad), 400, "badRequest")
    meta = {"createImage": {"name": "x", "metadata": {"k": 1}}}
    fault(action(compute_api, server_id, member.token, meta), 400, "badRequest")
    missing = action(compute_api, "0" * 32, member.token, {"createImage": {"name": "x"}})
    fault(missing, 404, "itemNotFound")
    other = persona_of(compute_api)
    hidden = action(compute_api, server_id, other.token, {"createImage": {"name": "x"}})
    fault(hidden, 404, "itemNotFound")
    # Locked by an administrator: the owner's snapshot is refused, nothing is made.
    assert (
        action(compute_api, server_id, compute_api.admin_token, {"lock": None}).status_code == 202
    )
    try:
        before = _snapshots_of(compute_api, server_id)
        message = fault(
            action(compute_api, server_id, member.token, {"createImage": {"name": "x"}}),
            409,
            "conflictingRequest",
        )
        assert "locked" in message
        assert _snapshots_of(compute_api, server_id) == before
    finally:
        unlock = action(compute_api, server_id, compute_api.admin_token, {"unlock": None})
        assert unlock.status_code == 202
    bad_backup = {"createBackup": {"name": "b", "backup_type": "daily", "rotation": -1}}
    fault(action(compute_api, server_id, member.token, bad_backup), 400, "badRequest")
    no_type = {"createBackup": {"name": "b", "rotation": 1}}
    fault(action(compute_api, server_id, member.token, no_type), 400, "badRequest")


def test_a_busy_server_refuses_a_second_snapshot(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    wait_task_none(compute_api, server_id, member.token)
    fake = compute_api.fake
    fake.state.latency = 0.05  # the copy takes a moment
    try:
        first = action(compute_api, server_id, member.token, {"createImage": {"name": "a"}})
        assert first.status_code == 202, first.text
        second = action(compute_api, server_id, member.token, {"createImage": {"name": "b"}})
        message = fault(second, 409, "conflictingRequest")
        assert "task_state image_" in message
    finally:
        fake.state.latency = 0.0
    wait_task_none(compute_api, server_id, member.token)


def test_a_failed_copy_deletes_the_image_and_gives_the_server_back(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    wait_task_none(compute_api, server_id, member.token)
    fake = compute_api.fake
    fake.state.fail_next("export_root_disk", NoCapacityError("datastore LocalDS_0 is full"))
    response = action(compute_api, server_id, member.token, {"createImage": {"name": "f"}})
    assert response.status_code == 202, response.text
    snapshot_id = response.headers["Location"].rsplit("/", 1)[1]
    wait_image_gone(compute_api, snapshot_id, member.token)
    server = wait_task_none(compute_api, server_id, member.token)
    assert server["status"] == "ACTIVE"
    assert _action_result(compute_api, server_id, member.token, "createImage") == "Error"
    assert not [f for f in fake.state.files if snapshot_id in f[1]]


def test_deleting_the_server_during_a_snapshot_leaves_no_image(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    doomed = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, doomed, member.token, "ACTIVE")
    fake = compute_api.fake
    fake.state.latency = 0.05
    try:
        response = action(compute_api, doomed, member.token, {"createImage": {"name": "d"}})
        assert response.status_code == 202, response.text
        snapshot_id = response.headers["Location"].rsplit("/", 1)[1]
        assert compute_api.delete(f"/servers/{doomed}", token=member.token).status_code == 204
    finally:
        fake.state.latency = 0.0
    deadline = time.monotonic() + 20
    while compute_api.get(f"/servers/{doomed}", token=member.token).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    wait_image_gone(compute_api, snapshot_id, member.token)
    assert not [f for f in fake.state.files if snapshot_id in f[1]]


def test_create_backup_rotates(compute_api: ComputeApi, member: Persona, server_id: str) -> None:
    made = []
    for index in range(3):
        wait_task_none(compute_api, server_id, member.token)
        body = {"createBackup": {"name": f"b{index}", "backup_type": "weekly", "rotation": 2}}
        response = action(compute_api, server_id, member.token, body)
        assert response.status_code == 202, response.text
        made.append(response.headers["Location"].rsplit("/", 1)[1])
        wait_task_none(compute_api, server_id, member.token)
    kept = _backups_of(compute_api, server_id, member.token)
    # The newest two are kept (two made within one second may tie on created_at: Glance's
    # order between them decides which of the older goes, as in Nova).
    assert len(kept) == 2 and made[2] in kept and kept <= set(made)
    image = image_of(compute_api, made[2], member.token).json()
    assert (image["image_type"], image["backup_type"]) == ("backup", "weekly")
    assert _action_result(compute_api, server_id, member.token, "createBackup") == "Success"
    # Rotation 0 deletes them all, the new one too; no Location names it (before 2.45).
    body = {"createBackup": {"name": "z", "backup_type": "weekly", "rotation": 0}}
    response = action(compute_api, server_id, member.token, body)
    assert response.status_code == 202 and "Location" not in response.headers
    wait_task_none(compute_api, server_id, member.token)
    deadline = time.monotonic() + 20
    while _backups_of(compute_api, server_id, member.token):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_image_quota_refuses_the_snapshot(
    compute_api: ComputeApi, member: Persona, server_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_task_none(compute_api, server_id, member.token)
    images = compute_api.cloud.image.images
    full = replace(images.limits, image_count_total=0)
    monkeypatch.setattr(images, "limits_for", lambda project_id: full)
    before = _snapshots_of(compute_api, server_id)
    response = action(compute_api, server_id, member.token, {"createImage": {"name": "q"}})
    assert "image" in fault(response, 403, "forbidden").lower()
    # Over the byte quota already (a snapshot of this project holds bytes): refused.
    monkeypatch.undo()
    held = action(compute_api, server_id, member.token, {"createImage": {"name": "held"}})
    assert held.status_code == 202, held.text
    wait_image(compute_api, held.headers["Location"].rsplit("/", 1)[1], member.token, "active")
    wait_task_none(compute_api, server_id, member.token)
    before = _snapshots_of(compute_api, server_id)
    over = replace(images.limits, image_size_total=1)
    monkeypatch.setattr(images, "limits_for", lambda project_id: over)
    response = action(compute_api, server_id, member.token, {"createImage": {"name": "q"}})
    assert "image_size_total" in fault(response, 403, "forbidden")
    monkeypatch.undo()
    assert _snapshots_of(compute_api, server_id) == before
    assert wait_task_none(compute_api, server_id, member.token)["status"] == "ACTIVE"


def _snapshots_of(api: ComputeApi, server_id: str) -> set[str]:
    listed = api.other(ImageApi).get(f"/v2/images?instance_uuid={server_id}").json()["images"]
    return {i["id"] for i in listed}


def _backups_of(api: ComputeApi, server_id: str, token: str) -> set[str]:
    query = f"/v2/images?instance_uuid={server_id}&image_type=backup"
    listed = api.other(ImageApi).get(query, token=token).json()["images"]
    return {i["id"] for i in listed}


def _action_result(api: ComputeApi, server_id: str, token: str, name: str) -> str | None:
    """The result recorded for the server's latest action `name` (the API shows none)."""
    from vistack.compute.db import servers as queries

    with api.cloud.compute.servers._store.transaction() as unit:
        for row in queries.actions(unit, server_id):
            if row.action == name:
                return row.result
    return None


def persona_of(api: ComputeApi) -> Persona:
    return persona(api.identity)


def set_row(api: ComputeApi, server_id: str, **values: Any) -> None:
    """Write a server's columns as a job cut off by a restart would have left them."""
    from vistack.compute.db import servers as queries

    with api.cloud.compute.servers._store.transaction() as unit:
        queries.set_fields(unit, server_id, **values)


def test_a_restart_undoes_an_interrupted_snapshot(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    from vistack.compute.domain.work import owner_context
    from vistack.drivers.fake.state import FakeFile

    wait_task_none(compute_api, server_id, member.token)
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    owner = owner_context(member.project_id, member.user_id)
    server = compute_api.cloud.compute.servers.get(owner, server_id)
    image = disk.snapshots.make_image(owner, server, "cut", "snapshot", {})
    datastore = compute_api.fake.state.topology().datastores[0]
    path = f"images/{image.id}.vmdk"
    compute_api.fake.state.files[(datastore, path)] = FakeFile(datastore, path, b"partial")
    job = {"image_id": image.id, "datastore": datastore, "path": path}
    set_row(
        compute_api,
        server_id,
        task_state="image_uploading",
        system_metadata={"image_job": job},
    )
    disk.snapshots.start()
    assert wait_task_none(compute_api, server_id, member.token)["status"] == "ACTIVE"
    assert image_of(compute_api, image.id, member.token).status_code == 404
    assert (datastore, path) not in compute_api.fake.state.files


def test_a_copy_that_finds_its_server_deleting_drops_its_image(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    from vistack.compute.domain.snapshots import SNAPSHOT_TOPIC
    from vistack.compute.domain.work import context_payload, owner_context

    doomed = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, doomed, member.token, "ACTIVE")
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    owner = owner_context(member.project_id, member.user_id)
    image = disk.snapshots.make_image(
        owner, compute_api.cloud.compute.servers.get(owner, doomed), "late", "snapshot", {}
    )
    # The delete came first (its job not run yet): the copy's job must not leave the image.
    set_row(compute_api, doomed, task_state="deleting")
    payload = {"server_id": doomed, "image_id": image.id, "context": context_payload(owner)}
    compute_api.cloud.bus.submit(SNAPSHOT_TOPIC, payload)
    wait_image_gone(compute_api, image.id, member.token)
    set_row(compute_api, doomed, task_state=None)
    assert compute_api.delete(f"/servers/{doomed}", token=member.token).status_code == 204


def test_image_metadata_counts_against_metadata_items_only_before_2_39(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    wait_task_none(compute_api, server_id, member.token)
    quota = f"/os-quota-sets/{member.project_id}"
    limited = compute_api.put(quota, json={"quota_set": {"metadata_items": 1}})
    assert limited.status_code == 200, limited.text
    try:
        body = {"createImage": {"name": "m", "metadata": {"a": "1", "b": "2"}}}
        refused = action(compute_api, server_id, member.token, body)
        assert "Maximum number of metadata items exceeds 1" in fault(refused, 403, "forbidden")
        headers = {"OpenStack-API-Version": "compute 2.39"}
        taken = action(compute_api, server_id, member.token, body, headers=headers)
        assert taken.status_code == 202, taken.text
        wait_task_none(compute_api, server_id, member.token)
    finally:
        compute_api.put(quota, json={"quota_set": {"metadata_items": 128}})
