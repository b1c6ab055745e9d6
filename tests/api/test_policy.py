"""Policy personas: cloud admin, domain admin, project member and reader, and nobody at all."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import DEMO_PASSWORD, IdentityApi
from tests.api.helpers import (
    assert_fault,
    create_group,
    create_project,
    create_user,
    persona,
    role_id,
    unique,
)


def _writes(api: IdentityApi, user_id: str, project_id: str) -> list[tuple[str, str, Any]]:
    """Administrative requests no project member or reader may make."""
    member = role_id(api, "member")
    return [
        ("POST", "/users", {"user": {"name": unique("u")}}),
        ("POST", "/projects", {"project": {"name": unique("p")}}),
        ("POST", "/groups", {"group": {"name": unique("g")}}),
        ("POST", "/roles", {"role": {"name": unique("r")}}),
        ("POST", "/domains", {"domain": {"name": unique("d")}}),
        ("PATCH", f"/users/{user_id}", {"user": {"enabled": False}}),
        ("DELETE", f"/users/{user_id}", None),
        ("PATCH", f"/projects/{project_id}", {"project": {"description": "mine now"}}),
        ("DELETE", f"/projects/{project_id}", None),
        ("PUT", f"/projects/{project_id}/users/{user_id}/roles/{member}", None),
        ("PUT", f"/system/users/{user_id}/roles/{member}", None),
    ]


def _reads(project_id: str) -> list[str]:
    """Administrative reads no project member or reader may make."""
    return [
        "/users",
        "/groups",
        "/domains",
        f"/role_assignments?scope.project.id={project_id}",
        "/services",
        "/endpoints",
    ]


def test_a_member_cannot_administer(api: IdentityApi) -> None:
    user = persona(api, "member")
    for method, path, body in _writes(api, user.user_id, user.project_id):
        response = api.request(method, path, token=user.token, json=body)
        assert_fault(response, 403)
    for path in _reads(user.project_id):
        assert_fault(api.get(path, token=user.token), 403)
    # Nothing happened.
    assert api.get(f"/users/{user.user_id}").json()["user"]["enabled"] is True
    assert api.get(f"/projects/{user.project_id}").status_code == 200


def test_a_reader_cannot_administer(api: IdentityApi) -> None:
    user = persona(api, "reader")
    for method, path, body in _writes(api, user.user_id, user.project_id):
        assert_fault(api.request(method, path, token=user.token, json=body), 403)
    for path in _reads(user.project_id):
        assert_fault(api.get(path, token=user.token), 403)


def test_the_bootstrap_demo_member_cannot_create_users_or_projects(api: IdentityApi) -> None:
    demo = api.token("demo", DEMO_PASSWORD, "demo")
    assert_fault(api.post("/users", token=demo, json={"user": {"name": unique("u")}}), 403)
    assert_fault(api.post("/projects", token=demo, json={"project": {"name": unique("p")}}), 403)


def test_a_user_reads_itself_and_nobody_else(api: IdentityApi) -> None:
    user, other = persona(api), persona(api)
    own = api.get(f"/users/{user.user_id}", token=user.token)
    assert own.status_code == 200, own.text
    assert own.json()["user"]["name"] == user.name
    assert_fault(api.get(f"/users/{other.user_id}", token=user.token), 403)
    assert api.get(f"/users/{user.user_id}/groups", token=user.token).status_code == 200
    assert_fault(api.get(f"/users/{other.user_id}/groups", token=user.token), 403)
    assert_fault(api.get(f"/users/{other.user_id}/projects", token=user.token), 403)


def test_a_member_reads_its_own_project_only(api: IdentityApi) -> None:
    user, other = persona(api), persona(api)
    assert api.get(f"/projects/{user.project_id}", token=user.token).status_code == 200
    assert api.get(f"/projects/{user.project_id}/tags", token=user.token).status_code == 200
    assert_fault(api.get(f"/projects/{other.project_id}", token=user.token), 403)


def test_an_unscoped_token_is_not_an_admin(api: IdentityApi) -> None:
    unscoped = api.authenticate("admin", "admin-secret", "unscoped").headers["X-Subject-Token"]
    assert_fault(api.get("/users", token=unscoped), 403)
    assert_fault(api.post("/users", token=unscoped, json={"user": {"name": unique("u")}}), 403)
    own = api.get("/auth/tokens", token=unscoped, headers={"X-Subject-Token": unscoped})
    user_id = own.json()["token"]["user"]["id"]
    assert api.get(f"/users/{user_id}", token=unscoped).status_code == 200


def test_no_token_is_401_everywhere_but_discovery_and_login(api: IdentityApi) -> None:
    project = create_project(api)
    for method, path in (
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", f"/projects/{project['id']}"),
        ("DELETE", f"/projects/{project['id']}"),
        ("GET", "/auth/tokens"),
        ("GET", "/auth/catalog"),
        ("GET", "/auth/projects"),
        ("GET", "/role_assignments"),
    ):
        response = api.client.request(
            method,
            "/identity/v3" + path,
            json={"user": {"name": "x"}} if method == "POST" else None,
        )
        error = assert_fault(response, 401)
        assert error["message"] == "The request you have made requires authentication."
        assert response.headers["WWW-Authenticate"] == 'Keystone uri="/identity"'
    assert api.get(f"/projects/{project['id']}").status_code == 200


def test_an_empty_token_header_is_401(api: IdentityApi) -> None:
    response = api.client.get("/identity/v3/users", headers={"X-Auth-Token": ""})
    assert_fault(response, 401)


def test_a_domain_admin_manages_its_own_domain_only(api: IdentityApi) -> None:
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    password = unique("pw")
    boss = api.post(
        "/users",
        json={"user": {"name": unique("boss"), "domain_id": domain["id"], "password": password}},
    ).json()["user"]
    admin = role_id(api, "admin")
    assert api.put(f"/domains/{domain['id']}/users/{boss['id']}/roles/{admin}").status_code == 204
    response = api.authenticate(
        boss["name"], password, {"domain": {"id": domain["id"]}}, domain["name"]
    )
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]

    # Inside its domain: users, groups, projects and grants.
    user = api.post(
        "/users", token=token, json={"user": {"name": unique("u"), "domain_id": domain["id"]}}
    )
    assert user.status_code == 201, user.text
    assert user.json()["user"]["domain_id"] == domain["id"]
    project = api.post(
        "/projects",
        token=token,
        json={"project": {"name": unique("p"), "domain_id": domain["id"]}},
    )
    assert project.status_code == 201, project.text
    group = api.post(
        "/groups", token=token, json={"group": {"name": unique("g"), "domain_id": domain["id"]}}
    )
    assert group.status_code == 201, group.text
    member = role_id(api, "member")
    granted = api.put(
        f"/projects/{project.json()['project']['id']}/users/{user.json()['user']['id']}"
        f"/roles/{member}",
        token=token,
    )
    assert granted.status_code == 204, granted.text
    listed = api.get("/users", token=token, params={"domain_id": domain["id"]})
    assert listed.status_code == 200
    assert {u["id"] for u in listed.json()["users"]} == {boss["id"], user.json()["user"]["id"]}

    # Outside it: nothing.
    outside_user = create_user(api)
    outside_project = create_project(api)
    outside_group = create_group(api)
    assert_fault(
        api.post(
            "/users", token=token, json={"user": {"name": unique("u"), "domain_id": "default"}}
        ),
        403,
    )
    assert_fault(api.get("/users", token=token), 403)
    assert_fault(api.get("/users?domain_id=default", token=token), 403)
    assert_fault(api.get(f"/users/{outside_user['id']}", token=token), 403)
    assert_fault(api.delete(f"/projects/{outside_project['id']}", token=token), 403)
    assert_fault(api.get(f"/groups/{outside_group['id']}", token=token), 403)
    assert_fault(
        api.put(
            f"/projects/{outside_project['id']}/users/{outside_user['id']}/roles/{member}",
            token=token,
        ),
        403,
    )
    assert_fault(api.post("/domains", token=token, json={"domain": {"name": unique("d")}}), 403)
    assert_fault(api.post("/roles", token=token, json={"role": {"name": unique("r")}}), 403)
