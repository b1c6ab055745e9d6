"""Helpers the identity API tests share: they drive the API as a user would, never the database.

Every test module gets one cloud per backend (the `api` fixture is module-scoped), so entities
are given unique names and tests never change the bootstrap accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.conftest import ComputeApi, IdentityApi, NetworkApi

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def parse_time(value: str) -> datetime:
    """A Keystone timestamp (`...Z`) as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def assert_fault(response: Any, code: int) -> dict[str, Any]:
    """The response is a Keystone fault with this code; returns its `error` object."""
    assert response.status_code == code, response.text
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["title"] == TITLES[code]
    assert isinstance(error["message"], str) and error["message"]
    return error


def created(response: Any, key: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[key]
    return entity


#: (cloud data dir, role name) → role id: role ids never change within one test cloud.
_ROLE_IDS: dict[tuple[str, str], str] = {}


def role_id(api: IdentityApi, name: str) -> str:
    """The id of the global role `name`, looked up through the API once per cloud."""
    key = (str(api.cloud.settings.data_path), name)
    if key not in _ROLE_IDS:
        response = api.get("/roles", params={"name": name})
        assert response.status_code == 200, response.text
        roles = response.json()["roles"]
        assert len(roles) == 1, roles
        _ROLE_IDS[key] = roles[0]["id"]
    return _ROLE_IDS[key]


def create_project(api: IdentityApi, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("project"), "domain_id": "default", **fields}
    return created(api.post("/projects", json={"project": body}), "project")


def create_user(api: IdentityApi, password: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": unique("user"), "domain_id": "default", **fields}
    if password is not None:
        body["password"] = password
    return created(api.post("/users", json={"user": body}), "user")


def create_group(api: IdentityApi, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("group"), "domain_id": "default", **fields}
    return created(api.post("/groups", json={"group": body}), "group")


def create_role(api: IdentityApi, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("role"), **fields}
    return created(api.post("/roles", json={"role": body}), "role")


def grant(
    api: IdentityApi, project_id: str, role: str, *, user_id: str = "", group_id: str = ""
) -> None:
    actor = f"users/{user_id}" if user_id else f"groups/{group_id}"
    response = api.put(f"/projects/{project_id}/{actor}/roles/{role_id(api, role)}")
    assert response.status_code == 204, response.text


def revoke(
    api: IdentityApi, project_id: str, role: str, *, user_id: str = "", group_id: str = ""
) -> None:
    actor = f"users/{user_id}" if user_id else f"groups/{group_id}"
    response = api.delete(f"/projects/{project_id}/{actor}/roles/{role_id(api, role)}")
    assert response.status_code == 204, response.text


def project_token(api: IdentityApi, user_id: str, password: str, project_id: str) -> str:
    response = authenticate_by_id(api, user_id, password, {"project": {"id": project_id}})
    assert response.status_code == 201, response.text
    token: str = response.headers["X-Subject-Token"]
    return token


def authenticate_by_id(api: IdentityApi, user_id: str, password: str, scope: Any = None) -> Any:
    body: dict[str, Any] = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": user_id, "password": password}},
            }
        }
    }
    if scope is not None:
        body["auth"]["scope"] = scope
    return api.client.post("/identity/v3/auth/tokens", json=body)


def token_status(api: IdentityApi, token: str) -> int:
    """Status of `HEAD /auth/tokens` for `token`, checked by the admin (200 or 404)."""
    status: int = api.head("/auth/tokens", headers={"X-Subject-Token": token}).status_code
    return status


def can_use(api: IdentityApi, token: str, user_id: str) -> int:
    """Status of a request made with `token` as X-Auth-Token (reading its own user)."""
    status: int = api.get(f"/users/{user_id}", token=token).status_code
    return status


@dataclass(frozen=True)
class Persona:
    """A fresh user with `role` on a fresh project, and a token scoped to that project."""

    user_id: str
    name: str
    password: str
    project_id: str
    token: str


def persona(api: IdentityApi, role: str = "member", **project_fields: Any) -> Persona:
    password = unique("pw")
    project = create_project(api, **project_fields)
    user = create_user(api, password=password)
    grant(api, project["id"], role, user_id=user["id"])
    token = project_token(api, user["id"], password, project["id"])
    return Persona(user["id"], user["name"], password, project["id"], token)


def persona_fixture(cloud: str = "network_api") -> Any:
    """A module-scoped fixture of a new member on its own project, on the cloud fixture named
    `cloud` (`network_api` or `edge_api`), so that each test module has users of its own:
    `member = persona_fixture()`. The fixture depends on the cloud by name, so every test
    using it runs once per database backend."""
    if cloud == "edge_api":

        @pytest.fixture(scope="module")
        def on_edge(edge_api: NetworkApi) -> Persona:
            return persona(edge_api.identity)

        return on_edge
    if cloud == "compute_api":

        @pytest.fixture(scope="module")
        def on_compute(compute_api: ComputeApi) -> Persona:
            return persona(compute_api.identity)

        return on_compute
    assert cloud == "network_api", cloud

    @pytest.fixture(scope="module")
    def on_dvs(network_api: NetworkApi) -> Persona:
        return persona(network_api.identity)

    return on_dvs
