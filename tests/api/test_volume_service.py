"""The rest of Cinder v3 through HTTP: version discovery, microversions, the catalog entries,
limits, quota sets, availability zones, services and pools, and the fault format."""

from __future__ import annotations

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import assert_fault, create_volume


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def test_version_discovery(volume_api: VolumeApi) -> None:
    root = volume_api.client.get("/volume/")
    assert root.status_code == 300
    (version,) = root.json()["versions"]
    assert (version["id"], version["status"]) == ("v3.0", "CURRENT")
    assert (version["min_version"], version["version"]) == ("3.0", "3.70")
    assert {"rel": "self", "href": "http://vistack.test/volume/v3/"} in version["links"]
    v3 = volume_api.client.get("/volume/v3/")
    assert v3.status_code == 200 and v3.json()["versions"][0]["id"] == "v3.0"


def test_microversion_header(volume_api: VolumeApi, member: Persona) -> None:
    headers = {"X-Auth-Token": member.token}
    for asked, answered in (("volume 3.0", "volume 3.0"), ("volume latest", "volume 3.70")):
        ok = volume_api.client.get(
            "/volume/v3/types", headers={**headers, "OpenStack-API-Version": asked}
        )
        assert ok.status_code == 200 and ok.headers["OpenStack-API-Version"] == answered
    too_new = volume_api.client.get(
        "/volume/v3/types", headers={**headers, "OpenStack-API-Version": "volume 3.71"}
    )
    assert too_new.status_code == 406
    assert list(too_new.json()) == ["notAcceptable"]
    bad = volume_api.client.get(
        "/volume/v3/types", headers={**headers, "OpenStack-API-Version": "volume 3.x"}
    )
    assert_fault(bad, 400)
    other_service = volume_api.client.get(
        "/volume/v3/types", headers={**headers, "OpenStack-API-Version": "compute 2.90"}
    )
    assert other_service.status_code == 200


def test_catalog_lists_block_storage_with_the_project(
    volume_api: VolumeApi, member: Persona
) -> None:
    response = volume_api.identity.get("/auth/catalog", token=member.token)
    assert response.status_code == 200, response.text
    entries = {s["type"]: s for s in response.json()["catalog"]}
    for kind in ("block-storage", "volumev3"):
        urls = {e["url"] for e in entries[kind]["endpoints"]}
        assert all(u.endswith(f"/volume/v3/{member.project_id}") for u in urls), urls


def test_unknown_paths_and_methods(volume_api: VolumeApi, member: Persona) -> None:
    assert_fault(volume_api.get("/no-such-thing", token=member.token), 404)
    assert volume_api.patch("/volumes", token=member.token).status_code == 405


def test_limits(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    create_volume(volume_api, owner.token, 2)
    limits = volume_api.get("/limits", token=owner.token).json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert absolute["totalVolumesUsed"] == 1 and absolute["totalGigabytesUsed"] == 2
    assert absolute["maxTotalVolumes"] == 20 and absolute["maxTotalVolumeGigabytes"] == 200
    assert absolute["totalBackupsUsed"] == 0


def test_quota_sets(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    path = f"/os-quota-sets/{owner.project_id}"
    shown = volume_api.get(path, token=owner.token).json()["quota_set"]
    assert shown["id"] == owner.project_id
    assert (shown["volumes"], shown["gigabytes"], shown["snapshots"]) == (20, 200, 10)
    defaults = volume_api.get(f"{path}/defaults", token=owner.token).json()["quota_set"]
    assert defaults["volumes"] == 20 and defaults["backups"] == 10
    create_volume(volume_api, owner.token, 3)
    usage = volume_api.get(path, token=owner.token, params={"usage": "true"}).json()["quota_set"]
    assert usage["volumes"] == {"limit": 20, "in_use": 1, "reserved": 0, "allocated": 0}
    assert usage["gigabytes"]["in_use"] == 3
    updated = volume_api.put(path, json={"quota_set": {"volumes": 5, "snapshots": -1}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["quota_set"]["volumes"] == 5
    assert volume_api.get(path, token=owner.token).json()["quota_set"]["snapshots"] == -1
    assert_fault(volume_api.put(path, token=owner.token, json={"quota_set": {"volumes": 9}}), 403)
    assert_fault(volume_api.put(path, json={"quota_set": {"cores": 1}}), 400)
    assert_fault(volume_api.put(path, json={"quota_set": {"volumes": "many"}}), 400)
    assert_fault(volume_api.put(path, json={"quota_set": {"volumes": -2}}), 400)
    below = volume_api.put(path, json={"quota_set": {"gigabytes": 2}})
    assert "greater than existing" in assert_fault(below, 400)
    other = persona(volume_api.identity)
    assert_fault(volume_api.get(path, token=other.token), 403)
    assert volume_api.delete(path).status_code == 200
    assert volume_api.get(path, token=owner.token).json()["quota_set"]["volumes"] == 20


def test_availability_zones(volume_api: VolumeApi, member: Persona) -> None:
    zones = volume_api.get("/os-availability-zone", token=member.token).json()
    assert zones == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]
    }


def test_services_are_for_administrators(volume_api: VolumeApi, member: Persona) -> None:
    services = volume_api.get("/os-services").json()["services"]
    assert {s["binary"] for s in services} == {"cinder-scheduler", "cinder-volume"}
    assert all(s["state"] == "up" and s["status"] == "enabled" for s in services)
    only = volume_api.get("/os-services", params={"binary": "cinder-volume"}).json()["services"]
    assert [s["binary"] for s in only] == ["cinder-volume"] and "@vmware" in only[0]["host"]
    host = only[0]["host"].split("@")[0]
    on_host = volume_api.get("/os-services", params={"host": host}).json()["services"]
    assert {s["binary"] for s in on_host} == {"cinder-scheduler", "cinder-volume"}
    assert volume_api.get("/os-services", params={"host": "elsewhere"}).json()["services"] == []
    assert_fault(volume_api.get("/os-services", token=member.token), 403)


def test_pools_are_the_datastores(volume_api: VolumeApi, member: Persona) -> None:
    pools = volume_api.get("/scheduler-stats/get_pools").json()["pools"]
    datastores = sorted(volume_api.fake.state.datastores)
    assert [p["name"].rpartition("#")[2] for p in pools] == datastores
    assert set(pools[0]) == {"name"}
    detail = volume_api.get("/scheduler-stats/get_pools", params={"detail": "true"}).json()
    capabilities = detail["pools"][0]["capabilities"]
    state = volume_api.fake.state
    first = state.datastores[datastores[0]]
    assert capabilities["total_capacity_gb"] == first.capacity_gb
    assert capabilities["free_capacity_gb"] == first.capacity_gb - state.datastore_used_gb(
        datastores[0]
    )
    assert capabilities["volume_backend_name"] == "vmware"
    assert_fault(volume_api.get("/scheduler-stats/get_pools", token=member.token), 403)


def test_capabilities_of_the_backend_and_of_each_pool(
    volume_api: VolumeApi, member: Persona
) -> None:
    """What Horizon shows when an operator builds a volume type: the same vendor, backend
    and protocol as the pools report, and the extra specs this backend reads."""
    pools = volume_api.get("/scheduler-stats/get_pools", params={"detail": "true"}).json()
    for pool in pools["pools"]:
        # `#` must be sent encoded, or it starts the URL's fragment (Tempest's call drops the
        # pool that way and gets the backend's capabilities).
        shown = volume_api.get(f"/capabilities/{pool['name'].replace('#', '%23')}")
        assert shown.status_code == 200, shown.text
        capabilities = shown.json()
        assert capabilities["pool_name"] == pool["name"].rpartition("#")[2]
        for key in ("vendor_name", "volume_backend_name", "storage_protocol"):
            assert capabilities[key] == pool["capabilities"][key]
        assert capabilities["namespace"] == f"OS::Storage::Capabilities::{pool['name']}"
        assert set(capabilities["properties"]) == {
            "vmware:vmdk_type",
            "vmware:datastore_regex",
            "multiattach",
        }
    assert pools["pools"][0]["capabilities"]["multiattach"] is True
    backend = pools["pools"][0]["name"].partition("#")[0]
    assert volume_api.get(f"/capabilities/{backend}").json()["pool_name"] is None
    assert_fault(volume_api.get(f"/capabilities/{backend}%23nowhere"), 404)
    assert_fault(volume_api.get("/capabilities/elsewhere@vmware"), 404)
    assert_fault(volume_api.get(f"/capabilities/{backend}", token=member.token), 403)


def test_service_actions_are_checked_then_refused(volume_api: VolumeApi) -> None:
    host = volume_api.get("/os-services").json()["services"][0]["host"]
    body = {"host": host, "binary": "cinder-volume"}
    assert_fault(volume_api.put("/os-services/disable", json=body), 501)
    assert_fault(volume_api.put("/os-services/freeze", json={"host": "nowhere"}), 400)
    assert_fault(volume_api.put("/os-services/enable", json={"host": "nowhere"}), 404)
    wrong_binary = {"host": host, "binary": "cinder-nothing"}
    assert_fault(volume_api.put("/os-services/disable", json=wrong_binary), 404)
    assert_fault(volume_api.put("/os-services/disable-log-reason", json=body), 400)
    assert_fault(volume_api.put("/os-services/explode", json=body), 404)


def test_extensions(volume_api: VolumeApi, member: Persona) -> None:
    extensions = volume_api.get("/extensions", token=member.token).json()["extensions"]
    aliases = {e["alias"] for e in extensions}
    assert {"os-quota-sets", "os-volume-type-access", "scheduler-stats"} <= aliases


def test_hosts(volume_api: VolumeApi, member: Persona) -> None:
    owner = persona(volume_api.identity)
    create_volume(volume_api, owner.token, 2)
    hosts = volume_api.get("/os-hosts").json()["hosts"]
    assert {h["service"] for h in hosts} == {"cinder-scheduler", "cinder-volume"}
    (backend,) = [h["host_name"] for h in hosts if h["service"] == "cinder-volume"]
    usage = volume_api.get(f"/os-hosts/{backend}").json()["host"]
    assert usage[0]["resource"]["project"] == "(total)"
    mine = [u["resource"] for u in usage if u["resource"]["project"] == owner.project_id]
    assert mine == [
        {
            "project": owner.project_id,
            "host": backend,
            "volume_count": "1",
            "total_volume_gb": "2",
            "snapshot_count": "0",
            "total_snapshot_gb": "0",
        }
    ]
    assert_fault(volume_api.get("/os-hosts/nowhere"), 404)
    assert_fault(volume_api.get("/os-hosts", token=member.token), 403)
