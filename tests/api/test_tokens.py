"""`/v3/auth/tokens`: issue, scope, rescope, validate, check and revoke tokens; `/v3/auth/*`."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from tests.api.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, IdentityApi
from tests.api.helpers import (
    assert_fault,
    authenticate_by_id,
    create_user,
    parse_time,
    persona,
    token_status,
    unique,
)
from vistack.identity.domain.time import utcnow
from vistack.identity.domain.tokens import TokenCodec
from vistack.identity.wiring import key_repository

DEFAULT_DOMAIN = {"id": "default", "name": "Default"}


def _codec(api: IdentityApi) -> TokenCodec:
    return TokenCodec(key_repository(api.cloud.settings).current_cipher)


def _rescope(api: IdentityApi, token: str, scope: Any = None) -> Any:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return api.client.post("/identity/v3/auth/tokens", json=body)


def test_project_scoped_token_describes_user_project_roles_and_catalog(api: IdentityApi) -> None:
    user = persona(api, "member")
    response = authenticate_by_id(
        api, user.user_id, user.password, {"project": {"id": user.project_id}}
    )
    assert response.status_code == 201, response.text
    assert len(response.headers["X-Subject-Token"]) > 100
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["id"] == user.user_id
    assert token["user"]["name"] == user.name
    assert token["user"]["domain"] == DEFAULT_DOMAIN
    assert token["user"]["password_expires_at"] is None
    assert token["project"]["id"] == user.project_id
    assert token["project"]["domain"] == DEFAULT_DOMAIN
    assert token["is_domain"] is False
    # member implies reader
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    lifetime = parse_time(token["expires_at"]) - parse_time(token["issued_at"])
    assert lifetime == timedelta(seconds=api.cloud.settings.identity.token_expiration)
    assert len(token["audit_ids"]) == 1 and len(token["audit_ids"][0]) == 22
    identity = [s for s in token["catalog"] if s["type"] == "identity"]
    assert len(identity) == 1
    endpoints = identity[0]["endpoints"]
    assert sorted(e["interface"] for e in endpoints) == ["admin", "internal", "public"]
    assert all(e["url"].endswith("/identity") for e in endpoints)
    assert {e["region_id"] for e in endpoints} == {api.cloud.settings.server.region}


def test_project_scope_by_name_and_domain_name(api: IdentityApi) -> None:
    response = api.authenticate(
        "demo", DEMO_PASSWORD, {"project": {"name": "demo", "domain": {"name": "Default"}}}
    )
    assert response.status_code == 201, response.text
    assert response.json()["token"]["project"]["name"] == "demo"


def test_nocatalog_leaves_the_catalog_out(api: IdentityApi) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "demo", "domain": {"id": "default"}, "password": DEMO_PASSWORD}
                },
            },
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}},
        }
    }
    response = api.client.post("/identity/v3/auth/tokens?nocatalog", json=body)
    assert response.status_code == 201, response.text
    assert "catalog" not in response.json()["token"]
    subject = response.headers["X-Subject-Token"]
    with_catalog = api.get("/auth/tokens", headers={"X-Subject-Token": subject})
    assert with_catalog.json()["token"]["catalog"]
    without = api.get("/auth/tokens?nocatalog", headers={"X-Subject-Token": subject})
    assert "catalog" not in without.json()["token"]


def test_no_scope_uses_the_default_project(api: IdentityApi) -> None:
    response = api.authenticate("admin", ADMIN_PASSWORD)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["project"]["name"] == "admin"
    assert {"admin", "member", "reader"} <= {r["name"] for r in token["roles"]}


def test_unscoped_token_has_no_scope_roles_or_catalog(api: IdentityApi) -> None:
    password = unique("pw")
    user = create_user(api, password=password)
    response = authenticate_by_id(api, user["id"], password)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    for key in ("project", "domain", "system", "roles", "catalog"):
        assert key not in token, key
    assert token["user"]["id"] == user["id"]


def test_explicitly_unscoped_ignores_the_default_project(api: IdentityApi) -> None:
    response = api.authenticate("admin", ADMIN_PASSWORD, "unscoped")
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert "project" not in token
    assert "roles" not in token


def test_domain_scoped_token(api: IdentityApi) -> None:
    response = api.authenticate("admin", ADMIN_PASSWORD, {"domain": {"name": "Default"}})
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["domain"] == DEFAULT_DOMAIN
    assert "project" not in token
    assert "admin" in {r["name"] for r in token["roles"]}


def test_system_scoped_token(api: IdentityApi) -> None:
    response = api.authenticate("admin", ADMIN_PASSWORD, {"system": {"all": True}})
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["system"] == {"all": True}
    assert "project" not in token and "domain" not in token
    assert "admin" in {r["name"] for r in token["roles"]}


def test_scope_without_a_role_is_refused(api: IdentityApi) -> None:
    other = api.get("/projects", params={"name": "admin"}).json()["projects"][0]["id"]
    for scope in (
        {"project": {"id": other}},
        {"project": {"id": "no-such-project"}},
        {"domain": {"id": "default"}},
        {"system": {"all": True}},
    ):
        assert_fault(api.authenticate("demo", DEMO_PASSWORD, scope), 401)


def test_validate_and_check_a_token(api: IdentityApi) -> None:
    demo = api.token("demo", DEMO_PASSWORD, "demo")
    response = api.get("/auth/tokens", headers={"X-Subject-Token": demo})
    assert response.status_code == 200, response.text
    assert response.headers["X-Subject-Token"] == demo
    token = response.json()["token"]
    assert token["user"]["name"] == "demo"
    assert token["project"]["name"] == "demo"
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]

    head = api.head("/auth/tokens", headers={"X-Subject-Token": demo})
    assert head.status_code == 200
    assert head.content == b""


def test_a_user_validates_its_own_token_but_not_another_users(api: IdentityApi) -> None:
    demo = api.token("demo", DEMO_PASSWORD, "demo")
    own = api.get("/auth/tokens", token=demo, headers={"X-Subject-Token": demo})
    assert own.status_code == 200, own.text
    other = api.get("/auth/tokens", token=demo, headers={"X-Subject-Token": api.admin_token})
    assert_fault(other, 403)


def test_validation_without_subject_token_is_404(api: IdentityApi) -> None:
    assert_fault(api.get("/auth/tokens"), 404)


def test_revoked_token_is_gone_everywhere(api: IdentityApi) -> None:
    user = persona(api)
    revoke = api.delete("/auth/tokens", headers={"X-Subject-Token": user.token})
    assert revoke.status_code == 204, revoke.text
    assert_fault(api.get("/auth/tokens", headers={"X-Subject-Token": user.token}), 404)
    assert api.head("/auth/tokens", headers={"X-Subject-Token": user.token}).status_code == 404
    assert_fault(api.get(f"/users/{user.user_id}", token=user.token), 401)
    assert_fault(api.delete("/auth/tokens", headers={"X-Subject-Token": user.token}), 404)
    # A revoked token cannot be exchanged for a new one.
    assert_fault(_rescope(api, user.token), 404)
    # The user itself is fine: a new password login works.
    fresh = authenticate_by_id(
        api, user.user_id, user.password, {"project": {"id": user.project_id}}
    )
    assert fresh.status_code == 201


def test_a_user_revokes_its_own_token(api: IdentityApi) -> None:
    user = persona(api)
    response = api.delete("/auth/tokens", token=user.token, headers={"X-Subject-Token": user.token})
    assert response.status_code == 204, response.text
    assert token_status(api, user.token) == 404


def test_a_user_cannot_revoke_another_users_token(api: IdentityApi) -> None:
    user, other = persona(api), persona(api)
    response = api.delete(
        "/auth/tokens", token=user.token, headers={"X-Subject-Token": other.token}
    )
    assert_fault(response, 403)
    assert token_status(api, other.token) == 200


def test_rescope_an_unscoped_token_to_a_project(api: IdentityApi) -> None:
    user = persona(api)
    unscoped = authenticate_by_id(api, user.user_id, user.password)
    assert unscoped.status_code == 201
    original = unscoped.json()["token"]
    rescoped = _rescope(
        api, unscoped.headers["X-Subject-Token"], {"project": {"id": user.project_id}}
    )
    assert rescoped.status_code == 201, rescoped.text
    token = rescoped.json()["token"]
    assert token["methods"] == ["token", "password"]
    assert token["project"]["id"] == user.project_id
    assert token["expires_at"] == original["expires_at"]
    assert len(token["audit_ids"]) == 2
    assert token["audit_ids"][1] == original["audit_ids"][0]
    assert token["audit_ids"][0] != original["audit_ids"][0]


def test_revoking_a_rescoped_token_leaves_its_parent_and_siblings_valid(api: IdentityApi) -> None:
    user = persona(api)
    unscoped = authenticate_by_id(api, user.user_id, user.password).headers["X-Subject-Token"]
    scope = {"project": {"id": user.project_id}}
    first = _rescope(api, unscoped, scope).headers["X-Subject-Token"]
    second = _rescope(api, unscoped, scope).headers["X-Subject-Token"]
    response = api.delete("/auth/tokens", headers={"X-Subject-Token": first})
    assert response.status_code == 204
    assert token_status(api, first) == 404
    assert token_status(api, unscoped) == 200
    assert token_status(api, second) == 200


def test_tampered_token_is_401_to_use_and_404_to_validate(api: IdentityApi) -> None:
    token = api.token("demo", DEMO_PASSWORD, "demo")
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    for bad in (tampered, token[:-4], "not-a-token", "x" * 2000):
        assert_fault(api.get("/projects", token=bad), 401)
        assert_fault(api.get("/auth/tokens", headers={"X-Subject-Token": bad}), 404)
        assert api.head("/auth/tokens", headers={"X-Subject-Token": bad}).status_code == 404


def test_expired_token_is_401_to_use_and_404_to_validate(api: IdentityApi) -> None:
    codec = _codec(api)
    live = api.token("demo", DEMO_PASSWORD, "demo")
    payload = codec.decode(live)
    assert payload is not None
    now = utcnow()
    expired = codec.encode(
        dataclasses.replace(
            payload, issued_at=now - timedelta(hours=2), expires_at=now - timedelta(seconds=1)
        )
    )
    response = api.get("/projects", token=expired)
    assert_fault(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="/identity"'
    assert_fault(api.get("/auth/tokens", headers={"X-Subject-Token": expired}), 404)
    # allow_expired lets a service validate a token that expired a moment ago.
    allowed = api.get("/auth/tokens?allow_expired=1", headers={"X-Subject-Token": expired})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["token"]["user"]["name"] == "demo"
    # ...but not one that expired longer ago than the allow_expired window.
    window = timedelta(seconds=api.cloud.settings.identity.allow_expired_window)
    long_ago = codec.encode(
        dataclasses.replace(
            payload, issued_at=now - window - timedelta(hours=2), expires_at=now - window
        )
    )
    too_old = api.get("/auth/tokens?allow_expired=1", headers={"X-Subject-Token": long_ago})
    assert_fault(too_old, 404)
    # An expired token cannot be rescoped.
    assert _rescope(api, expired).status_code in (401, 404)


def test_auth_projects_domains_and_system(api: IdentityApi) -> None:
    user = persona(api)
    projects = api.get("/auth/projects", token=user.token)
    assert projects.status_code == 200, projects.text
    assert [p["id"] for p in projects.json()["projects"]] == [user.project_id]
    domains = api.get("/auth/domains", token=user.token)
    assert domains.status_code == 200
    assert domains.json()["domains"] == []
    system = api.get("/auth/system", token=user.token)
    assert system.json()["system"] == []

    assert api.get("/auth/system").json()["system"] == [{"all": True}]
    admin_domains = [d["id"] for d in api.get("/auth/domains").json()["domains"]]
    assert admin_domains == ["default"]


def test_auth_catalog(api: IdentityApi) -> None:
    response = api.get("/auth/catalog")
    assert response.status_code == 200, response.text
    catalog = response.json()["catalog"]
    assert "identity" in {s["type"] for s in catalog}
    assert response.json()["links"]["self"].endswith("/identity/v3/auth/catalog")


def test_auth_catalog_needs_a_scoped_token(api: IdentityApi) -> None:
    unscoped = api.authenticate("demo", DEMO_PASSWORD, "unscoped").headers["X-Subject-Token"]
    assert_fault(api.get("/auth/catalog", token=unscoped), 403)


def test_a_token_proves_only_one_user(api: IdentityApi) -> None:
    demo = api.token("demo", DEMO_PASSWORD)
    body = {
        "auth": {
            "identity": {
                "methods": ["password", "token"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": ADMIN_PASSWORD,
                    }
                },
                "token": {"id": demo},
            }
        }
    }
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=body), 401)


def test_unsupported_method_is_401(api: IdentityApi) -> None:
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {"user": {"id": "x"}}}}}
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=body), 401)
