"""Volume transfers through HTTP: offer (the key shown once), list, detail, show, withdraw,
accept by another project (the volume and its snapshots move, with their quota), the wrong key,
the receiver's quota, and 3.55's `/volume-transfers` with `no_snapshots` (3.57's views).

The service advertises 3.0 until the microversion walk lands; the gated tests raise the maximum
for themselves."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_snapshots import snapshot_of
from tests.api.test_volume_volumes import assert_fault, create_volume
from vistack.volume.api import microversion

LEGACY = "/os-volume-transfer"
MODERN = "/volume-transfers"


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


@pytest.fixture(scope="module")
def giver(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


@pytest.fixture(scope="module")
def receiver(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def offer(
    api: VolumeApi, token: str, volume_id: str, path: str = LEGACY, **fields: Any
) -> dict[str, Any]:
    headers = fields.pop("headers", {})
    body = {"transfer": {"volume_id": volume_id, **fields}}
    response = api.post(path, token=token, json=body, headers=headers)
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()["transfer"]
    return created


def used(api: VolumeApi, token: str) -> dict[str, int]:
    limits = api.get("/limits", token=token).json()["limits"]["absolute"]
    return {k: limits[k] for k in ("totalVolumesUsed", "totalSnapshotsUsed", "totalGigabytesUsed")}


def test_offer_and_accept_move_the_volume_its_snapshots_and_quota(
    volume_api: VolumeApi, giver: Persona, receiver: Persona
) -> None:
    volume = create_volume(volume_api, giver.token, 2)
    snapshot = snapshot_of(volume_api, volume["id"], giver.token)
    before = used(volume_api, giver.token)
    created = offer(volume_api, giver.token, volume["id"], name="gift")
    assert len(created["auth_key"]) == 16 and created["name"] == "gift"
    assert created["links"][0]["href"].endswith(f"{LEGACY}/{created['id']}")
    shown = volume_api.get(f"/volumes/{volume['id']}", token=giver.token).json()["volume"]
    assert shown["status"] == "awaiting-transfer"
    listed = volume_api.get(LEGACY, token=giver.token).json()["transfers"]
    assert [t["id"] for t in listed] == [created["id"]] and "created_at" not in listed[0]
    detail = volume_api.get(f"{LEGACY}/detail", token=giver.token).json()["transfers"]
    assert detail[0]["created_at"] and "auth_key" not in detail[0]
    assert "no_snapshots" not in detail[0]  # a 3.55 field
    show = volume_api.get(f"{LEGACY}/{created['id']}", token=giver.token).json()["transfer"]
    assert show["volume_id"] == volume["id"] and "auth_key" not in show
    # The receiver cannot see the offer, nor a volume awaiting transfer be deleted.
    assert_fault(volume_api.get(f"{LEGACY}/{created['id']}", token=receiver.token), 404)
    assert volume_api.get(LEGACY, token=receiver.token).json()["transfers"] == []
    assert_fault(volume_api.delete(f"/volumes/{volume['id']}", token=giver.token), 400)

    accept = f"{LEGACY}/{created['id']}/accept"
    wrong = volume_api.post(accept, token=receiver.token, json={"accept": {"auth_key": "x" * 16}})
    assert "invalid auth key" in assert_fault(wrong, 400)
    assert_fault(volume_api.post(accept, token=receiver.token, json={"accept": {}}), 400)
    response = volume_api.post(
        accept, token=receiver.token, json={"accept": {"auth_key": created["auth_key"]}}
    )
    assert response.status_code == 202, response.text
    assert response.json()["transfer"]["volume_id"] == volume["id"]
    moved = volume_api.get(f"/volumes/{volume['id']}", token=receiver.token).json()["volume"]
    assert (moved["status"], moved["os-vol-tenant-attr:tenant_id"]) == (
        "available",
        receiver.project_id,
    )
    assert moved["user_id"] == receiver.user_id
    assert_fault(volume_api.get(f"/volumes/{volume['id']}", token=giver.token), 404)
    snap = volume_api.get(f"/snapshots/{snapshot['id']}", token=receiver.token)
    assert snap.status_code == 200
    assert_fault(volume_api.get(f"{LEGACY}/{created['id']}", token=giver.token), 404)
    assert used(volume_api, receiver.token) == {
        "totalVolumesUsed": 1,
        "totalSnapshotsUsed": 1,
        "totalGigabytesUsed": 4,
    }
    after = used(volume_api, giver.token)
    assert after["totalVolumesUsed"] == before["totalVolumesUsed"] - 1
    assert after["totalGigabytesUsed"] == before["totalGigabytesUsed"] - 4
    again = volume_api.post(
        accept, token=receiver.token, json={"accept": {"auth_key": created["auth_key"]}}
    )
    assert_fault(again, 404)


def test_withdraw_and_what_cannot_be_offered(
    volume_api: VolumeApi, giver: Persona, receiver: Persona
) -> None:
    volume = create_volume(volume_api, giver.token)
    created = offer(volume_api, giver.token, volume["id"])
    # Offered once only; the other project can neither withdraw nor see it.
    twice = volume_api.post(
        LEGACY, token=giver.token, json={"transfer": {"volume_id": volume["id"]}}
    )
    assert "awaiting-transfer" in assert_fault(twice, 400)
    assert_fault(volume_api.delete(f"{LEGACY}/{created['id']}", token=receiver.token), 404)
    assert volume_api.delete(f"{LEGACY}/{created['id']}", token=giver.token).status_code == 202
    shown = volume_api.get(f"/volumes/{volume['id']}", token=giver.token).json()["volume"]
    assert shown["status"] == "available"
    assert_fault(volume_api.get(f"{LEGACY}/{created['id']}", token=giver.token), 404)
    # Attached volumes, other projects' volumes, bad bodies.
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    action = f"/volumes/{volume['id']}/action"
    assert volume_api.post(action, token=giver.token, json=attach).status_code == 202
    body = {"transfer": {"volume_id": volume["id"]}}
    assert "in-use" in assert_fault(volume_api.post(LEGACY, token=giver.token, json=body), 400)
    assert_fault(volume_api.post(LEGACY, token=receiver.token, json=body), 404)
    assert_fault(volume_api.post(LEGACY, token=giver.token, json={"transfer": {}}), 400)
    assert_fault(volume_api.post(LEGACY, token=giver.token, json={"volume": {}}), 400)
    no_snaps = {"transfer": {"volume_id": volume["id"], "no_snapshots": True}}
    assert_fault(volume_api.post(LEGACY, token=giver.token, json=no_snaps), 400)  # 3.55 only


def test_accept_over_the_receivers_quota_is_413(volume_api: VolumeApi, giver: Persona) -> None:
    receiver = persona(volume_api.identity)
    volume = create_volume(volume_api, giver.token)
    created = offer(volume_api, giver.token, volume["id"])
    quota = {"quota_set": {"volumes": 0}}
    assert volume_api.put(f"/os-quota-sets/{receiver.project_id}", json=quota).status_code == 200
    accept = f"{LEGACY}/{created['id']}/accept"
    body = {"accept": {"auth_key": created["auth_key"]}}
    refused = volume_api.post(accept, token=receiver.token, json=body)
    assert "VolumeLimitExceeded" in assert_fault(refused, 413)
    shown = volume_api.get(f"/volumes/{volume['id']}", token=giver.token).json()["volume"]
    assert (shown["status"], shown["os-vol-tenant-attr:tenant_id"]) == (
        "awaiting-transfer",
        giver.project_id,
    )
    quota = {"quota_set": {"volumes": 5}}
    assert volume_api.put(f"/os-quota-sets/{receiver.project_id}", json=quota).status_code == 200
    assert volume_api.post(accept, token=receiver.token, json=body).status_code == 202


def test_volume_transfers_3_55_no_snapshots_and_3_57_views(
    volume_api: VolumeApi, giver: Persona, receiver: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 70))
    assert_fault(volume_api.get(MODERN, token=giver.token), 404)  # 3.0: not there
    volume = create_volume(volume_api, giver.token)
    snapshot = snapshot_of(volume_api, volume["id"], giver.token)
    created = offer(
        volume_api,
        giver.token,
        volume["id"],
        MODERN,
        no_snapshots=True,
        headers=mv("3.57"),
    )
    assert created["no_snapshots"] is True and created["links"][0]["href"].endswith(
        f"{MODERN}/{created['id']}"
    )
    detail = volume_api.get(f"{MODERN}/detail", token=giver.token, headers=mv("3.57")).json()
    mine = next(t for t in detail["transfers"] if t["id"] == created["id"])
    assert (mine["source_project_id"], mine["accepted"]) == (giver.project_id, False)
    at_55 = volume_api.get(f"{MODERN}/{created['id']}", token=giver.token, headers=mv("3.55"))
    assert at_55.json()["transfer"]["no_snapshots"] is True
    assert "source_project_id" not in at_55.json()["transfer"]
    paged = volume_api.get(MODERN, token=giver.token, headers=mv("3.55"), params={"limit": 1})
    assert len(paged.json()["transfers"]) == 1
    accept = volume_api.post(
        f"{MODERN}/{created['id']}/accept",
        token=receiver.token,
        json={"accept": {"auth_key": created["auth_key"]}},
        headers=mv("3.57"),
    )
    assert accept.status_code == 202, accept.text
    # The snapshot stayed with the giver; the volume went.
    assert volume_api.get(f"/snapshots/{snapshot['id']}", token=giver.token).status_code == 200
    assert_fault(volume_api.get(f"/snapshots/{snapshot['id']}", token=receiver.token), 404)
    assert volume_api.get(f"/volumes/{volume['id']}", token=receiver.token).status_code == 200
