"""Each Cinder microversion this cloud implements, at its boundary: the field present at N and
absent at N-1, the filter that starts to work (or to be refused) at N; the administrative
steps (services, clusters, cleanup, log levels, resource and pool filters, limits) and the
project default types of 3.62 too (managing existing disks, 3.8: test_volume_manage.py).
The service advertises `microversion.MAX_VERSION`; these tests raise it for themselves so
that every implemented step is proven whatever is advertised (docs/cinder-microversions.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, ImageApi, VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_snapshots import wait_snapshot
from tests.api.test_volume_types import make_type
from tests.api.test_volume_volumes import (
    assert_fault,
    create_volume,
    has_disk,
    vmdk_image,
    wait_volume,
)
from vistack.volume.api import microversion

pytestmark = VOLUME_ON_SQLITE_ONLY


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 71))


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


@pytest.fixture(scope="module")
def volume(volume_api: VolumeApi, member: Persona) -> dict[str, Any]:
    """One member volume with metadata, shared by the read-only tests."""
    return create_volume(volume_api, member.token, name=unique("mv"), metadata={"k": "v"})


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


def get(api: VolumeApi, path: str, version: str, token: str | None = None, code: int = 200) -> Any:
    response = api.get(path, token=token, headers=at(version))
    assert response.status_code == code, response.text
    return response.json()


def names(body: dict[str, Any], key: str = "volumes") -> set[str]:
    return {item["name"] for item in body[key]}


def test_volume_fields_by_version(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    path = f"/volumes/{volume['id']}"
    old = get(volume_api, path, "3.20", member.token)["volume"]
    for key in ("shared_targets", "service_uuid", "volume_type_id", "consumes_quota"):
        assert key not in old
    new = get(volume_api, path, "3.65", member.token)["volume"]
    assert new["shared_targets"] is False and new["service_uuid"]
    assert new["volume_type_id"] and new["consumes_quota"] is True
    assert new["encryption_key_id"] is None
    assert "provider_id" not in new and "cluster_name" not in new  # administrators only
    admin = get(volume_api, path, "3.61")["volume"]
    assert admin["provider_id"].endswith(f"{volume['id']}.vmdk")
    assert admin["cluster_name"] is None
    assert "provider_id" not in get(volume_api, path, "3.20")["volume"]
    assert "cluster_name" not in get(volume_api, path, "3.60")["volume"]
    assert "volume_type_id" not in get(volume_api, path, "3.62", member.token)["volume"]


def test_snapshot_fields_and_force_by_version(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    body = {"snapshot": {"volume_id": volume["id"], "force": False}}
    refused = volume_api.post("/snapshots", token=member.token, json=body, headers=at("3.66"))
    assert "3.66" in assert_fault(refused, 400)
    made = volume_api.post("/snapshots", token=member.token, json=body, headers=at("3.65"))
    assert made.status_code == 202, made.text
    snapshot = made.json()["snapshot"]
    assert snapshot["user_id"] == member.user_id and snapshot["consumes_quota"] is True
    path = f"/snapshots/{snapshot['id']}"
    assert "user_id" not in get(volume_api, path, "3.40", member.token)["snapshot"]
    assert get(volume_api, path, "3.41", member.token)["snapshot"]["user_id"] == member.user_id


def test_in_use_snapshot_needs_no_force_from_3_66(volume_api: VolumeApi, member: Persona) -> None:
    made = create_volume(volume_api, member.token)
    reset = {"os-reset_status": {"status": "in-use"}}
    assert volume_api.post(f"/volumes/{made['id']}/action", json=reset).status_code == 202
    body = {"snapshot": {"volume_id": made["id"]}}
    old = volume_api.post("/snapshots", token=member.token, json=body, headers=at("3.65"))
    assert_fault(old, 400)
    new = volume_api.post("/snapshots", token=member.token, json=body, headers=at("3.66"))
    assert new.status_code == 202, new.text


def test_list_filters_by_version(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    token = member.token
    part = volume["name"][3:].upper()
    # 3.34: `name~` matches a part, ignoring case; before it the key is dropped.
    assert names(get(volume_api, f"/volumes?name~={part}", "3.34", token)) == {volume["name"]}
    assert volume["name"] in names(get(volume_api, f"/volumes?name~={part}", "3.33", token))
    # 3.2: bootable takes only booleans.
    assert_fault(volume_api.get("/volumes?bootable=maybe", token=token, headers=at("3.2")), 400)
    # Before 3.2 anything but false means bootable (this volume is not).
    assert volume["name"] not in names(get(volume_api, "/volumes?bootable=maybe", "3.1", token))
    # 3.31: filters a member may not use are refused; before they are dropped.
    assert_fault(volume_api.get("/volumes?user_id=x", token=token, headers=at("3.31")), 400)
    assert volume["name"] in names(get(volume_api, "/volumes?user_id=x", "3.30", token))
    # 3.60: time comparisons.
    created = volume["created_at"]
    after = get(volume_api, f"/volumes/detail?created_at=gte:{created}", "3.60", token)
    assert volume["name"] in names(after)
    later = get(volume_api, f"/volumes/detail?created_at=gt:{created}", "3.60", token)
    assert volume["name"] not in names(later)
    assert_fault(
        volume_api.get("/volumes?created_at=gt:yesterday", token=token, headers=at("3.60")), 400
    )
    # 3.65: consumes_quota.
    assert volume["name"] in names(get(volume_api, "/volumes?consumes_quota=true", "3.65", token))
    assert not get(volume_api, "/volumes?consumes_quota=false", "3.65", token)["volumes"]
    # metadata still filters (a JSON dict, as the clients send it).
    meta = get(volume_api, '/volumes?metadata={"k": "v"}', "3.65", token)
    assert names(meta) == {volume["name"]}


def test_glance_metadata_filter_from_3_4(volume_api: VolumeApi, member: Persona) -> None:
    made = create_volume(volume_api, member.token, name=unique("gm"))
    query = '/volumes?glance_metadata={"os_distro": "none"}'
    # Before 3.4 the filter is dropped; from 3.4 (as an administrator) it filters.
    assert made["name"] in names(get(volume_api, query + "&all_tenants=1", "3.3"))
    assert made["name"] not in names(get(volume_api, query + "&all_tenants=1", "3.4"))


def test_with_count_from_3_45(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    body = get(volume_api, "/volumes?with_count=true&limit=1", "3.45", member.token)
    assert body["count"] >= 1 and len(body["volumes"]) == 1
    assert "count" not in get(volume_api, "/volumes?with_count=true", "3.44", member.token)
    snaps = get(volume_api, "/snapshots/detail?with_count=true", "3.45", member.token)
    assert snaps["count"] == len(snaps["snapshots"])


def test_snapshot_metadata_filter_from_3_22(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    body = {"snapshot": {"volume_id": volume["id"], "metadata": {"tag": "x1"}}}
    response = volume_api.post("/snapshots", token=member.token, json=body)
    assert response.status_code == 202, response.text
    query = '/snapshots?metadata={"tag": "x1"}'
    found = get(volume_api, query, "3.22", member.token)["snapshots"]
    assert [s["id"] for s in found] == [response.json()["snapshot"]["id"]]
    assert len(get(volume_api, query, "3.21", member.token)["snapshots"]) >= 1


def test_metadata_etag_from_3_15(volume_api: VolumeApi, member: Persona) -> None:
    made = create_volume(volume_api, member.token, metadata={"a": "1"})
    path = f"/volumes/{made['id']}/metadata"
    assert "etag" not in volume_api.get(path, token=member.token, headers=at("3.14")).headers
    read = volume_api.get(path, token=member.token, headers=at("3.15"))
    tag = read.headers["etag"]
    first = {"If-Match": tag, **at("3.15")}
    body = {"metadata": {"a": "2"}}
    changed = volume_api.put(path, token=member.token, json=body, headers=first)
    assert changed.status_code == 200, changed.text
    # The same tag again is stale now: the lost update is refused.
    stale = volume_api.put(path, token=member.token, json={"metadata": {"a": "3"}}, headers=first)
    assert stale.status_code == 412, stale.text
    item = volume_api.put(f"{path}/a", token=member.token, json={"meta": {"a": "4"}}, headers=first)
    assert item.status_code == 412, item.text
    assert volume_api.get(path, token=member.token).json() == {"metadata": {"a": "2"}}
    # Before 3.15 If-Match is not read.
    old = {"If-Match": tag, **at("3.14")}
    assert volume_api.put(path, token=member.token, json=body, headers=old).status_code == 200


def test_type_list_extra_specs_filter_and_zones(volume_api: VolumeApi, member: Persona) -> None:
    name = unique("az")
    made = volume_api.post("/types", json={"volume_type": {"name": name}}).json()["volume_type"]
    specs = {"extra_specs": {"RESKEY:availability_zones": "elsewhere", "tier": name}}
    assert volume_api.post(f"/types/{made['id']}/extra_specs", json=specs).status_code == 200
    query = "/types?extra_specs=" + json.dumps({"tier": name})
    assert [t["name"] for t in get(volume_api, query, "3.52")["volume_types"]] == [name]
    assert len(get(volume_api, query, "3.51")["volume_types"]) > 1  # not read before 3.52
    body = {"volume": {"size": 1, "volume_type": name}}
    refused = volume_api.post("/volumes", json=body)
    assert "RESKEY:availability_zones" in assert_fault(refused, 400)


def test_strict_volume_bodies_from_3_53(volume_api: VolumeApi, member: Persona) -> None:
    body = {"volume": {"size": 1, "status": "available"}}
    refused = volume_api.post("/volumes", token=member.token, json=body, headers=at("3.53"))
    assert "status" in assert_fault(refused, 400)
    made = create_volume(volume_api, member.token)
    path = f"/volumes/{made['id']}"
    update = {"volume": {"name": "n", "user_id": "x"}}
    assert_fault(volume_api.put(path, token=member.token, json=update, headers=at("3.53")), 400)
    ok = volume_api.put(path, token=member.token, json=update, headers=at("3.52"))
    assert ok.status_code == 200, ok.text


def test_reimage_action_from_3_68(volume_api: VolumeApi, member: Persona, tmp_path: Path) -> None:
    image_id = vmdk_image(volume_api, tmp_path, os_distro="ubuntu")
    made = create_volume(volume_api, member.token, size=1, metadata={"keep": "me"})
    path = f"/volumes/{made['id']}/action"
    body = {"os-reimage": {"image_id": image_id}}
    old = volume_api.post(path, token=member.token, json=body, headers=at("3.67"))
    assert_fault(old, 400)  # no such action before 3.68
    response = volume_api.post(path, token=member.token, json=body, headers=at("3.68"))
    assert response.status_code == 202, response.text
    volume = wait_volume(volume_api, made["id"], member.token, "available")
    assert volume["bootable"] == "true" and volume["metadata"] == {"keep": "me"}
    assert volume["volume_image_metadata"]["os_distro"] == "ubuntu"
    assert has_disk(volume_api, made["id"])
    missing = {"os-reimage": {"image_id": "no-such-image"}}
    assert_fault(volume_api.post(path, token=member.token, json=missing, headers=at("3.68")), 404)
    reserved = {"os-reimage": {"image_id": image_id, "reimage_reserved": True}}
    assert_fault(volume_api.post(path, token=member.token, json=reserved, headers=at("3.68")), 400)


def test_volume_from_a_nova_snapshot_image_from_3_46(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    snap = volume_api.post(
        "/snapshots", token=member.token, json={"snapshot": {"volume_id": volume["id"]}}
    )
    assert snap.status_code == 202, snap.text
    snapshot_id = snap.json()["snapshot"]["id"]
    wait_snapshot(volume_api, snapshot_id, member.token, "available")
    images = ImageApi(volume_api.cloud, volume_api.client, volume_api.fake)
    mapping = json.dumps([{"boot_index": 0, "snapshot_id": snapshot_id, "source_type": "snapshot"}])
    body = {"name": unique("nova-snap"), "block_device_mapping": mapping, "bdm_v2": "True"}
    image = images.post("/v2/images", token=member.token, json=body)
    assert image.status_code == 201, image.text
    create = {"volume": {"size": 1, "imageRef": image.json()["id"]}}
    old = volume_api.post("/volumes", token=member.token, json=create, headers=at("3.45"))
    assert_fault(old, 400)  # an image with no disk
    new = volume_api.post("/volumes", token=member.token, json=create, headers=at("3.46"))
    assert new.status_code == 202, new.text
    made = wait_volume(volume_api, new.json()["volume"]["id"], member.token, "available")
    assert made["snapshot_id"] == snapshot_id


def test_extend_volume_completion_from_3_71(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    body = {"os-extend_volume_completion": {"error": False}}
    path = f"/volumes/{volume['id']}/action"
    answer = volume_api.post(path, json=body, headers=at("3.71"))
    assert "not waiting" in assert_fault(answer, 400)
    assert (
        "no such action"
        in assert_fault(volume_api.post(path, json=body, headers=at("3.70")), 400).lower()
    )


def test_force_delete_parameter_from_3_23(volume_api: VolumeApi, member: Persona) -> None:
    made = create_volume(volume_api, member.token)
    reset = {"os-reset_status": {"status": "maintenance"}}
    assert volume_api.post(f"/volumes/{made['id']}/action", json=reset).status_code == 202
    path = f"/volumes/{made['id']}?force=true"
    assert_fault(volume_api.delete(path, headers=at("3.22")), 400)  # force not read: refused
    assert_fault(volume_api.delete(path, token=member.token, headers=at("3.23")), 403)
    assert volume_api.delete(path, headers=at("3.23")).status_code == 202


def test_snapshot_sort_by_name(
    volume_api: VolumeApi, member: Persona, volume: dict[str, Any]
) -> None:
    for name in ("s-b", "s-a"):
        body = {"snapshot": {"volume_id": volume["id"], "name": name}}
        assert volume_api.post("/snapshots", token=member.token, json=body).status_code == 202
    found = get(volume_api, "/snapshots?sort=name:asc", "3.30", member.token)["snapshots"]
    named = [s["name"] for s in found if s["name"] in ("s-a", "s-b")]
    assert named == ["s-a", "s-b"]


# -- administration: services, clusters, logs, filters, pools, limits (3.7-3.49) ----------


def services(api: VolumeApi, version: str) -> dict[str, dict[str, Any]]:
    found = api.get("/os-services", headers=at(version)).json()["services"]
    return {s["binary"]: s for s in found}


def test_service_fields_by_version(volume_api: VolumeApi) -> None:
    assert "cluster_name" not in services(volume_api, "3.6")["cinder-volume"]
    assert services(volume_api, "3.7")["cinder-volume"]["cluster_name"] is None
    assert "backend_state" not in services(volume_api, "3.48")["cinder-volume"]
    latest = services(volume_api, "3.49")
    assert latest["cinder-volume"]["backend_state"] == "up"
    assert "backend_state" not in latest["cinder-scheduler"]


def test_clusters_cleanup_and_failover(volume_api: VolumeApi, member: Persona) -> None:
    assert volume_api.get("/clusters", headers=at("3.7")).json() == {"clusters": []}
    assert_fault(volume_api.get("/clusters", headers=at("3.6")), 404)
    assert_fault(volume_api.get("/clusters/c1", headers=at("3.7")), 404)
    assert_fault(volume_api.get("/clusters", token=member.token, headers=at("3.7")), 403)
    cleaned = volume_api.post("/workers/cleanup", json={}, headers=at("3.24"))
    assert cleaned.status_code == 202, cleaned.text
    assert cleaned.json() == {"cleaning": [], "unavailable": []}  # nothing is down
    forced = volume_api.post("/workers/cleanup", json={"is_up": True}, headers=at("3.24"))
    (entry,) = forced.json()["unavailable"]
    assert entry["binary"] == "cinder-volume" and entry["cluster_name"] is None
    assert_fault(volume_api.post("/workers/cleanup", json={}, headers=at("3.23")), 404)
    host = services(volume_api, "3.7")["cinder-volume"]["host"]
    failover = volume_api.put("/os-services/failover", json={"host": host}, headers=at("3.26"))
    assert "fail" in assert_fault(failover, 501)
    by_cluster = {"cluster": "c1"}
    assert_fault(volume_api.put("/os-services/failover", json=by_cluster, headers=at("3.26")), 404)
    assert_fault(volume_api.put("/os-services/failover", json=by_cluster, headers=at("3.25")), 404)


def test_log_levels(volume_api: VolumeApi, member: Persona) -> None:
    target = logging.getLogger("vistack.volume.domain")
    before = target.level
    try:
        body = {"level": "DEBUG", "binary": "cinder-volume"}
        response = volume_api.put("/os-services/set-log", json=body, headers=at("3.32"))
        assert response.status_code == 202, response.text
        assert target.level == logging.DEBUG
        levels = volume_api.put(
            "/os-services/get-log", json={"binary": "cinder-volume"}, headers=at("3.32")
        ).json()["log_levels"]
        assert levels[0]["binary"] == "cinder-volume"
        assert levels[0]["levels"]["vistack.volume.domain"] == "DEBUG"
        bad = {"level": "LOUD"}
        assert_fault(volume_api.put("/os-services/set-log", json=bad, headers=at("3.32")), 400)
        forbidden = volume_api.put(
            "/os-services/get-log", token=member.token, json={}, headers=at("3.32")
        )
        assert_fault(forbidden, 403)
        assert_fault(volume_api.put("/os-services/set-log", json=body, headers=at("3.31")), 404)
    finally:
        target.setLevel(before)


def test_resource_filters(volume_api: VolumeApi, member: Persona) -> None:
    everything = volume_api.get("/resource_filters", token=member.token, headers=at("3.33"))
    resources = {r["resource"]: r["filters"] for r in everything.json()["resource_filters"]}
    assert "name" in resources["volume"] and "metadata" in resources["snapshot"]
    one = volume_api.get("/resource_filters?resource=volume", headers=at("3.33")).json()
    assert [r["resource"] for r in one["resource_filters"]] == ["volume"]
    assert_fault(volume_api.get("/resource_filters", headers=at("3.32")), 404)


def test_limits_of_another_project(volume_api: VolumeApi, member: Persona) -> None:
    other = persona(volume_api.identity)
    quota = {"quota_set": {"volumes": 7}}
    assert volume_api.put(f"/os-quota-sets/{other.project_id}", json=quota).status_code == 200
    path = f"/limits?project_id={other.project_id}"
    limits = volume_api.get(path, headers=at("3.39")).json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 7
    own = volume_api.get(path, headers=at("3.38")).json()["limits"]["absolute"]
    assert own["maxTotalVolumes"] != 7  # before 3.39 the parameter is not read
    assert_fault(volume_api.get(path, token=member.token, headers=at("3.39")), 403)


def test_pool_filters(volume_api: VolumeApi) -> None:
    pools = volume_api.get("/scheduler-stats/get_pools", headers=at("3.28")).json()["pools"]
    first = pools[0]["name"]
    named = volume_api.get(f"/scheduler-stats/get_pools?name={quote(first)}", headers=at("3.28"))
    assert [p["name"] for p in named.json()["pools"]] == [first]
    old = volume_api.get(f"/scheduler-stats/get_pools?name={quote(first)}", headers=at("3.27"))
    assert len(old.json()["pools"]) == len(pools)
    datastore = first.partition("#")[2]
    made = volume_api.post("/types", json={"volume_type": {"name": f"only-{datastore}"}})
    type_id = made.json()["volume_type"]["id"]
    specs = {"extra_specs": {"vmware:datastore_regex": datastore}}
    assert volume_api.post(f"/types/{type_id}/extra_specs", json=specs).status_code == 200
    by_type = volume_api.get(
        f"/scheduler-stats/get_pools?volume_type={type_id}", headers=at("3.35")
    )
    assert [p["name"] for p in by_type.json()["pools"]] == [first]
    bad = volume_api.get("/scheduler-stats/get_pools?size=1", headers=at("3.31"))
    assert_fault(bad, 400)


# -- project default types (3.62) -------------------------------------------------------------

V362 = at("3.62")


def test_project_default_type(volume_api: VolumeApi, member: Persona) -> None:
    chosen = make_type(volume_api)
    path = f"/default-types/{member.project_id}"
    assert_fault(volume_api.get(path, headers=V362), 404)  # none of its own yet
    body = {"default_type": {"volume_type": chosen["name"]}}
    old = {"OpenStack-API-Version": "volume 3.61"}
    assert_fault(volume_api.put(path, json=body, headers=old), 404)
    assert_fault(volume_api.put(path, token=member.token, json=body, headers=V362), 403)
    response = volume_api.put(path, json=body, headers=V362)
    assert response.status_code == 200, response.text
    expected = {"project_id": member.project_id, "volume_type_id": chosen["id"]}
    assert response.json() == {"default_type": expected}
    # The project's member reads its own; the admin lists every project's.
    shown = volume_api.get(path, token=member.token, headers=V362)
    assert shown.json() == {"default_type": expected}
    listed = volume_api.get("/default-types", headers=V362).json()["default_types"]
    assert expected in listed
    # Creates naming no type get it, and /types/default answers it for the project.
    volume = create_volume(volume_api, member.token)
    assert volume["volume_type"] == chosen["name"]
    default = volume_api.get("/types/default", token=member.token).json()["volume_type"]
    assert default["id"] == chosen["id"]
    # It cannot be deleted while it is a default; bad or unknown types are refused.
    assert_fault(volume_api.delete(f"/types/{chosen['id']}"), 400)
    missing = {"default_type": {"volume_type": "no-such-type"}}
    assert_fault(volume_api.put(path, json=missing, headers=V362), 404)
    assert_fault(volume_api.put(path, json={"default_type": {}}, headers=V362), 400)
    # Unset: back to the configured default.
    assert volume_api.delete(path, headers=V362).status_code == 204
    assert_fault(volume_api.delete(path, headers=V362), 404)
    default = volume_api.get("/types/default", token=member.token).json()["volume_type"]
    assert default["id"] != chosen["id"]


def test_a_restart_fails_an_interrupted_reimage(volume_api: VolumeApi, member: Persona) -> None:
    made = create_volume(volume_api, member.token)
    reset = {"os-reset_status": {"status": "downloading"}}
    assert volume_api.post(f"/volumes/{made['id']}/action", json=reset).status_code == 202
    services = volume_api.cloud.volume
    assert services is not None
    services.reimage.recover()  # what a restart finds
    volume = volume_api.get(f"/volumes/{made['id']}", token=member.token).json()["volume"]
    assert volume["status"] == "error"
