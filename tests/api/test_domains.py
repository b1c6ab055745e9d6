"""`/v3/domains`: create, read, list, update, the disable-then-delete rule, and its effects."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import IdentityApi
from tests.api.helpers import assert_fault, created, role_id, token_status, unique


def _create_domain(api: IdentityApi, **fields: Any) -> dict[str, Any]:
    return created(
        api.post("/domains", json={"domain": {"name": unique("dom"), **fields}}), "domain"
    )


def test_create_and_show_a_domain(api: IdentityApi) -> None:
    name = unique("dom")
    domain = created(
        api.post("/domains", json={"domain": {"name": name, "description": "for tests"}}), "domain"
    )
    assert domain["name"] == name
    assert domain["description"] == "for tests"
    assert domain["enabled"] is True
    assert len(domain["id"]) == 32
    assert domain["links"]["self"] == f"http://vistack.test/identity/v3/domains/{domain['id']}"

    shown = api.get(f"/domains/{domain['id']}")
    assert shown.status_code == 200
    assert shown.json()["domain"] == domain


def test_create_a_domain_with_a_chosen_id(api: IdentityApi) -> None:
    chosen = unique("id")
    domain = _create_domain(api, id=chosen)
    assert domain["id"] == chosen
    assert api.get(f"/domains/{chosen}").status_code == 200


def test_list_domains_with_filters(api: IdentityApi) -> None:
    enabled = _create_domain(api)
    disabled = _create_domain(api, enabled=False)
    every = {d["id"] for d in api.get("/domains").json()["domains"]}
    assert {"default", enabled["id"], disabled["id"]} <= every

    by_name = api.get("/domains", params={"name": enabled["name"]}).json()["domains"]
    assert [d["id"] for d in by_name] == [enabled["id"]]

    only_disabled = {d["id"] for d in api.get("/domains?enabled=false").json()["domains"]}
    assert disabled["id"] in only_disabled
    assert enabled["id"] not in only_disabled and "default" not in only_disabled
    only_enabled = {d["id"] for d in api.get("/domains?enabled=true").json()["domains"]}
    assert enabled["id"] in only_enabled and disabled["id"] not in only_enabled


def test_update_a_domain(api: IdentityApi) -> None:
    domain = _create_domain(api, description="before")
    new_name = unique("renamed")
    response = api.patch(
        f"/domains/{domain['id']}", json={"domain": {"name": new_name, "description": "after"}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["domain"]["name"] == new_name
    assert response.json()["domain"]["description"] == "after"
    shown = api.get(f"/domains/{domain['id']}").json()["domain"]
    assert (shown["name"], shown["description"], shown["enabled"]) == (new_name, "after", True)


def test_duplicate_domain_name_or_id_is_409(api: IdentityApi) -> None:
    domain = _create_domain(api)
    assert_fault(api.post("/domains", json={"domain": {"name": domain["name"]}}), 409)
    again = {"name": unique("dom"), "id": domain["id"]}
    assert_fault(api.post("/domains", json={"domain": again}), 409)
    other = _create_domain(api)
    assert_fault(
        api.patch(f"/domains/{other['id']}", json={"domain": {"name": domain["name"]}}), 409
    )


def test_an_enabled_domain_cannot_be_deleted(api: IdentityApi) -> None:
    domain = _create_domain(api)
    assert_fault(api.delete(f"/domains/{domain['id']}"), 403)
    assert api.get(f"/domains/{domain['id']}").status_code == 200


def test_delete_a_disabled_domain_with_its_contents(api: IdentityApi) -> None:
    domain = _create_domain(api)
    project = created(
        api.post("/projects", json={"project": {"name": "p", "domain_id": domain["id"]}}),
        "project",
    )
    user = created(
        api.post("/users", json={"user": {"name": "u", "domain_id": domain["id"]}}), "user"
    )
    api.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role_id(api, 'member')}")
    assert (
        api.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": False}}).status_code
        == 200
    )
    response = api.delete(f"/domains/{domain['id']}")
    assert response.status_code == 204, response.text
    assert_fault(api.get(f"/domains/{domain['id']}"), 404)
    assert_fault(api.get(f"/projects/{project['id']}"), 404)
    assert_fault(api.get(f"/users/{user['id']}"), 404)
    assignments = api.get("/role_assignments", params={"user.id": user["id"]})
    assert assignments.json()["role_assignments"] == []


def test_unknown_domain_is_404(api: IdentityApi) -> None:
    for response in (
        api.get("/domains/nope"),
        api.patch("/domains/nope", json={"domain": {"description": "x"}}),
        api.delete("/domains/nope"),
    ):
        assert_fault(response, 404)


def test_disabling_a_domain_stops_its_users_at_once(api: IdentityApi) -> None:
    domain = _create_domain(api)
    password = unique("pw")
    project = created(
        api.post("/projects", json={"project": {"name": "work", "domain_id": domain["id"]}}),
        "project",
    )
    user = created(
        api.post(
            "/users",
            json={"user": {"name": "worker", "domain_id": domain["id"], "password": password}},
        ),
        "user",
    )
    api.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role_id(api, 'member')}")
    token = api.token("worker", password, "work", domain=domain["name"])
    assert token_status(api, token) == 200

    api.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": False}})
    assert token_status(api, token) == 404
    assert_fault(api.get(f"/users/{user['id']}", token=token), 401)
    assert_fault(api.authenticate("worker", password, domain=domain["name"]), 401)

    api.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": True}})
    assert api.authenticate("worker", password, domain=domain["name"]).status_code == 201


def test_same_user_name_in_two_domains_are_two_users(api: IdentityApi) -> None:
    first, second = _create_domain(api), _create_domain(api)
    ids = []
    for domain, password in ((first, "one-secret"), (second, "two-secret")):
        body = {"user": {"name": "same", "domain_id": domain["id"], "password": password}}
        ids.append(created(api.post("/users", json=body), "user")["id"])
    assert ids[0] != ids[1]
    one = api.authenticate("same", "one-secret", domain=first["name"])
    assert one.json()["token"]["user"]["id"] == ids[0]
    assert_fault(api.authenticate("same", "one-secret", domain=second["name"]), 401)
