"""`/v3/regions`, `/v3/services`, `/v3/endpoints`, and the catalog tokens carry."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import DEMO_PASSWORD, IdentityApi
from tests.api.helpers import assert_fault, created, persona, unique


def _service(api: IdentityApi, **fields: Any) -> dict[str, Any]:
    body = {"type": unique("type"), "name": unique("svc"), **fields}
    return created(api.post("/services", json={"service": body}), "service")


def _endpoint(api: IdentityApi, service_id: str, **fields: Any) -> dict[str, Any]:
    body = {"service_id": service_id, "interface": "public", "url": "https://x.example", **fields}
    return created(api.post("/endpoints", json={"endpoint": body}), "endpoint")


def _catalog(api: IdentityApi, token: str | None = None) -> list[dict[str, Any]]:
    response = api.get("/auth/catalog", token=token)
    assert response.status_code == 200, response.text
    catalog: list[dict[str, Any]] = response.json()["catalog"]
    return catalog


def test_regions(api: IdentityApi) -> None:
    parent = created(
        api.post("/regions", json={"region": {"id": unique("Region"), "description": "p"}}),
        "region",
    )
    assert parent["description"] == "p"
    assert parent["parent_region_id"] is None
    assert parent["links"]["self"].endswith(f"/identity/v3/regions/{parent['id']}")

    child_id = unique("Child")
    child = created(
        api.put(f"/regions/{child_id}", json={"region": {"parent_region_id": parent["id"]}}),
        "region",
    )
    assert (child["id"], child["parent_region_id"]) == (child_id, parent["id"])
    generated = created(api.post("/regions", json={"region": {}}), "region")
    assert len(generated["id"]) == 32

    assert api.get(f"/regions/{child_id}").json()["region"] == child
    every = {r["id"] for r in api.get("/regions").json()["regions"]}
    assert {api.cloud.settings.server.region, parent["id"], child_id} <= every
    children = api.get("/regions", params={"parent_region_id": parent["id"]}).json()["regions"]
    assert [r["id"] for r in children] == [child_id]

    updated = api.patch(f"/regions/{child_id}", json={"region": {"description": "c"}})
    assert updated.status_code == 200, updated.text
    assert api.get(f"/regions/{child_id}").json()["region"]["description"] == "c"

    assert_fault(api.post("/regions", json={"region": {"id": parent["id"]}}), 409)
    assert api.delete(f"/regions/{child_id}").status_code == 204
    assert api.delete(f"/regions/{parent['id']}").status_code == 204
    assert_fault(api.get(f"/regions/{parent['id']}"), 404)


def test_a_region_with_endpoints_cannot_be_deleted(api: IdentityApi) -> None:
    region = created(api.post("/regions", json={"region": {"id": unique("R")}}), "region")
    endpoint = _endpoint(api, _service(api)["id"], region_id=region["id"])
    assert_fault(api.delete(f"/regions/{region['id']}"), 403)
    assert api.get(f"/regions/{region['id']}").status_code == 200
    assert api.delete(f"/endpoints/{endpoint['id']}").status_code == 204
    assert api.delete(f"/regions/{region['id']}").status_code == 204


def test_region_parent_must_exist_and_not_be_itself(api: IdentityApi) -> None:
    region_id = unique("R")
    assert_fault(
        api.post("/regions", json={"region": {"id": region_id, "parent_region_id": "nope"}}), 404
    )
    created(api.post("/regions", json={"region": {"id": region_id}}), "region")
    assert_fault(
        api.patch(f"/regions/{region_id}", json={"region": {"parent_region_id": region_id}}), 400
    )
    mismatch = api.put(f"/regions/{unique('R')}", json={"region": {"id": "other"}})
    assert_fault(mismatch, 400)


def test_services(api: IdentityApi) -> None:
    kind = unique("type")
    service = _service(api, type=kind, description="d")
    assert (service["type"], service["description"], service["enabled"]) == (kind, "d", True)
    assert api.get(f"/services/{service['id']}").json()["service"] == service
    assert api.get("/services", params={"type": kind}).json()["services"] == [service]
    by_name = api.get("/services", params={"name": service["name"]}).json()["services"]
    assert [s["id"] for s in by_name] == [service["id"]]

    updated = api.patch(f"/services/{service['id']}", json={"service": {"enabled": False}})
    assert updated.status_code == 200 and updated.json()["service"]["enabled"] is False
    assert api.delete(f"/services/{service['id']}").status_code == 204
    assert_fault(api.get(f"/services/{service['id']}"), 404)


def test_endpoints(api: IdentityApi) -> None:
    region = api.cloud.settings.server.region
    service = _service(api)
    endpoint = _endpoint(api, service["id"], region_id=region, url="https://svc.example/v1")
    assert endpoint["service_id"] == service["id"]
    assert (endpoint["interface"], endpoint["url"]) == ("public", "https://svc.example/v1")
    assert endpoint["region_id"] == region and endpoint["region"] == region
    assert endpoint["enabled"] is True
    assert api.get(f"/endpoints/{endpoint['id']}").json()["endpoint"] == endpoint

    internal = _endpoint(api, service["id"], interface="internal", url="http://10.0.0.1/v1")
    of_service = api.get("/endpoints", params={"service_id": service["id"]}).json()["endpoints"]
    assert {e["id"] for e in of_service} == {endpoint["id"], internal["id"]}
    only_internal = api.get(
        "/endpoints", params={"service_id": service["id"], "interface": "internal"}
    ).json()["endpoints"]
    assert [e["id"] for e in only_internal] == [internal["id"]]

    moved = api.patch(
        f"/endpoints/{internal['id']}", json={"endpoint": {"url": "http://10.0.0.2/v1"}}
    )
    assert moved.status_code == 200 and moved.json()["endpoint"]["url"] == "http://10.0.0.2/v1"
    assert api.delete(f"/endpoints/{internal['id']}").status_code == 204
    assert_fault(api.get(f"/endpoints/{internal['id']}"), 404)


def test_invalid_endpoints_are_refused(api: IdentityApi) -> None:
    service = _service(api)
    bad_interface = {"service_id": service["id"], "interface": "private", "url": "http://x"}
    assert_fault(api.post("/endpoints", json={"endpoint": bad_interface}), 400)
    bad_url = {"service_id": service["id"], "interface": "public", "url": "ftp://x"}
    assert_fault(api.post("/endpoints", json={"endpoint": bad_url}), 400)
    no_service = {"service_id": "nope", "interface": "public", "url": "http://x"}
    assert_fault(api.post("/endpoints", json={"endpoint": no_service}), 404)


def test_an_endpoint_in_a_new_region_creates_the_region(api: IdentityApi) -> None:
    region_id = unique("Site")
    assert_fault(api.get(f"/regions/{region_id}"), 404)
    endpoint = _endpoint(api, _service(api)["id"], region_id=region_id)
    assert endpoint["region_id"] == region_id
    assert api.get(f"/regions/{region_id}").status_code == 200


def test_deleting_a_service_deletes_its_endpoints(api: IdentityApi) -> None:
    service = _service(api)
    endpoint = _endpoint(api, service["id"])
    assert api.delete(f"/services/{service['id']}").status_code == 204
    assert_fault(api.get(f"/endpoints/{endpoint['id']}"), 404)


def test_catalog_follows_services_and_endpoints(api: IdentityApi) -> None:
    user = persona(api)
    service = _service(api)
    public = _endpoint(api, service["id"], url="https://svc.example/v2/$(project_id)s")
    admin = _endpoint(api, service["id"], interface="admin", url="https://admin.example/v2")

    [entry] = [s for s in _catalog(api, user.token) if s["id"] == service["id"]]
    assert (entry["type"], entry["name"]) == (service["type"], service["name"])
    urls = {e["interface"]: e["url"] for e in entry["endpoints"]}
    # Templates are filled with the token's project.
    assert urls == {
        "public": f"https://svc.example/v2/{user.project_id}",
        "admin": "https://admin.example/v2",
    }
    issued = api.get("/auth/tokens", headers={"X-Subject-Token": user.token}).json()["token"]
    [in_token] = [s for s in issued["catalog"] if s["id"] == service["id"]]
    assert in_token == entry

    # A disabled endpoint leaves the catalog; a disabled service takes all of its endpoints.
    api.patch(f"/endpoints/{public['id']}", json={"endpoint": {"enabled": False}})
    [entry] = [s for s in _catalog(api, user.token) if s["id"] == service["id"]]
    assert [e["id"] for e in entry["endpoints"]] == [admin["id"]]
    api.patch(f"/services/{service['id']}", json={"service": {"enabled": False}})
    assert service["id"] not in {s["id"] for s in _catalog(api, user.token)}


def test_templated_endpoint_is_left_out_without_a_project(api: IdentityApi) -> None:
    service = _service(api)
    _endpoint(api, service["id"], url="https://svc.example/$(project_id)s")
    domain_token = api.authenticate("admin", "admin-secret", {"domain": {"id": "default"}})
    assert domain_token.status_code == 201
    catalog = domain_token.json()["token"]["catalog"]
    [entry] = [s for s in catalog if s["id"] == service["id"]]
    assert entry["endpoints"] == []


def test_catalog_is_readable_but_not_writable_by_members(api: IdentityApi) -> None:
    demo = api.token("demo", DEMO_PASSWORD, "demo")
    assert api.get("/regions", token=demo).status_code == 200
    assert_fault(api.get("/services", token=demo), 403)
    assert_fault(api.post("/services", token=demo, json={"service": {"type": "x"}}), 403)
    assert_fault(api.post("/regions", token=demo, json={"region": {}}), 403)
