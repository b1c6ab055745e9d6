"""Cinder's user messages (3.3; filters, sorting and paging at 3.5) through HTTP, recorded
where a volume job fails, and the volume summary (3.12; its metadata at 3.36)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import assert_fault, create_volume, wait_volume
from vistack.drivers.errors import TransientError
from vistack.volume.api import microversion

pytestmark = VOLUME_ON_SQLITE_ONLY


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


@pytest.fixture(autouse=True)
def newer_microversions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 70))


def failed_volume(api: VolumeApi, owner: Persona, size: int = 1) -> dict[str, Any]:
    response = api.post("/volumes", token=owner.token, json={"volume": {"size": size}})
    assert response.status_code == 202, response.text
    return wait_volume(api, response.json()["volume"]["id"], owner.token, "error")


def messages(api: VolumeApi, token: str, version: str = "3.3", **params: str) -> Any:
    response = api.get("/messages", token=token, params=params, headers=mv(version))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_build_without_room_is_told_in_a_message(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"gigabytes": -1, "per_volume_gigabytes": -1}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    biggest = max(ds.capacity_gb for ds in volume_api.fake.state.datastores.values())
    volume = failed_volume(volume_api, owner, biggest + 1)

    [message] = messages(volume_api, owner.token)["messages"]
    assert message["event_id"] == "VOLUME_VOLUME_001_003"
    assert message["user_message"] == (
        "schedule allocate volume: Could not find any available weighted backend."
    )
    assert (message["resource_type"], message["resource_uuid"]) == ("VOLUME", volume["id"])
    assert message["message_level"] == "ERROR" and message["request_id"].startswith("req-")
    assert message["guaranteed_until"] > message["created_at"]
    assert message["links"][0]["href"].endswith(f"/messages/{message['id']}")

    path = f"/messages/{message['id']}"
    shown = volume_api.get(path, token=owner.token, headers=mv("3.3"))
    assert shown.json()["message"] == message
    assert_fault(volume_api.get(path, token=owner.token, headers=mv("3.2")), 404)
    stranger = persona(volume_api.identity)
    assert_fault(volume_api.get(path, token=stranger.token, headers=mv("3.3")), 404)
    assert messages(volume_api, stranger.token)["messages"] == []
    assert volume_api.delete(path, token=owner.token, headers=mv("3.3")).status_code == 204
    assert_fault(volume_api.get(path, token=owner.token, headers=mv("3.3")), 404)


def test_a_type_no_pool_satisfies_is_told_in_a_message(volume_api: VolumeApi) -> None:
    """Tempest's way to a user message: unscoped extra specs no pool reports the same."""
    owner = persona(volume_api.identity)
    specs = {"storage_protocol": "bogus-protocol", "vendor_name": "bogus-vendor"}
    created = volume_api.post(
        "/types", json={"volume_type": {"name": "bogus", "extra_specs": specs}}
    )
    assert created.status_code == 200, created.text
    type_id = created.json()["volume_type"]["id"]
    body = {"volume": {"size": 1, "volume_type": type_id}}
    response = volume_api.post("/volumes", token=owner.token, json=body)
    assert response.status_code == 202, response.text
    volume = wait_volume(volume_api, response.json()["volume"]["id"], owner.token, "error")
    [message] = messages(volume_api, owner.token)["messages"]
    assert message["event_id"] == "VOLUME_VOLUME_001_003"
    assert message["resource_uuid"] == volume["id"]
    # A type the pools satisfy (the capabilities they report) builds.
    good = {"storage_protocol": "vmdk", "vendor_name": "<in> VMware"}
    created = volume_api.post("/types", json={"volume_type": {"name": "good", "extra_specs": good}})
    create_volume(volume_api, owner.token, 1, volume_type=created.json()["volume_type"]["id"])


def test_driver_failures_filters_and_pages(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    made = []
    for _ in range(2):
        volume_api.fake.state.fail_next("create_disk", TransientError("vCenter went away"))
        made.append(failed_volume(volume_api, owner)["id"])
    listed = messages(volume_api, owner.token)["messages"]
    assert {m["event_id"] for m in listed} == {"VOLUME_VOLUME_008_012"}
    assert [m["resource_uuid"] for m in listed] == made[::-1]  # newest first

    only = messages(volume_api, owner.token, "3.5", resource_uuid=made[0])["messages"]
    assert [m["resource_uuid"] for m in only] == [made[0]]
    page = messages(volume_api, owner.token, "3.5", limit="1", sort="created_at:asc")
    assert [m["resource_uuid"] for m in page["messages"]] == [made[0]]
    assert "marker=" in page["messages_links"][0]["href"]
    # Before 3.5 the paging parameters are not read.
    unpaged = messages(volume_api, owner.token, "3.3", limit="1")
    assert len(unpaged["messages"]) == 2 and "messages_links" not in unpaged
    bad = volume_api.get("/messages", token=owner.token, params={"sort": "nope"}, headers=mv("3.5"))
    assert_fault(bad, 400)
    admin = messages(volume_api, volume_api.admin_token, all_tenants="1")["messages"]
    assert set(made) <= {m.get("resource_uuid") for m in admin}


def test_a_failed_snapshot_is_told_too(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    volume = create_volume(volume_api, owner.token)
    volume_api.fake.state.fail_next("copy_disk", TransientError("vCenter went away"))
    body = {"snapshot": {"volume_id": volume["id"]}}
    response = volume_api.post("/snapshots", token=owner.token, json=body)
    assert response.status_code == 202, response.text
    snapshot_id = response.json()["snapshot"]["id"]
    for _ in range(200):
        snap = volume_api.get(f"/snapshots/{snapshot_id}", token=owner.token).json()["snapshot"]
        if snap["status"] == "error":
            break
        time.sleep(0.05)
    [message] = messages(volume_api, owner.token)["messages"]
    assert message["event_id"] == "VOLUME_VOLUME_SNAPSHOT_009_013"
    assert message["resource_uuid"] == snapshot_id


def test_volume_summary(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    create_volume(volume_api, owner.token, 1, metadata={"tier": "gold", "team": "a"})
    create_volume(volume_api, owner.token, 2, metadata={"tier": "silver"})

    def summary(token: str, version: str, **params: str) -> Any:
        return volume_api.get("/volumes/summary", token=token, params=params, headers=mv(version))

    plain = summary(owner.token, "3.12")
    assert plain.status_code == 200, plain.text
    assert plain.json() == {"volume-summary": {"total_size": 3, "total_count": 2}}
    full = summary(owner.token, "3.36").json()["volume-summary"]
    assert full["metadata"] == {"team": ["a"], "tier": ["gold", "silver"]}
    assert_fault(summary(owner.token, "3.11"), 404)
    assert_fault(summary(owner.token, "3.12", all_tenants="1"), 403)
    admin = volume_api.admin_token
    theirs = summary(admin, "3.12", all_tenants="1", project_id=owner.project_id).json()
    assert theirs["volume-summary"] == {"total_size": 3, "total_count": 2}
    everyone = summary(admin, "3.12", all_tenants="1").json()["volume-summary"]
    assert everyone["total_count"] >= 2
