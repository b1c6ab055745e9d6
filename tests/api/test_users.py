"""`/v3/users`: CRUD, self-service password change, and what each change does to tokens."""

from __future__ import annotations

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    authenticate_by_id,
    create_group,
    create_project,
    create_user,
    grant,
    persona,
    token_status,
    unique,
)


def test_create_show_and_list_a_user(api: IdentityApi) -> None:
    project = create_project(api)
    name = unique("user")
    body = {
        "name": name,
        "domain_id": "default",
        "password": "s3cret-pass",
        "email": "someone@example.org",
        "description": "a test user",
        "default_project_id": project["id"],
    }
    response = api.post("/users", json={"user": body})
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert "password" not in user
    assert user["name"] == name
    assert user["domain_id"] == "default"
    assert user["enabled"] is True
    assert user["email"] == "someone@example.org"
    assert user["description"] == "a test user"
    assert user["default_project_id"] == project["id"]
    assert user["password_expires_at"] is None
    assert user["options"] == {}
    assert user["links"]["self"].endswith(f"/identity/v3/users/{user['id']}")

    assert api.get(f"/users/{user['id']}").json()["user"] == user
    listed = api.get("/users", params={"name": name}).json()["users"]
    assert listed == [user]
    assert user["id"] in {u["id"] for u in api.get("/users?domain_id=default").json()["users"]}


def test_list_users_by_enabled(api: IdentityApi) -> None:
    off = create_user(api, enabled=False)
    on = create_user(api)
    disabled = {u["id"] for u in api.get("/users?enabled=false").json()["users"]}
    assert off["id"] in disabled and on["id"] not in disabled


def test_user_without_password_cannot_authenticate(api: IdentityApi) -> None:
    user = create_user(api)
    assert_fault(authenticate_by_id(api, user["id"], "anything"), 401)
    assert_fault(authenticate_by_id(api, user["id"], ""), 401)


def test_update_a_user(api: IdentityApi) -> None:
    user = create_user(api, email="old@example.org")
    new_name = unique("renamed")
    response = api.patch(
        f"/users/{user['id']}",
        json={"user": {"name": new_name, "email": "new@example.org", "description": "d"}},
    )
    assert response.status_code == 200, response.text
    shown = api.get(f"/users/{user['id']}").json()["user"]
    assert (shown["name"], shown["email"], shown["description"]) == (
        new_name,
        "new@example.org",
        "d",
    )


def test_duplicate_user_name_is_409(api: IdentityApi) -> None:
    user = create_user(api)
    assert_fault(api.post("/users", json={"user": {"name": user["name"]}}), 409)
    other = create_user(api)
    assert_fault(api.patch(f"/users/{other['id']}", json={"user": {"name": user["name"]}}), 409)


def test_unknown_user_domain_or_default_project_is_404(api: IdentityApi) -> None:
    assert_fault(api.get("/users/nope"), 404)
    assert_fault(api.patch("/users/nope", json={"user": {"email": "x@example.org"}}), 404)
    assert_fault(api.delete("/users/nope"), 404)
    assert_fault(api.post("/users", json={"user": {"name": "x", "domain_id": "nope"}}), 404)
    body = {"name": unique("user"), "default_project_id": "nope"}
    assert_fault(api.post("/users", json={"user": body}), 404)


def test_delete_a_user(api: IdentityApi) -> None:
    user = persona(api)
    assert api.delete(f"/users/{user.user_id}").status_code == 204
    assert_fault(api.get(f"/users/{user.user_id}"), 404)
    assert token_status(api, user.token) == 404
    assert_fault(api.get("/auth/projects", token=user.token), 401)
    assert_fault(authenticate_by_id(api, user.user_id, user.password), 401)
    assignments = api.get("/role_assignments", params={"user.id": user.user_id})
    assert assignments.json()["role_assignments"] == []


def test_disabling_a_user_revokes_its_tokens_at_once(api: IdentityApi) -> None:
    user = persona(api)
    assert token_status(api, user.token) == 200
    response = api.patch(f"/users/{user.user_id}", json={"user": {"enabled": False}})
    assert response.status_code == 200 and response.json()["user"]["enabled"] is False
    assert token_status(api, user.token) == 404
    assert_fault(api.get(f"/users/{user.user_id}", token=user.token), 401)
    assert_fault(authenticate_by_id(api, user.user_id, user.password), 401)

    # Enabling again lets the user log in, but the old token stays dead.
    api.patch(f"/users/{user.user_id}", json={"user": {"enabled": True}})
    fresh = authenticate_by_id(api, user.user_id, user.password)
    assert fresh.status_code == 201
    assert token_status(api, fresh.headers["X-Subject-Token"]) == 200
    assert token_status(api, user.token) == 404


def test_self_service_password_change(api: IdentityApi) -> None:
    user = persona(api)
    new = unique("new-pw")
    body = {"user": {"original_password": user.password, "password": new}}
    response = api.post(f"/users/{user.user_id}/password", token=user.token, json=body)
    assert response.status_code == 204, response.text
    # Old tokens are revoked, the old password no longer works, the new one does.
    assert token_status(api, user.token) == 404
    assert_fault(authenticate_by_id(api, user.user_id, user.password), 401)
    fresh = authenticate_by_id(api, user.user_id, new, {"project": {"id": user.project_id}})
    assert fresh.status_code == 201, fresh.text
    # A token issued after the change is not caught by the revocation.
    assert token_status(api, fresh.headers["X-Subject-Token"]) == 200


def test_password_change_needs_the_original_password(api: IdentityApi) -> None:
    user = persona(api)
    body = {"user": {"original_password": "wrong", "password": unique("new-pw")}}
    response = api.post(f"/users/{user.user_id}/password", token=user.token, json=body)
    assert_fault(response, 401)
    assert token_status(api, user.token) == 200
    assert authenticate_by_id(api, user.user_id, user.password).status_code == 201


def test_password_change_of_unknown_user_is_401(api: IdentityApi) -> None:
    body = {"user": {"original_password": "a", "password": "b"}}
    assert_fault(api.post("/users/nope/password", json=body), 401)


def test_admin_password_reset_revokes_tokens(api: IdentityApi) -> None:
    user = persona(api)
    new = unique("reset")
    response = api.patch(f"/users/{user.user_id}", json={"user": {"password": new}})
    assert response.status_code == 200, response.text
    assert "password" not in response.json()["user"]
    assert token_status(api, user.token) == 404
    assert_fault(authenticate_by_id(api, user.user_id, user.password), 401)
    assert authenticate_by_id(api, user.user_id, new).status_code == 201


def test_other_updates_keep_tokens(api: IdentityApi) -> None:
    user = persona(api)
    api.patch(f"/users/{user.user_id}", json={"user": {"email": "kept@example.org"}})
    assert token_status(api, user.token) == 200


def test_a_users_groups_and_projects(api: IdentityApi) -> None:
    user = persona(api)
    group = create_group(api)
    assert api.put(f"/groups/{group['id']}/users/{user.user_id}").status_code == 204
    via_group = create_project(api)
    grant(api, via_group["id"], "reader", group_id=group["id"])

    groups = api.get(f"/users/{user.user_id}/groups").json()["groups"]
    assert [g["id"] for g in groups] == [group["id"]]
    projects = api.get(f"/users/{user.user_id}/projects").json()["projects"]
    assert {p["id"] for p in projects} == {user.project_id, via_group["id"]}
    # A user may list its own groups and projects.
    own = api.get(f"/users/{user.user_id}/projects", token=user.token)
    assert own.status_code == 200
    assert {p["id"] for p in own.json()["projects"]} == {user.project_id, via_group["id"]}


def test_names_are_exact_on_every_backend(api: IdentityApi) -> None:
    name = unique("Case")
    first = api.post("/users", json={"user": {"name": name, "password": "pw-one"}})
    assert first.status_code == 201, first.text
    # Another user may differ only by case, and a login must match the name exactly.
    second = api.post("/users", json={"user": {"name": name.lower(), "password": "pw-two"}})
    assert second.status_code == 201, second.text
    assert_fault(api.authenticate(name.upper(), "pw-one"), 401)
    accented = api.post("/projects", json={"project": {"name": "José-" + name[-6:]}})
    plain = api.post("/projects", json={"project": {"name": "Jose-" + name[-6:]}})
    assert (accented.status_code, plain.status_code) == (201, 201), plain.text
