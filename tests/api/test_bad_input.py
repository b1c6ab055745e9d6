"""Bad requests get Keystone's fault body and the right status, and reveal nothing.

- malformed JSON, wrong types, unknown fields, missing wrappers → 400
- a wrong password, an unknown user and a disabled user → one identical 401
- duplicates → 409
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ADMIN_PASSWORD, IdentityApi
from tests.api.helpers import assert_fault, create_project, create_user, unique

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"user": {"name": "x",}}', b"", b"\xff\xfe", b"[1, 2]", b"null", b'"user"'],
)
def test_malformed_bodies_are_400(api: IdentityApi, raw: bytes) -> None:
    response = api.post("/users", content=raw, headers=JSON)
    assert_fault(response, 400)


def test_malformed_auth_body_is_400(api: IdentityApi) -> None:
    response = api.client.post("/identity/v3/auth/tokens", content=b"{'auth': {}}", headers=JSON)
    error = assert_fault(response, 400)
    assert "JSON" in error["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users", {"user": {"name": 5}}),
        ("/users", {"user": {"name": "x", "enabled": "yes"}}),
        ("/users", {"user": {"name": "x", "enabled": 1}}),
        ("/users", {"user": {"name": "x", "password": 1234}}),
        ("/users", {"user": {"name": ""}}),
        ("/users", {"user": {"name": "x" * 256}}),
        ("/users", {"user": {"name": None}}),
        ("/users", {"user": ["x"]}),
        ("/users", {"user": "x"}),
        ("/projects", {"project": {"name": "x", "tags": "a,b"}}),
        ("/projects", {"project": {"name": "x", "enabled": "false"}}),
        ("/groups", {"group": {"name": {"first": "x"}}}),
        ("/roles", {"role": {"name": ["x"]}}),
        ("/domains", {"domain": {"name": "x", "enabled": 0}}),
        ("/services", {"service": {"type": 3}}),
        ("/endpoints", {"endpoint": {"service_id": "x", "interface": "public"}}),
    ],
)
def test_wrong_types_are_400(api: IdentityApi, path: str, body: dict[str, Any]) -> None:
    assert_fault(api.post(path, json=body), 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users", {"user": {"name": "x", "favourite_colour": "blue"}}),
        ("/users", {"user": {"name": "x"}, "extra": True}),
        ("/projects", {"project": {"name": "x", "owner": "me"}}),
        ("/groups", {"group": {"name": "x", "members": []}}),
        ("/roles", {"role": {"name": "x", "permissions": ["all"]}}),
        ("/domains", {"domain": {"name": "x", "parent_id": "default"}}),
        ("/regions", {"region": {"name": "x"}}),
    ],
)
def test_unknown_fields_are_400(api: IdentityApi, path: str, body: dict[str, Any]) -> None:
    error = assert_fault(api.post(path, json=body), 400)
    assert "not allowed" in error["message"]


def test_unknown_fields_in_updates_are_400(api: IdentityApi) -> None:
    user = create_user(api)
    project = create_project(api)
    assert_fault(api.patch(f"/users/{user['id']}", json={"user": {"nickname": "x"}}), 400)
    assert_fault(api.patch(f"/projects/{project['id']}", json={"project": {"size": 3}}), 400)
    body = {"user": {"password": "a", "original_password": "b", "hint": "c"}}
    assert_fault(api.post(f"/users/{user['id']}/password", json=body), 400)
    assert "nickname" not in api.get(f"/users/{user['id']}").json()["user"]


def test_missing_wrapper_or_body_is_400(api: IdentityApi) -> None:
    assert_fault(api.post("/users", json={"name": unique("user")}), 400)
    assert_fault(api.post("/users"), 400)
    assert_fault(api.post("/projects", json={}), 400)
    assert_fault(api.patch("/domains/default", json={}), 400)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"auth": {}},
        {"auth": {"identity": {"methods": []}}},
        {"auth": {"identity": {"methods": ["password"]}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x"}}}}},
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD}},
                }
            }
        },
        {"auth": {"identity": {"methods": ["token"]}}},
        {"auth": {"identity": {"methods": "password"}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {}}}}},
    ],
)
def test_incomplete_auth_requests_are_400(api: IdentityApi, auth: dict[str, Any]) -> None:
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=auth), 400)


def test_scope_with_two_targets_is_400(api: IdentityApi) -> None:
    scope = {"project": {"name": "admin", "domain": {"id": "default"}}, "domain": {"id": "default"}}
    assert_fault(api.authenticate("admin", ADMIN_PASSWORD, scope), 400)
    assert_fault(api.authenticate("admin", ADMIN_PASSWORD, {"project": {"name": "admin"}}), 400)
    assert_fault(api.authenticate("admin", ADMIN_PASSWORD, {"system": {"all": False}}), 400)
    assert_fault(api.authenticate("admin", ADMIN_PASSWORD, "somewhere"), 400)


def test_wrong_password_unknown_and_disabled_users_look_the_same(api: IdentityApi) -> None:
    password = unique("pw")
    disabled = create_user(api, password=password, enabled=False)
    wrong_password = api.authenticate("admin", "not-the-password")
    unknown_user = api.authenticate(unique("nobody"), "not-the-password")
    unknown_domain = api.authenticate("admin", ADMIN_PASSWORD, domain="no-such-domain")
    disabled_user = api.authenticate(disabled["name"], password)
    responses = [wrong_password, unknown_user, unknown_domain, disabled_user]
    for response in responses:
        assert_fault(response, 401)
    assert len({r.content for r in responses}) == 1, [r.text for r in responses]
    assert wrong_password.json()["error"]["message"] == (
        "The request you have made requires authentication."
    )
    assert {r.headers["WWW-Authenticate"] for r in responses} == {'Keystone uri="/identity"'}
    assert "X-Subject-Token" not in wrong_password.headers


def test_wrong_password_by_user_id_looks_like_unknown_id(api: IdentityApi) -> None:
    user = create_user(api, password=unique("pw"))

    def attempt(user_id: str) -> Any:
        password = {"user": {"id": user_id, "password": "wrong"}}
        body = {"auth": {"identity": {"methods": ["password"], "password": password}}}
        return api.client.post("/identity/v3/auth/tokens", json=body)

    wrong, unknown = attempt(user["id"]), attempt("no-such-id")
    assert_fault(wrong, 401)
    assert wrong.content == unknown.content


@pytest.mark.parametrize(
    ("path", "key", "body"),
    [
        ("/users", "user", {"name": "dup-user"}),
        ("/projects", "project", {"name": "dup-project"}),
        ("/groups", "group", {"name": "dup-group"}),
        ("/roles", "role", {"name": "dup-role"}),
        ("/domains", "domain", {"name": "dup-domain"}),
    ],
)
def test_duplicates_are_409(api: IdentityApi, path: str, key: str, body: dict[str, Any]) -> None:
    first = api.post(path, json={key: body})
    assert first.status_code == 201, first.text
    again = api.post(path, json={key: body})
    error = assert_fault(again, 409)
    assert "Duplicate" in error["message"] or "same name" in error["message"]
    listed = api.get(path, params={"name": body["name"]}).json()[f"{key}s"]
    assert len(listed) == 1


def test_unknown_ids_in_paths_are_404_with_keystone_body(api: IdentityApi) -> None:
    for path in ("/users/x", "/projects/x", "/groups/x", "/roles/x", "/domains/x", "/regions/x"):
        error = assert_fault(api.get(path), 404)
        assert "x" in error["message"]


def test_wrong_method_is_405(api: IdentityApi) -> None:
    assert_fault(api.post("/users/some-id", json={}), 405)
    assert_fault(api.patch("/auth/tokens", json={}), 405)
