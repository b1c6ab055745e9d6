"""The identity API answers on every database backend (a quick cross-backend check)."""

from __future__ import annotations

from tests.api.conftest import IdentityApi


def test_issue_token_and_list_projects(api: IdentityApi) -> None:
    response = api.get("/projects")
    assert response.status_code == 200, response.text
    names = {p["name"] for p in response.json()["projects"]}
    assert {"admin", "demo"} <= names
    assert response.headers["x-openstack-request-id"].startswith("req-")
