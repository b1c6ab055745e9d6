"""Cinder's attachments API through HTTP (3.27, os-complete 3.44, attach mode 3.54): the
reserved -> attaching -> attached steps, the vmdk connection info, the refusals, and the one
record it shares with the legacy volume actions.

The service advertises 3.0 until the microversion walk lands; these tests raise the maximum
for themselves. Servers named are checked with Nova: the tests stand a set of known ids in for
Nova's lookup, but for the last one, which asks the cloud's own compute service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.common.context import RequestContext
from vistack.common.errors import NotFound
from vistack.volume.api import microversion
from vistack.volume.domain.attachment_service import AttachmentService


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


SERVERS: set[str] = set()


def server() -> str:
    """A server id Nova's stand-in knows."""
    server_id = str(uuid.uuid4())
    SERVERS.add(server_id)
    return server_id


@pytest.fixture(autouse=True)
def newer_microversions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 70))


def known(_context: RequestContext, server_id: str) -> object:
    """Nova's lookup stood in for: the servers `server()` made exist."""
    if server_id not in SERVERS:
        raise NotFound(f"Server {server_id} could not be found.")
    return server_id


def attachment_service(api: VolumeApi) -> AttachmentService:
    assert api.cloud.volume is not None
    return api.cloud.volume.attachment_api


@pytest.fixture(scope="module")
def known_servers(volume_api: VolumeApi) -> Iterator[None]:
    service = attachment_service(volume_api)
    service.connect_servers(known)
    yield
    service.connect_servers(volume_api.cloud.compute.servers.get)


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi, known_servers: None) -> Persona:
    return persona(volume_api.identity)


def attach(api: VolumeApi, token: str, volume_id: str, version: str = "3.27", **fields: Any) -> Any:
    body = {"attachment": {"volume_uuid": volume_id, **fields}}
    return api.post("/attachments", token=token, json=body, headers=mv(version))


def status_of(api: VolumeApi, volume_id: str, token: str) -> str:
    volume: dict[str, Any] = api.get(f"/volumes/{volume_id}", token=token).json()["volume"]
    return str(volume["status"])


def test_reserve_connect_complete_and_delete(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    instance = server()
    created = attach(volume_api, member.token, volume["id"], instance_uuid=instance)
    assert created.status_code == 200, created.text
    reserved = created.json()["attachment"]
    assert reserved["status"] == "reserved" and reserved["instance"] == instance
    assert (reserved["attach_mode"], reserved["connection_info"]) == ("rw", None)
    assert status_of(volume_api, volume["id"], member.token) == "attaching"

    connector = {"host": "esx-1", "platform": "x86_64", "os_type": "linux", "mountpoint": "/sdb"}
    path = f"/attachments/{reserved['id']}"
    body = {"attachment": {"connector": connector}}
    updated = volume_api.put(path, token=member.token, json=body, headers=mv("3.27"))
    assert updated.status_code == 200, updated.text
    attaching = updated.json()["attachment"]
    info = attaching["connection_info"]
    assert attaching["status"] == "attaching"
    assert info["driver_volume_type"] == "vmdk"
    assert info["volume"] == info["vmdk_path"] == disk_of(volume_api, volume["id"])
    assert (info["volume_id"], info["serial"], info["attachment_id"]) == (
        volume["id"],
        volume["id"],
        reserved["id"],
    )
    assert (info["access_mode"], info["vmdk_size"]) == ("rw", 1024**3)

    action = f"{path}/action"
    too_old = volume_api.post(action, token=member.token, json={"os-complete": None})
    assert_fault(too_old, 404)
    done = volume_api.post(
        action, token=member.token, json={"os-complete": None}, headers=mv("3.44")
    )
    assert done.status_code == 204, done.text
    shown = volume_api.get(path, token=member.token, headers=mv("3.27")).json()["attachment"]
    assert shown["status"] == "attached" and shown["attached_at"]
    in_use = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert in_use["status"] == "in-use"
    assert [a["attachment_id"] for a in in_use["attachments"]] == [reserved["id"]]
    assert in_use["attachments"][0]["device"] == "/sdb"

    refused = volume_api.delete(f"/volumes/{volume['id']}", token=member.token)
    assert "attached" in assert_fault(refused, 400)

    gone = volume_api.delete(path, token=member.token, headers=mv("3.27"))
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"attachments": []}
    assert status_of(volume_api, volume["id"], member.token) == "available"
    assert_fault(volume_api.get(path, token=member.token, headers=mv("3.27")), 404)


def test_a_connector_at_create_and_the_ro_mode(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    created = attach(
        volume_api,
        member.token,
        volume["id"],
        "3.54",
        instance_uuid=server(),
        connector={"host": "esx-2"},
        mode="ro",
    )
    assert created.status_code == 200, created.text
    attachment = created.json()["attachment"]
    assert (attachment["status"], attachment["attach_mode"]) == ("attaching", "ro")
    info = attachment["connection_info"]
    assert info["access_mode"] == "ro" and "vmdk_path" not in info  # no os-brick connector
    # Below 3.54 the mode is not part of the request.
    other = create_volume(volume_api, member.token)
    old = attach(volume_api, member.token, other["id"], "3.53", instance_uuid=server(), mode="ro")
    assert "mode" in assert_fault(old, 400)


def test_refusals(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    assert_fault(attach(volume_api, member.token, volume["id"], "3.26"), 404)
    assert_fault(volume_api.get("/attachments", token=member.token), 404)
    first = attach(volume_api, member.token, volume["id"], instance_uuid=server())
    assert first.status_code == 200, first.text
    again = attach(volume_api, member.token, volume["id"], instance_uuid=server())
    assert "is not multiattach" in assert_fault(again, 400)
    assert_fault(attach(volume_api, member.token, str(uuid.uuid4()), instance_uuid=server()), 404)
    missing = volume_api.post(
        "/attachments", token=member.token, json={"attachment": {}}, headers=mv("3.27")
    )
    assert "volume_uuid" in assert_fault(missing, 400)
    nowhere = attach(volume_api, member.token, volume["id"], instance_uuid=str(uuid.uuid4()))
    assert "could not be found" in assert_fault(nowhere, 404)
    path = f"/attachments/{first.json()['attachment']['id']}"
    no_connector = volume_api.put(
        path, token=member.token, json={"attachment": {}}, headers=mv("3.27")
    )
    assert "connector" in assert_fault(no_connector, 400)
    bad_action = volume_api.post(
        f"{path}/action", token=member.token, json={"os-frob": {}}, headers=mv("3.44")
    )
    assert_fault(bad_action, 400)
    stranger = persona(volume_api.identity)
    assert_fault(volume_api.get(path, token=stranger.token, headers=mv("3.27")), 404)
    assert_fault(volume_api.delete(path, token=stranger.token, headers=mv("3.27")), 404)


def test_read_only_volumes_refuse_rw_and_tell_the_project(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    flag = {"os-update_readonly_flag": {"readonly": True}}
    action = volume_api.post(f"/volumes/{volume['id']}/action", token=member.token, json=flag)
    assert action.status_code == 202, action.text
    refused = attach(
        volume_api, member.token, volume["id"], "3.54", instance_uuid=server(), mode="rw"
    )
    assert "read-only" in assert_fault(refused, 400)
    assert status_of(volume_api, volume["id"], member.token) == "available"
    listed = volume_api.get("/messages", token=member.token, headers=mv("3.3")).json()
    [message] = [m for m in listed["messages"] if m.get("resource_uuid") == volume["id"]]
    assert message["event_id"] == "VOLUME_VOLUME_004_005"
    assert message["user_message"] == "update attachment: Volume's attach mode is invalid."
    # Without a mode asked, a read-only volume is attached `ro`.
    plain = attach(volume_api, member.token, volume["id"], instance_uuid=server())
    assert plain.json()["attachment"]["attach_mode"] == "ro"


def test_list_filters_pages_and_all_tenants(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    first, second = (create_volume(volume_api, owner.token) for _ in range(2))
    instance = server()
    ids = [
        attach(volume_api, owner.token, v["id"], instance_uuid=instance).json()["attachment"]["id"]
        for v in (first, second)
    ]

    def listed(token: str, **params: str) -> list[dict[str, Any]]:
        response = volume_api.get(
            "/attachments/detail", token=token, params=params, headers=mv("3.27")
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["attachments"]
        return found

    assert {a["id"] for a in listed(owner.token)} == set(ids)
    in_url = volume_api.get(
        f"/{owner.project_id}/attachments", token=owner.token, headers=mv("3.27")
    )
    assert {a["id"] for a in in_url.json()["attachments"]} == set(ids)
    assert [a["id"] for a in listed(owner.token, volume_id=first["id"])] == [ids[0]]
    assert {a["id"] for a in listed(owner.token, instance_id=instance)} == set(ids)
    assert listed(owner.token, status="attached") == []
    page = listed(owner.token, limit="1", sort="created_at:asc")
    assert [a["id"] for a in page] == [ids[0]]
    after = listed(owner.token, limit="1", sort="created_at:asc", marker=ids[0])
    assert [a["id"] for a in after] == [ids[1]]
    summary = volume_api.get("/attachments", token=owner.token, headers=mv("3.27")).json()
    assert set(summary["attachments"][0]) == {"id", "status", "instance", "volume_id"}
    admin = volume_api.admin_token
    assert not {a["id"] for a in listed(admin)} & set(ids)
    everyone = listed(admin, all_tenants="1", project_id=owner.project_id)
    assert {a["id"] for a in everyone} == set(ids)
    forbidden = volume_api.get(
        "/attachments", token=owner.token, params={"all_tenants": "1"}, headers=mv("3.27")
    )
    assert_fault(forbidden, 403)


def test_one_record_serves_the_legacy_actions_too(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    instance = server()
    legacy = {"os-attach": {"instance_uuid": instance, "mountpoint": "/dev/sdc"}}
    act = volume_api.post(f"/volumes/{volume['id']}/action", token=member.token, json=legacy)
    assert act.status_code == 202, act.text
    found = volume_api.get(
        "/attachments", token=member.token, params={"volume_id": volume["id"]}, headers=mv("3.27")
    ).json()["attachments"]
    assert [(a["status"], a["instance"]) for a in found] == [("attached", instance)]
    gone = volume_api.delete(
        f"/attachments/{found[0]['id']}", token=member.token, headers=mv("3.27")
    )
    assert gone.status_code == 200
    wait_volume(volume_api, volume["id"], member.token, "available")
    # And the other way: an attachment the API made is what os-detach removes.
    made = attach(volume_api, member.token, volume["id"], instance_uuid=instance)
    attachment_id = made.json()["attachment"]["id"]
    detach = {"os-detach": {"attachment_id": attachment_id}}
    act = volume_api.post(f"/volumes/{volume['id']}/action", token=member.token, json=detach)
    assert act.status_code == 202, act.text
    assert status_of(volume_api, volume["id"], member.token) == "available"
    shown = volume_api.get(f"/attachments/{attachment_id}", token=member.token, headers=mv("3.27"))
    assert_fault(shown, 404)


def test_servers_are_checked_with_nova(volume_api: VolumeApi) -> None:
    """With the cloud's own compute service: a server that does not exist is 404."""
    service = attachment_service(volume_api)
    service.connect_servers(volume_api.cloud.compute.servers.get)
    try:
        owner = persona(volume_api.identity)
        volume = create_volume(volume_api, owner.token)
        nowhere = attach(volume_api, owner.token, volume["id"], instance_uuid=str(uuid.uuid4()))
        assert "could not be found" in assert_fault(nowhere, 404)
        assert status_of(volume_api, volume["id"], owner.token) == "available"
    finally:
        service.connect_servers(known)  # the stand-in again, for the module's other tests
