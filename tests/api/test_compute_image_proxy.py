"""Nova's image proxy through HTTP (`/v2.1/images`, 2.1 to 2.35; metadata to 2.38): Glance's
images in Nova's view, the list filters and pages, metadata within the quota, deletes, and
404 from 2.36 (2.39 for metadata)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import fault
from vistack.compute.api import microversion


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture(scope="module")
def owner(compute_api: ComputeApi) -> Persona:
    return persona(compute_api.identity)


def glance_image(api: ComputeApi, token: str, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("img"), "disk_format": "vmdk", "container_format": "bare", **fields}
    response = api.other(ImageApi).post("/v2/images", token=token, json=body)
    assert response.status_code == 201, response.text
    image: dict[str, Any] = response.json()
    return image


def test_list_show_and_delete(compute_api: ComputeApi, owner: Persona) -> None:
    token = owner.token
    image = glance_image(compute_api, token, min_ram=256, image_type="snapshot")
    other = glance_image(compute_api, token)
    listed = compute_api.get("/images", token=token, headers=at("2.35")).json()["images"]
    assert {image["id"], other["id"]} <= {i["id"] for i in listed}
    assert set(listed[0]) == {"id", "name", "links"}
    shown = compute_api.get(f"/images/{image['id']}", token=token, headers=at("2.1")).json()
    view = shown["image"]
    assert (view["status"], view["progress"], view["minRam"], view["minDisk"]) == (
        "SAVING",
        25,
        256,
        0,
    )
    assert view["metadata"] == {"image_type": "snapshot"}
    assert [link["rel"] for link in view["links"]] == ["self", "bookmark", "alternate"]
    assert view["links"][2]["href"].endswith(f"/image/images/{image['id']}")

    def ids(query: str) -> list[str]:
        response = compute_api.get(f"/images/detail?{query}", token=token, headers=at("2.35"))
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["images"]]

    assert ids("type=snapshot") == [image["id"]]
    assert ids("minRam=200") == [image["id"]]
    assert ids(f"name={other['name']}") == [other["id"]]
    assert ids("status=ACTIVE") == []
    page = compute_api.get("/images?limit=1", token=token, headers=at("2.35")).json()
    assert len(page["images"]) == 1 and "marker=" in page["images_links"][0]["href"]
    fault(
        compute_api.get("/images?marker=nope", token=token, headers=at("2.35")), 400, "badRequest"
    )
    fault(compute_api.get("/images", token=token, headers=at("2.36")), 404, "itemNotFound")
    stranger = persona(compute_api.identity)
    hidden = compute_api.get(f"/images/{image['id']}", token=stranger.token, headers=at("2.1"))
    fault(hidden, 404, "itemNotFound")
    path = f"/images/{other['id']}"
    assert compute_api.delete(path, token=token, headers=at("2.35")).status_code == 204
    fault(compute_api.get(path, token=token, headers=at("2.35")), 404, "itemNotFound")


def test_metadata(compute_api: ComputeApi, owner: Persona) -> None:
    token = owner.token
    image = glance_image(compute_api, token, a="1")
    path = f"/images/{image['id']}/metadata"
    assert compute_api.get(path, token=token).json() == {"metadata": {"a": "1"}}
    merged = compute_api.post(path, token=token, json={"metadata": {"b": "2"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    replaced = compute_api.put(path, token=token, json={"metadata": {"c": "3"}})
    assert replaced.json() == {"metadata": {"c": "3"}}
    one = compute_api.put(f"{path}/d", token=token, json={"meta": {"d": "4"}})
    assert one.json() == {"meta": {"d": "4"}}
    assert compute_api.get(f"{path}/d", token=token).json() == {"meta": {"d": "4"}}
    mismatch = compute_api.put(f"{path}/e", token=token, json={"meta": {"x": "1"}})
    fault(mismatch, 400, "badRequest")
    assert compute_api.delete(f"{path}/d", token=token).status_code == 204
    fault(compute_api.get(f"{path}/d", token=token), 404, "itemNotFound")
    fault(compute_api.get(path, token=token, headers=at("2.39")), 404, "itemNotFound")
    assert compute_api.get(path, token=token, headers=at("2.38")).status_code == 200
    quota = {"quota_set": {"metadata_items": 1}}
    assert compute_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    over = compute_api.post(path, token=token, json={"metadata": {"y": "1"}})
    fault(over, 403, "forbidden")
