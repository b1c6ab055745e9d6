"""Managing existing disks (3.8): the backend's VMDKs listed as manageable, one adopted as a
volume (`os-volume-manage`), forgotten again (`os-unmanage`) with its disk left in place."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_snapshots import wait_snapshot
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, has_disk
from vistack.drivers.models import Provisioning
from vistack.volume.api import microversion

V38 = {"OpenStack-API-Version": "volume 3.8"}


pytestmark = VOLUME_ON_SQLITE_ONLY


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 71))


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def host(api: VolumeApi, pool: str | None = None) -> str:
    services = api.get("/os-services?binary=cinder-volume").json()["services"]
    base: str = services[0]["host"]
    return f"{base}#{pool}" if pool else base


def orphan(api: VolumeApi, size: int = 2) -> tuple[str, str]:
    """A disk made behind Cinder's back on the first datastore: (datastore, name)."""
    datastore = api.fake.state.topology().datastores[0]
    name = unique("orphan")
    api.fake.volumes.create_disk(datastore, name, size, Provisioning.THIN)
    return datastore, name


def listed(api: VolumeApi, query: str, detail: bool = True) -> dict[str, Any]:
    path = "/manageable_volumes/detail" if detail else "/manageable_volumes"
    response = api.get(f"{path}?{query}", headers=V38)
    assert response.status_code == 200, response.text
    return {e["reference"]["source-name"]: e for e in response.json()["manageable-volumes"]}


def test_manageable_lists_owned_and_free_disks(volume_api: VolumeApi, member: Persona) -> None:
    owned = create_volume(volume_api, member.token)
    datastore, name = orphan(volume_api)
    entries = listed(volume_api, f"host={host(volume_api)}")
    assert entries[name]["safe_to_manage"] is True and entries[name]["size"] == 2
    assert entries[name]["cinder_id"] is None
    mine = [e for e in entries.values() if e["cinder_id"] == owned["id"]]
    assert len(mine) == 1 and mine[0]["safe_to_manage"] is False and mine[0]["reason_not_safe"]
    summary = listed(volume_api, f"host={host(volume_api, datastore)}", detail=False)
    assert set(summary[name]) == {"reference", "size", "safe_to_manage"}
    # Paging by reference, the refusals, and the version gate.
    page = volume_api.get(f"/manageable_volumes?host={host(volume_api)}&limit=1", headers=V38)
    assert len(page.json()["manageable-volumes"]) == 1 and page.json()["manageable-volumes_links"]
    assert_fault(volume_api.get("/manageable_volumes", headers=V38), 400)
    assert_fault(volume_api.get("/manageable_volumes?host=elsewhere@vmware", headers=V38), 404)
    assert_fault(volume_api.get("/manageable_volumes?cluster=c1", headers=V38), 404)
    old = {"OpenStack-API-Version": "volume 3.7"}
    assert_fault(volume_api.get(f"/manageable_volumes?host={host(volume_api)}", headers=old), 404)
    member_try = volume_api.get(
        f"/manageable_volumes?host={host(volume_api)}", token=member.token, headers=V38
    )
    assert_fault(member_try, 403)


def test_manage_then_unmanage_keeps_the_disk(volume_api: VolumeApi) -> None:
    datastore, name = orphan(volume_api, size=3)
    body = {
        "volume": {
            "host": host(volume_api, datastore),
            "ref": {"source-name": name},
            "name": "adopted",
            "metadata": {"from": "vcenter"},
        }
    }
    response = volume_api.post("/os-volume-manage", json=body)
    assert response.status_code == 202, response.text
    volume = response.json()["volume"]
    assert volume["status"] == "available" and volume["size"] == 3
    assert volume["name"] == "adopted" and volume["metadata"] == {"from": "vcenter"}
    shown = volume_api.get(f"/volumes/{volume['id']}").json()["volume"]
    assert shown["os-vol-host-attr:host"] == host(volume_api, datastore)
    assert listed(volume_api, f"host={host(volume_api)}")[name]["cinder_id"] == volume["id"]
    # The same disk again is refused; so is a disk that does not exist.
    assert "already managed" in assert_fault(volume_api.post("/os-volume-manage", json=body), 400)
    body["volume"]["ref"] = {"source-name": unique("nothing")}
    assert_fault(volume_api.post("/os-volume-manage", json=body), 400)
    assert_fault(volume_api.post("/os-volume-manage", json={"volume": {"ref": {}}}), 400)
    # Unmanage: the volume goes, the disk stays and is manageable again.
    action = volume_api.post(f"/volumes/{volume['id']}/action", json={"os-unmanage": None})
    assert action.status_code == 202, action.text
    assert volume_api.get(f"/volumes/{volume['id']}").status_code == 404
    assert any(p.endswith(f"/{name}.vmdk") for p in volume_api.fake.state.disks)
    assert listed(volume_api, f"host={host(volume_api)}")[name]["safe_to_manage"] is True


def test_unmanaged_volume_is_managed_again_by_cinder_name(volume_api: VolumeApi) -> None:
    """Tempest's round trip: unmanage a volume, then manage `volume-<id>` on its host."""
    original = create_volume(volume_api, volume_api.admin_token)
    action = volume_api.post(f"/volumes/{original['id']}/action", json={"os-unmanage": None})
    assert action.status_code == 202, action.text
    body = {
        "volume": {
            "host": original["os-vol-host-attr:host"],
            "ref": {"source-name": f"volume-{original['id']}"},
            "volume_type": original["volume_type"],
            "availability_zone": original["availability_zone"],
        }
    }
    response = volume_api.post("/os-volume-manage", json=body)
    assert response.status_code == 202, response.text
    shown = volume_api.get(f"/volumes/{response.json()['volume']['id']}").json()["volume"]
    for key in ("size", "volume_type", "availability_zone", "os-vol-host-attr:host"):
        assert shown[key] == original[key], key
    assert disk_of(volume_api, original["id"])  # the same disk, not a copy


def test_unmanage_refusals(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    path = f"/volumes/{volume['id']}/action"
    assert_fault(volume_api.post(path, token=member.token, json={"os-unmanage": None}), 403)
    snap = volume_api.post(
        "/snapshots", token=member.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    assert snap.status_code == 202, snap.text
    assert "snapshots" in assert_fault(volume_api.post(path, json={"os-unmanage": None}), 400)
    assert has_disk(volume_api, volume["id"])


def test_manage_and_unmanage_a_snapshot_disk(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    owned = volume_api.post(
        "/snapshots", token=member.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    assert owned.status_code == 202, owned.text
    owned_id = owned.json()["snapshot"]["id"]
    wait_snapshot(volume_api, owned_id, member.token, "available")
    shown = volume_api.get(f"/volumes/{volume['id']}").json()["volume"]
    datastore = shown["os-vol-host-attr:host"].partition("#")[2]
    name = unique("snapshot-")
    volume_api.fake.volumes.create_disk(datastore, name, 1, Provisioning.THIN)
    response = volume_api.get(f"/manageable_snapshots/detail?host={host(volume_api)}", headers=V38)
    assert response.status_code == 200, response.text
    entries = {e["reference"]["source-name"]: e for e in response.json()["manageable-snapshots"]}
    assert entries[name]["safe_to_manage"] is True and entries[name]["source_reference"] is None
    mine = entries[f"snapshot-{owned_id}"]
    assert mine["cinder_id"] == owned_id and mine["safe_to_manage"] is False
    assert mine["source_reference"] == {"source-name": volume["id"]}
    body = {"snapshot": {"volume_id": volume["id"], "ref": {"source-name": name}, "name": "a"}}
    adopted = volume_api.post("/os-snapshot-manage", json=body)
    assert adopted.status_code == 202, adopted.text
    snapshot = adopted.json()["snapshot"]
    assert snapshot["status"] == "available" and snapshot["volume_id"] == volume["id"]
    # Cinder's base view (Tempest's manage_snapshot schema); GET keeps the extended fields.
    base = {"id", "name", "description", "size", "status", "volume_id", "metadata"}
    assert set(snapshot) == base | {"created_at", "updated_at"}
    full = volume_api.get(f"/snapshots/{snapshot['id']}", headers=V38).json()["snapshot"]
    assert full["os-extended-snapshot-attributes:project_id"] and full["id"] == snapshot["id"]
    assert_fault(volume_api.post("/os-snapshot-manage", json=body), 400)  # owned now
    path = f"/snapshots/{snapshot['id']}/action"
    assert volume_api.post(path, json={"os-unmanage": {}}).status_code == 202
    assert volume_api.get(f"/snapshots/{snapshot['id']}").status_code == 404
    assert any(p.endswith(f"/{name}.vmdk") for p in volume_api.fake.state.disks)
