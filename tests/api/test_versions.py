"""Version discovery: `/identity` (300 Multiple Choices) and `/identity/v3`."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import IdentityApi

MEDIA_TYPE = {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}


def _check_version(version: dict[str, Any]) -> None:
    assert version["id"] == "v3.14"
    assert version["status"] == "stable"
    assert version["updated"].endswith("Z")
    assert version["media-types"] == [MEDIA_TYPE]
    assert version["links"] == [{"rel": "self", "href": "http://vistack.test/identity/v3/"}]


def test_identity_root_lists_v3_with_multiple_choices(api: IdentityApi) -> None:
    response = api.client.get("/identity")
    assert response.status_code == 300, response.text
    assert response.headers["content-type"] == "application/json"
    values = response.json()["versions"]["values"]
    assert len(values) == 1
    _check_version(values[0])


def test_identity_root_with_trailing_slash_is_the_same_document(api: IdentityApi) -> None:
    with_slash = api.client.get("/identity/")
    without = api.client.get("/identity")
    assert with_slash.status_code == 300
    assert with_slash.json() == without.json()


def test_v3_document_needs_no_token(api: IdentityApi) -> None:
    for path in ("/identity/v3", "/identity/v3/"):
        response = api.client.get(path)
        assert response.status_code == 200, (path, response.text)
        _check_version(response.json()["version"])


def test_v3_self_link_follows_the_host_the_client_used(api: IdentityApi) -> None:
    response = api.client.get("/identity/v3", headers={"Host": "cloud.example:8443"})
    assert response.status_code == 200
    href = response.json()["version"]["links"][0]["href"]
    assert href == "http://cloud.example:8443/identity/v3/"
