"""Application credential access rules: created with credentials, shared per user, listed, shown,
deleted when unused, and enforced on every request a credential's token makes."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import IdentityApi
from tests.api.helpers import Persona, assert_fault, persona, unique

PROJECTS = {"service": "identity", "method": "GET", "path": "/v3/projects"}
SERVER_IPS = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}


def _create(api: IdentityApi, user: Persona, **fields: Any) -> Any:
    body = {"application_credential": {"name": unique("cred"), **fields}}
    return api.post(f"/users/{user.user_id}/application_credentials", token=user.token, json=body)


def _credential(api: IdentityApi, user: Persona, **fields: Any) -> dict[str, Any]:
    response = _create(api, user, **fields)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["application_credential"]
    return credential


def _token(api: IdentityApi, credential: dict[str, Any]) -> Any:
    body = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {
                    "id": credential["id"],
                    "secret": credential["secret"],
                },
            }
        }
    }
    response = api.client.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    return response


def _without_id(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in rule.items() if k != "id"} for rule in rules]


def _rules(api: IdentityApi, user: Persona, **params: str) -> list[dict[str, Any]]:
    response = api.get(f"/users/{user.user_id}/access_rules", token=user.token, params=params)
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["access_rules"]
    return rules


def test_a_credential_shows_its_rules(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user, access_rules=[SERVER_IPS])
    rules = credential["access_rules"]
    assert _without_id(rules) == [SERVER_IPS]
    assert set(rules[0]) == {"id", "service", "method", "path"}

    path = f"/users/{user.user_id}/application_credentials/{credential['id']}"
    shown = api.get(path, token=user.token).json()["application_credential"]
    assert shown["access_rules"] == rules
    token = _token(api, credential).json()["token"]
    assert token["application_credential"]["access_rules"] == rules


def test_list_show_and_filter_rules(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user, access_rules=[SERVER_IPS, PROJECTS])
    listed = _rules(api, user)
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in credential["access_rules"])
    by_service = _rules(api, user, service="identity")
    assert _without_id([{k: v for k, v in r.items() if k != "links"} for r in by_service]) == [
        PROJECTS
    ]
    assert [r["id"] for r in _rules(api, user, path="/v2.1/servers/*/ips")] == [
        r["id"] for r in listed if r["service"] == "compute"
    ]
    assert len(_rules(api, user, method="GET")) == 2
    assert _rules(api, user, method="POST") == []

    rule = listed[0]
    base = f"/users/{user.user_id}/access_rules"
    assert rule["links"]["self"].endswith(f"/identity/v3{base}/{rule['id']}")
    shown = api.get(f"{base}/{rule['id']}", token=user.token)
    assert shown.status_code == 200, shown.text
    assert shown.json()["access_rule"] == rule
    assert_fault(api.get(f"{base}/no-such-rule", token=user.token), 404)


def test_rules_are_shared_per_user(api: IdentityApi) -> None:
    user, other = persona(api), persona(api)
    first = _credential(api, user, access_rules=[SERVER_IPS])
    rule_id = first["access_rules"][0]["id"]
    # The same service, path and method is the same rule, whether given again or by id.
    again = _credential(api, user, access_rules=[SERVER_IPS, SERVER_IPS])
    assert [r["id"] for r in again["access_rules"]] == [rule_id]
    by_id = _credential(api, user, access_rules=[{"id": rule_id}])
    assert by_id["access_rules"] == first["access_rules"]
    assert [r["id"] for r in _rules(api, user)] == [rule_id]
    # Another user's identical rule is its own.
    theirs = _credential(api, other, access_rules=[SERVER_IPS])
    assert theirs["access_rules"][0]["id"] != rule_id
    # And one user cannot borrow another's rule by id.
    assert_fault(_create(api, other, access_rules=[{"id": rule_id}]), 400)


def test_a_rule_in_use_cannot_be_deleted(api: IdentityApi) -> None:
    user = persona(api)
    first = _credential(api, user, access_rules=[SERVER_IPS])
    second = _credential(api, user, access_rules=[SERVER_IPS])
    rule_id = first["access_rules"][0]["id"]
    path = f"/users/{user.user_id}/access_rules/{rule_id}"
    credentials = f"/users/{user.user_id}/application_credentials"

    assert_fault(api.delete(path, token=user.token), 403)
    assert api.delete(f"{credentials}/{first['id']}", token=user.token).status_code == 204
    assert_fault(api.delete(path, token=user.token), 403)
    assert api.delete(f"{credentials}/{second['id']}", token=user.token).status_code == 204
    # Deleting the credentials leaves the rule with its user...
    assert [r["id"] for r in _rules(api, user)] == [rule_id]
    assert api.delete(path, token=user.token).status_code == 204
    assert _rules(api, user) == []
    assert_fault(api.get(path, token=user.token), 404)
    assert_fault(api.delete(path, token=user.token), 404)


def test_rules_belong_to_their_user(api: IdentityApi) -> None:
    owner, other = persona(api), persona(api)
    rule_id = _credential(api, owner, access_rules=[SERVER_IPS])["access_rules"][0]["id"]
    base = f"/users/{owner.user_id}/access_rules"
    assert_fault(api.get(base, token=other.token), 403)
    assert_fault(api.get(f"{base}/{rule_id}", token=other.token), 403)
    assert_fault(api.delete(f"{base}/{rule_id}", token=other.token), 403)
    assert_fault(api.get(f"/users/{other.user_id}/access_rules/{rule_id}", token=other.token), 404)
    # A cloud admin may read and delete them, as in Keystone.
    assert api.get(f"{base}/{rule_id}").status_code == 200
    assert_fault(api.get("/users/no-such-user/access_rules"), 404)


def test_malformed_rules_are_400(api: IdentityApi) -> None:
    user = persona(api)
    for rule in (
        {"service": "compute", "method": "GET"},
        {"service": "compute", "method": "GET", "path": "v2.1/servers"},
        {"service": "compute", "method": "get", "path": "/v2.1/servers"},
        {"service": "compute", "method": "OPTIONS", "path": "/v2.1/servers"},
        {"service": "com pute", "method": "GET", "path": "/v2.1/servers"},
        {"service": "compute", "method": "GET", "path": "/" + "x" * 225},
        {"service": "compute", "method": "GET", "path": "/v2.1", "colour": "red"},
        {"id": "no-such-rule"},
    ):
        assert_fault(_create(api, user, access_rules=[rule]), 400)
    assert _rules(api, user) == []


def test_a_limited_token_may_only_make_the_calls_its_rules_allow(api: IdentityApi) -> None:
    # A cloud admin, so that policy would allow every call below: only the rules refuse.
    user = persona(api, "admin")
    credential = _credential(api, user, access_rules=[PROJECTS])
    subject = _token(api, credential).headers["X-Subject-Token"]

    listed = api.get("/projects", token=subject)
    assert listed.status_code == 200, listed.text
    assert user.project_id in [p["id"] for p in listed.json()["projects"]]
    error = assert_fault(api.get("/users", token=subject), 403)
    assert "access rules" in error["message"]
    assert_fault(api.get(f"/projects/{user.project_id}", token=subject), 403)
    assert_fault(api.post("/projects", token=subject, json={"project": {"name": "x"}}), 403)
    # The rules of one credential never limit the user's other tokens.
    assert api.get("/users", token=user.token).status_code == 200
    # A limited token can always be validated (keystonemiddleware does, for every service).
    validated = api.get("/auth/tokens", token=subject, headers={"X-Subject-Token": subject})
    assert validated.status_code == 200, validated.text


def test_glob_rules(api: IdentityApi) -> None:
    user = persona(api)
    rule = {"service": "identity", "method": "GET", "path": "/v3/users/*"}
    subject = _token(api, _credential(api, user, access_rules=[rule])).headers["X-Subject-Token"]
    assert api.get(f"/users/{user.user_id}", token=subject).status_code == 200
    assert_fault(api.get(f"/users/{user.user_id}/projects", token=subject), 403)
    assert_fault(api.get("/users", token=subject), 403)

    recursive = {"service": "identity", "method": "GET", "path": "/v3/users/**"}
    subject = _token(api, _credential(api, user, access_rules=[recursive])).headers[
        "X-Subject-Token"
    ]
    assert api.get(f"/users/{user.user_id}/projects", token=subject).status_code == 200
    assert_fault(api.get("/projects", token=subject), 403)


def test_rules_for_another_service_lock_the_identity_api(api: IdentityApi) -> None:
    # As in Keystone: a credential with access rules can only call the APIs they list.
    user = persona(api)
    subject = _token(api, _credential(api, user, access_rules=[SERVER_IPS])).headers[
        "X-Subject-Token"
    ]
    assert_fault(api.get(f"/users/{user.user_id}", token=subject), 403)
    assert_fault(api.get(f"/users/{user.user_id}/access_rules", token=subject), 403)


def test_a_credential_without_rules_is_not_limited_by_path(api: IdentityApi) -> None:
    user = persona(api)
    no_rules: list[dict[str, Any]] = []
    for fields in ({}, {"access_rules": no_rules}):
        credential = _credential(api, user, **fields)
        assert credential["access_rules"] == []
        response = _token(api, credential)
        assert "access_rules" not in response.json()["token"]["application_credential"]
        subject = response.headers["X-Subject-Token"]
        assert api.get(f"/users/{user.user_id}", token=subject).status_code == 200
        assert api.get(f"/users/{user.user_id}/projects", token=subject).status_code == 200
        assert api.get(f"/users/{user.user_id}/access_rules", token=subject).status_code == 200
