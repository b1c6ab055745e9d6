"""Server tags (microversion 2.26) through HTTP: the `/servers/{id}/tags` resource (list,
replace, clear, check, add, remove), Nova's limits and refusals, tags in the server view, the
four list filters, and tags given at create (2.52)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import fault, image_id, make_network, wait_status
from vistack.compute.api import microversion

__all__ = ["image_id"]  # the module-scoped image fixture, shared


@pytest.fixture(scope="module")
def member(compute_api: ComputeApi) -> Persona:
    """A member whose project has no instance limit (these tests make many servers)."""
    person = persona(compute_api.identity)
    unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    response = compute_api.put(f"/os-quota-sets/{person.project_id}", json=unlimited)
    assert response.status_code == 200, response.text
    return person


AT = {"OpenStack-API-Version": "compute 2.26"}


@pytest.fixture(autouse=True)
def serves_latest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every version this code implements is asked for, whatever the service advertises."""
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture
def server_id(compute_api: ComputeApi, member: Persona) -> str:
    return insert_server(compute_api, member.project_id)


def test_tags_resource(compute_api: ComputeApi, member: Persona, server_id: str) -> None:
    path = f"/servers/{server_id}/tags"
    token = member.token
    assert compute_api.get(path, token=token, headers=AT).json() == {"tags": []}
    added = compute_api.put(f"{path}/red", token=token, headers=AT)
    assert added.status_code == 201, added.text
    assert added.headers["Location"].endswith(f"/v2.1/servers/{server_id}/tags/red")
    assert compute_api.put(f"{path}/red", token=token, headers=AT).status_code == 204
    assert compute_api.get(f"{path}/red", token=token, headers=AT).status_code == 204
    missing = compute_api.get(f"{path}/blue", token=token, headers=AT)
    assert "has no tag 'blue'" in fault(missing, 404, "itemNotFound")
    replaced = compute_api.put(path, token=token, headers=AT, json={"tags": ["b", "a", "b"]})
    assert replaced.status_code == 200 and replaced.json() == {"tags": ["a", "b"]}
    assert compute_api.get(path, token=token, headers=AT).json() == {"tags": ["a", "b"]}
    shown = compute_api.get(f"/servers/{server_id}", token=token, headers=AT).json()["server"]
    assert shown["tags"] == ["a", "b"]
    assert compute_api.delete(f"{path}/a", token=token, headers=AT).status_code == 204
    fault(compute_api.delete(f"{path}/a", token=token, headers=AT), 404, "itemNotFound")
    assert compute_api.delete(path, token=token, headers=AT).status_code == 204
    assert compute_api.get(path, token=token, headers=AT).json() == {"tags": []}


def test_tags_need_2_26(compute_api: ComputeApi, member: Persona, server_id: str) -> None:
    path = f"/servers/{server_id}/tags"
    before = at("2.25")
    fault(compute_api.get(path, token=member.token, headers=before), 404, "itemNotFound")
    fault(compute_api.put(f"{path}/x", token=member.token, headers=before), 404, "itemNotFound")
    shown = compute_api.get(f"/servers/{server_id}", token=member.token, headers=before)
    assert "tags" not in shown.json()["server"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tags": ["a/b"]}, "invalid"),
        ({"tags": ["a,b"]}, "invalid"),
        ({"tags": [""]}, "invalid"),
        ({"tags": ["x" * 61]}, "invalid"),
        ({"tags": [7]}, "invalid"),
        ({"tags": [f"t{i}" for i in range(51)]}, "per-server limit 50"),
        ({"tags": "a"}, "must be a list"),
        ({"tag": ["a"]}, "only 'tags'"),
    ],
)
def test_replace_refusals(
    compute_api: ComputeApi, member: Persona, server_id: str, body: Any, message: str
) -> None:
    path = f"/servers/{server_id}/tags"
    refused = compute_api.put(path, token=member.token, headers=AT, json=body)
    assert message in fault(refused, 400, "badRequest")


def test_limits_on_one_tag(compute_api: ComputeApi, member: Persona, server_id: str) -> None:
    path = f"/servers/{server_id}/tags"
    token = member.token
    fault(compute_api.put(f"{path}/{'x' * 61}", token=token, headers=AT), 400, "badRequest")
    fault(compute_api.put(f"{path}/a,b", token=token, headers=AT), 400, "badRequest")
    fifty = [f"t{i}" for i in range(50)]
    assert compute_api.put(path, token=token, headers=AT, json={"tags": fifty}).status_code == 200
    assert compute_api.put(f"{path}/t0", token=token, headers=AT).status_code == 204
    over = compute_api.put(f"{path}/one-more", token=token, headers=AT)
    assert "per-server limit 50" in fault(over, 400, "badRequest")


def test_only_settled_servers_change_tags(compute_api: ComputeApi, member: Persona) -> None:
    building = insert_server(compute_api, member.project_id, vm_state="building")
    path = f"/servers/{building}/tags"
    refused = compute_api.put(f"{path}/a", token=member.token, headers=AT)
    message = fault(refused, 409, "conflictingRequest")
    assert message == f"Cannot 'update tag' instance {building} while it is in vm_state building"
    fault(compute_api.delete(path, token=member.token, headers=AT), 409, "conflictingRequest")
    assert compute_api.get(path, token=member.token, headers=AT).status_code == 200


def test_other_projects_see_no_tags(
    compute_api: ComputeApi, member: Persona, server_id: str
) -> None:
    stranger = persona(compute_api.identity)
    path = f"/servers/{server_id}/tags"
    fault(compute_api.get(path, token=stranger.token, headers=AT), 404, "itemNotFound")
    fault(compute_api.put(f"{path}/a", token=stranger.token, headers=AT), 404, "itemNotFound")
    reader = persona(compute_api.identity, role="reader")
    mine = insert_server(compute_api, reader.project_id)
    denied = compute_api.put(f"/servers/{mine}/tags/a", token=reader.token, headers=AT)
    fault(denied, 403, "forbidden")
    assert compute_api.get(f"/servers/{mine}/tags", token=reader.token, headers=AT).json() == {
        "tags": []
    }


def test_list_filters(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    token = owner.token
    servers = {
        name: insert_server(compute_api, owner.project_id, name=name)
        for name in ("red-blue", "red", "blue", "none")
    }
    for name, tags in (("red-blue", ["red", "blue"]), ("red", ["red"]), ("blue", ["blue"])):
        path = f"/servers/{servers[name]}/tags"
        assert (
            compute_api.put(path, token=token, headers=AT, json={"tags": tags}).status_code == 200
        )

    def names(query: str, headers: dict[str, str] = AT) -> set[str]:
        listed = compute_api.get(f"/servers/detail?{query}", token=token, headers=headers)
        assert listed.status_code == 200, listed.text
        return {s["name"] for s in listed.json()["servers"]}

    assert names("tags=red,blue") == {"red-blue"}
    assert names("tags=red") == {"red-blue", "red"}
    assert names("tags-any=red,blue") == {"red-blue", "red", "blue"}
    assert names("not-tags=red,blue") == {"red", "blue", "none"}
    assert names("not-tags-any=red,blue") == {"none"}
    assert names("tags-any=red,blue&not-tags=red") == {"blue"}
    assert names("tags=red", at("2.25")) == set(servers)  # not a filter before 2.26
    listed = compute_api.get("/servers/detail", token=token, headers=AT).json()["servers"]
    assert {s["name"]: s["tags"] for s in listed}["red-blue"] == ["blue", "red"]


def test_tags_on_create_2_52(compute_api: ComputeApi, member: Persona, image_id: str) -> None:
    network = make_network(compute_api, member.token, "10.61.0.0/24")
    fields = {"imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": network["id"]}]}

    def create(version: str, **extra: Any) -> Any:
        body = {"server": {**fields, "name": unique("vm"), **extra}}
        return compute_api.post("/servers", token=member.token, headers=at(version), json=body)

    assert "'tags'" in fault(create("2.51", tags=["a"]), 400, "badRequest")
    fault(create("2.52", tags=["a/b"]), 400, "badRequest")
    made = create("2.52", tags=["web", "prod"])
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    shown = compute_api.get(f"/servers/{server_id}", token=member.token, headers=AT).json()
    assert shown["server"]["tags"] == ["prod", "web"]
