"""`/v3/roles`, implied roles and `/v3/role_inferences`, and what tokens carry from them."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    create_project,
    create_role,
    create_user,
    project_token,
    role_id,
    unique,
)


def _token_roles(api: IdentityApi, token: str) -> set[str]:
    body = api.get("/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
    return {r["name"] for r in body["roles"]}


def _user_with_role_on_project(api: IdentityApi, role: str) -> tuple[str, str, str]:
    """(user id, password, project id) for a new user granted `role` (an id) on a new project."""
    password = unique("pw")
    user = create_user(api, password=password)
    project = create_project(api)
    response = api.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role}")
    assert response.status_code == 204, response.text
    return user["id"], password, project["id"]


def test_bootstrap_roles_and_their_implications(api: IdentityApi) -> None:
    names = {r["name"] for r in api.get("/roles").json()["roles"]}
    assert {"admin", "member", "reader", "manager", "service"} <= names
    inferences = api.get("/role_inferences").json()["role_inferences"]
    implied = {
        (rule["prior_role"]["name"], role["name"])
        for rule in inferences
        for role in rule["implies"]
    }
    assert {("admin", "member"), ("member", "reader")} <= implied


def test_create_show_list_update_and_delete_a_role(api: IdentityApi) -> None:
    name = unique("role")
    response = api.post("/roles", json={"role": {"name": name, "description": "d"}})
    assert response.status_code == 201, response.text
    role = response.json()["role"]
    assert (role["name"], role["description"], role["domain_id"]) == (name, "d", None)
    assert role["options"] == {}
    assert role["links"]["self"].endswith(f"/identity/v3/roles/{role['id']}")
    assert api.get(f"/roles/{role['id']}").json()["role"] == role
    assert api.get("/roles", params={"name": name}).json()["roles"] == [role]

    renamed = unique("renamed")
    updated = api.patch(f"/roles/{role['id']}", json={"role": {"name": renamed}})
    assert updated.status_code == 200, updated.text
    assert api.get(f"/roles/{role['id']}").json()["role"]["name"] == renamed

    assert api.delete(f"/roles/{role['id']}").status_code == 204
    assert_fault(api.get(f"/roles/{role['id']}"), 404)
    assert_fault(api.delete(f"/roles/{role['id']}"), 404)


def test_duplicate_role_name_is_409(api: IdentityApi) -> None:
    role = create_role(api)
    assert_fault(api.post("/roles", json={"role": {"name": role["name"]}}), 409)
    assert_fault(api.post("/roles", json={"role": {"name": "admin"}}), 409)
    other = create_role(api)
    assert_fault(api.patch(f"/roles/{other['id']}", json={"role": {"name": role["name"]}}), 409)


def test_immutable_bootstrap_roles_cannot_be_changed(api: IdentityApi) -> None:
    admin = role_id(api, "admin")
    assert api.get(f"/roles/{admin}").json()["role"]["options"] == {"immutable": True}
    assert_fault(api.delete(f"/roles/{admin}"), 403)
    assert_fault(api.patch(f"/roles/{admin}", json={"role": {"name": "boss"}}), 403)
    assert api.get(f"/roles/{admin}").json()["role"]["name"] == "admin"


def test_domain_specific_roles(api: IdentityApi) -> None:
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    role = create_role(api, name="member", domain_id=domain["id"])  # same name, other namespace
    assert role["domain_id"] == domain["id"]
    global_ids = {r["id"] for r in api.get("/roles").json()["roles"]}
    assert role["id"] not in global_ids
    in_domain = api.get("/roles", params={"domain_id": domain["id"]}).json()["roles"]
    assert [r["id"] for r in in_domain] == [role["id"]]
    # It can only be granted within its domain.
    user = create_user(api)
    project = create_project(api)
    response = api.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    assert_fault(response, 403)


def test_unknown_domain_for_a_role_is_404(api: IdentityApi) -> None:
    assert_fault(api.post("/roles", json={"role": {"name": "x", "domain_id": "nope"}}), 404)


def test_implied_role_crud(api: IdentityApi) -> None:
    prior, implied = create_role(api), create_role(api)
    path = f"/roles/{prior['id']}/implies/{implied['id']}"
    assert_fault(api.get(path), 404)

    response = api.put(path)
    assert response.status_code == 201, response.text
    inference = response.json()["role_inference"]
    assert inference["prior_role"]["id"] == prior["id"]
    assert inference["prior_role"]["name"] == prior["name"]
    assert inference["implies"]["id"] == implied["id"]
    assert inference["implies"]["links"]["self"].endswith(f"/roles/{implied['id']}")

    assert api.get(path).json()["role_inference"] == inference
    assert api.head(path).status_code == 204
    listed = api.get(f"/roles/{prior['id']}/implies").json()["role_inference"]
    assert listed["prior_role"]["id"] == prior["id"]
    assert [r["id"] for r in listed["implies"]] == [implied["id"]]
    rules = api.get("/role_inferences").json()["role_inferences"]
    mine = [r for r in rules if r["prior_role"]["id"] == prior["id"]]
    assert [[i["id"] for i in r["implies"]] for r in mine] == [[implied["id"]]]

    assert api.delete(path).status_code == 204
    assert_fault(api.get(path), 404)
    assert api.head(path).status_code == 404
    assert_fault(api.delete(path), 404)
    assert api.get(f"/roles/{prior['id']}/implies").json()["role_inference"]["implies"] == []


def test_implied_roles_reach_tokens_transitively(api: IdentityApi) -> None:
    top, middle, bottom = create_role(api), create_role(api), create_role(api)
    api.put(f"/roles/{top['id']}/implies/{middle['id']}")
    api.put(f"/roles/{middle['id']}/implies/{bottom['id']}")
    user_id, password, project_id = _user_with_role_on_project(api, top["id"])
    token = project_token(api, user_id, password, project_id)
    assert _token_roles(api, token) == {top["name"], middle["name"], bottom["name"]}

    # Removing an implication changes what a token carries on its next validation.
    assert api.delete(f"/roles/{middle['id']}/implies/{bottom['id']}").status_code == 204
    assert _token_roles(api, token) == {top["name"], middle["name"]}


def test_implication_cycles_are_refused(api: IdentityApi) -> None:
    a, b, c = create_role(api), create_role(api), create_role(api)
    api.put(f"/roles/{a['id']}/implies/{b['id']}")
    api.put(f"/roles/{b['id']}/implies/{c['id']}")
    assert_fault(api.put(f"/roles/{c['id']}/implies/{a['id']}"), 403)
    assert_fault(api.put(f"/roles/{a['id']}/implies/{a['id']}"), 403)


def test_admin_cannot_be_implied(api: IdentityApi) -> None:
    role = create_role(api)
    assert_fault(api.put(f"/roles/{role['id']}/implies/{role_id(api, 'admin')}"), 403)


def test_implications_with_unknown_roles_are_404(api: IdentityApi) -> None:
    role = create_role(api)
    assert_fault(api.put(f"/roles/{role['id']}/implies/nope"), 404)
    assert_fault(api.put(f"/roles/nope/implies/{role['id']}"), 404)
    assert_fault(api.get("/roles/nope/implies"), 404)


def test_deleting_a_role_removes_its_grants_and_implications(api: IdentityApi) -> None:
    role, implied = create_role(api), create_role(api)
    api.put(f"/roles/{role['id']}/implies/{implied['id']}")
    user_id, password, project_id = _user_with_role_on_project(api, role["id"])
    token = project_token(api, user_id, password, project_id)

    assert api.delete(f"/roles/{role['id']}").status_code == 204
    assignments: list[dict[str, Any]] = api.get(
        "/role_assignments", params={"user.id": user_id}
    ).json()["role_assignments"]
    assert assignments == []
    rules = api.get("/role_inferences").json()["role_inferences"]
    assert role["id"] not in {r["prior_role"]["id"] for r in rules}
    # The token held only that role: it no longer stands for anything.
    assert api.head("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404


def test_domain_specific_roles_only_lend_their_implied_roles(api: IdentityApi) -> None:
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    local = create_role(api, domain_id=domain["id"])
    response = api.put(f"/roles/{local['id']}/implies/{role_id(api, 'reader')}")
    assert response.status_code == 201, response.text
    password = unique("pw")
    user = api.post(
        "/users",
        json={"user": {"name": unique("u"), "domain_id": domain["id"], "password": password}},
    ).json()["user"]
    project = create_project(api, domain_id=domain["id"])
    granted = api.put(f"/projects/{project['id']}/users/{user['id']}/roles/{local['id']}")
    assert granted.status_code == 204, granted.text
    token = project_token(api, user["id"], password, project["id"])
    assert _token_roles(api, token) == {"reader"}
