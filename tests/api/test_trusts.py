"""Trusts (OS-TRUST): create, list, show, roles, delete; tokens through a trust, with and
without impersonation; use limits, expiry, redelegation, and what ends a trust's tokens."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    Persona,
    assert_fault,
    authenticate_by_id,
    create_project,
    create_role,
    create_user,
    grant,
    parse_time,
    persona,
    revoke,
    role_id,
    token_status,
    unique,
)

TRUSTS = "/OS-TRUST/trusts"


@dataclass(frozen=True)
class Trustee:
    user_id: str
    password: str


def _trustee(api: IdentityApi) -> Trustee:
    password = unique("pw")
    return Trustee(create_user(api, password=password)["id"], password)


def _create(api: IdentityApi, trustor: Persona, trustee_id: str, **fields: Any) -> Any:
    body: dict[str, Any] = {
        "trustor_user_id": trustor.user_id,
        "trustee_user_id": trustee_id,
        "project_id": trustor.project_id,
        "impersonation": False,
        "roles": [{"name": "member"}],
        **fields,
    }
    return api.post(TRUSTS, token=trustor.token, json={"trust": body})


def _trust(api: IdentityApi, trustor: Persona, trustee_id: str, **fields: Any) -> dict[str, Any]:
    response = _create(api, trustor, trustee_id, **fields)
    assert response.status_code == 201, response.text
    trust: dict[str, Any] = response.json()["trust"]
    return trust


def _use(api: IdentityApi, trustee: Trustee, trust_id: str) -> Any:
    """Authenticate as the trustee, scoped to the trust."""
    return authenticate_by_id(
        api, trustee.user_id, trustee.password, {"OS-TRUST:trust": {"id": trust_id}}
    )


def _trust_token(api: IdentityApi, trustee: Trustee, trust_id: str) -> str:
    response = _use(api, trustee, trust_id)
    assert response.status_code == 201, response.text
    token: str = response.headers["X-Subject-Token"]
    return token


def test_create_show_and_list_a_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    assert trust["trustor_user_id"] == trustor.user_id
    assert trust["trustee_user_id"] == trustee.user_id
    assert trust["project_id"] == trustor.project_id
    assert trust["impersonation"] is False
    assert trust["expires_at"] is None
    assert trust["remaining_uses"] is None
    assert trust["redelegation_count"] == 0
    assert trust["redelegated_trust_id"] is None
    assert trust["allow_redelegation"] is False
    assert trust["links"]["self"].endswith(f"/identity/v3/OS-TRUST/trusts/{trust['id']}")
    assert trust["roles_links"] == {
        "self": f"{trust['links']['self']}/roles",
        "previous": None,
        "next": None,
    }
    [role] = trust["roles"]
    assert role["id"] == role_id(api, "member")
    assert role["name"] == "member"
    assert role["links"]["self"].endswith(f"/identity/v3/roles/{role['id']}")

    shown = api.get(f"{TRUSTS}/{trust['id']}", token=trustor.token)
    assert shown.status_code == 200, shown.text
    assert shown.json()["trust"] == trust

    summary = {k: v for k, v in trust.items() if k not in ("roles", "roles_links")}
    for path in (TRUSTS, TRUSTS + "/"):  # Tempest lists with a trailing slash
        listed = api.get(path, token=trustor.token, params={"trustor_user_id": trustor.user_id})
        assert listed.status_code == 200, listed.text
        assert listed.json()["trusts"] == [summary]
        assert set(listed.json()["links"]) == {"self", "previous", "next"}
    everything = api.get(TRUSTS).json()["trusts"]  # the admin lists every trust
    assert summary in everything


def test_trust_roles_by_name_or_id(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    extra = create_role(api)
    grant(api, trustor.project_id, extra["name"], user_id=trustor.user_id)
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, roles=[{"id": extra["id"]}])
    base = f"{TRUSTS}/{trust['id']}/roles"

    listed = api.get(base, token=trustor.token)
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["roles"]] == [extra["id"]]
    assert listed.json()["links"]["self"].endswith(f"/OS-TRUST/trusts/{trust['id']}/roles")
    shown = api.get(f"{base}/{extra['id']}", token=trustor.token)
    assert shown.status_code == 200, shown.text
    assert shown.json()["role"]["name"] == extra["name"]
    assert api.head(f"{base}/{extra['id']}", token=trustor.token).status_code == 200

    member = role_id(api, "member")  # held by the trustor, but not delegated
    assert_fault(api.get(f"{base}/{member}", token=trustor.token), 404)
    assert api.head(f"{base}/{member}", token=trustor.token).status_code == 404


def test_a_trust_token_carries_the_trust_and_its_roles(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    response = _use(api, trustee, trust["id"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["id"] == trustee.user_id
    assert token["project"]["id"] == trustor.project_id
    # The delegated role and what it implies.
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    assert token["OS-TRUST:trust"] == {
        "id": trust["id"],
        "impersonation": False,
        "trustee_user": {"id": trustee.user_id},
        "trustor_user": {"id": trustor.user_id},
    }
    subject = response.headers["X-Subject-Token"]
    validated = api.get("/auth/tokens", headers={"X-Subject-Token": subject})
    assert validated.status_code == 200, validated.text
    assert validated.json()["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # The trust token works on the trustor's project.
    project = api.get(f"/projects/{trustor.project_id}", token=subject)
    assert project.status_code == 200, project.text


def test_impersonation_makes_the_token_the_trustors(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, impersonation=True)
    assert trust["impersonation"] is True
    response = _use(api, trustee, trust["id"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["user"]["id"] == trustor.user_id
    assert token["user"]["name"] == trustor.name
    assert token["OS-TRUST:trust"]["impersonation"] is True
    assert token["OS-TRUST:trust"]["trustee_user"] == {"id": trustee.user_id}
    # Services see the trustor.
    subject = response.headers["X-Subject-Token"]
    me = api.get(f"/users/{trustor.user_id}", token=subject)
    assert me.status_code == 200, me.text


def test_the_trustee_may_authenticate_with_a_token_too(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    unscoped = authenticate_by_id(api, trustee.user_id, trustee.password)
    assert unscoped.status_code == 201, unscoped.text
    body = {
        "auth": {
            "identity": {
                "methods": ["token"],
                "token": {"id": unscoped.headers["X-Subject-Token"]},
            },
            "scope": {"OS-TRUST:trust": {"id": trust["id"]}},
        }
    }
    response = api.client.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # But a trust token is not rescoped into another token.
    again = {
        "auth": {
            "identity": {
                "methods": ["token"],
                "token": {"id": response.headers["X-Subject-Token"]},
            },
            "scope": {"project": {"id": trustor.project_id}},
        }
    }
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=again), 403)


def test_only_the_trustee_uses_a_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    stranger = _trustee(api)
    assert_fault(_use(api, stranger, trust["id"]), 403)
    assert_fault(_use(api, trustee, "no-such-trust"), 401)
    trustor_itself = authenticate_by_id(
        api, trustor.user_id, trustor.password, {"OS-TRUST:trust": {"id": trust["id"]}}
    )
    assert_fault(trustor_itself, 403)


def test_remaining_uses_run_out(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, remaining_uses=2)
    assert trust["remaining_uses"] == 2
    first = _trust_token(api, trustee, trust["id"])
    shown = api.get(f"{TRUSTS}/{trust['id']}", token=trustor.token)
    assert shown.json()["trust"]["remaining_uses"] == 1
    second = _trust_token(api, trustee, trust["id"])
    assert_fault(_use(api, trustee, trust["id"]), 401)
    # Tokens already issued stay valid; the used-up trust is gone from view, as in Keystone.
    assert token_status(api, first) == 200
    assert token_status(api, second) == 200
    assert_fault(api.get(f"{TRUSTS}/{trust['id']}", token=trustor.token), 404)
    # Its trustor can still delete it.
    assert api.delete(f"{TRUSTS}/{trust['id']}", token=trustor.token).status_code == 204
    assert token_status(api, first) == 404


def test_racing_requests_never_exceed_remaining_uses(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, remaining_uses=3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda _: _use(api, trustee, trust["id"]).status_code, range(6)))
    assert sorted(codes) == [201, 201, 201, 401, 401, 401]


def test_deleting_a_trust_ends_its_tokens(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    token = _trust_token(api, trustee, trust["id"])
    assert token_status(api, token) == 200
    assert api.get(f"/projects/{trustor.project_id}", token=token).status_code == 200
    deleted = api.delete(f"{TRUSTS}/{trust['id']}", token=trustor.token)
    assert deleted.status_code == 204, deleted.text
    assert token_status(api, token) == 404
    assert_fault(api.get(f"/projects/{trustor.project_id}", token=token), 401)
    assert_fault(api.get(f"{TRUSTS}/{trust['id']}", token=trustor.token), 404)
    assert_fault(api.delete(f"{TRUSTS}/{trust['id']}", token=trustor.token), 404)
    assert_fault(_use(api, trustee, trust["id"]), 401)


def test_the_trustor_losing_the_role_ends_the_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    token = _trust_token(api, trustee, trust["id"])
    revoke(api, trustor.project_id, "member", user_id=trustor.user_id)
    assert token_status(api, token) == 404
    assert_fault(_use(api, trustee, trust["id"]), 403)


def test_deleting_a_delegated_role_ends_the_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    extra = create_role(api)
    grant(api, trustor.project_id, extra["name"], user_id=trustor.user_id)
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, roles=[{"name": "member"}, {"id": extra["id"]}])
    token = _trust_token(api, trustee, trust["id"])
    assert api.delete(f"/roles/{extra['id']}").status_code == 204
    assert token_status(api, token) == 404
    assert_fault(_use(api, trustee, trust["id"]), 403)


def test_the_trustors_password_change_ends_trust_tokens(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    token = _trust_token(api, trustee, trust["id"])
    changed = api.patch(
        f"/users/{trustor.user_id}", json={"user": {"password": unique("new-password")}}
    )
    assert changed.status_code == 200, changed.text
    assert token_status(api, token) == 404
    # The trust itself survives: a new token can be had.
    assert token_status(api, _trust_token(api, trustee, trust["id"])) == 200


def test_an_expiring_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).replace(tzinfo=None)
    trust = _trust(api, trustor, trustee.user_id, expires_at=soon.isoformat() + "Z")
    assert parse_time(trust["expires_at"]) == soon.replace(tzinfo=UTC)
    assert trust["expires_at"].endswith("Z")
    response = _use(api, trustee, trust["id"])
    assert response.status_code == 201, response.text
    # A token never outlives its trust.
    assert parse_time(response.json()["token"]["expires_at"]) == parse_time(trust["expires_at"])
    time.sleep(2.2)
    assert_fault(_use(api, trustee, trust["id"]), 401)
    assert_fault(api.get(f"{TRUSTS}/{trust['id']}", token=trustor.token), 404)


def test_who_may_see_and_delete_a_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee_user = persona(api, "member")
    stranger = persona(api, "member")
    trust = _trust(api, trustor, trustee_user.user_id)
    path = f"{TRUSTS}/{trust['id']}"
    assert api.get(path, token=trustee_user.token).status_code == 200
    assert api.get(f"{path}/roles", token=trustee_user.token).status_code == 200
    assert api.get(path).status_code == 200  # the admin
    for forbidden in (
        api.get(path, token=stranger.token),
        api.get(f"{path}/roles", token=stranger.token),
        api.get(f"{path}/roles/{role_id(api, 'member')}", token=stranger.token),
        api.get(TRUSTS, token=stranger.token, params={"trustor_user_id": trustor.user_id}),
        api.get(TRUSTS, token=stranger.token, params={"trustee_user_id": trustee_user.user_id}),
        api.get(TRUSTS, token=trustor.token),  # listing everything is for admins
        api.delete(path, token=stranger.token),
        api.delete(path, token=trustee_user.token),  # only the trustor (or an admin) deletes
    ):
        assert_fault(forbidden, 403)
    as_trustee = api.get(
        TRUSTS, token=trustee_user.token, params={"trustee_user_id": trustee_user.user_id}
    )
    assert [t["id"] for t in as_trustee.json()["trusts"]] == [trust["id"]]
    # The admin may delete any trust.
    assert api.delete(path).status_code == 204


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"impersonation": None}, 400),
        ({"impersonation": "yes"}, 400),
        ({"expires_at": "bad.123Z"}, 400),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 400),
        ({"remaining_uses": 0}, 400),
        ({"remaining_uses": "3"}, 400),
        ({"redelegation_count": -1}, 400),
        ({"roles": [{"id": "x", "name": "member"}]}, 400),
        ({"roles": [{}]}, 400),
        ({"roles": [{"name": "member", "extra": 1}]}, 400),
        ({"surprise": True}, 400),
        ({"allow_redelegation": True, "remaining_uses": 3}, 400),
        ({"roles": []}, 403),  # a project needs at least one role
        ({"allow_redelegation": True, "redelegation_count": 99}, 403),
        ({"roles": [{"name": "admin"}]}, 404),  # not held by the trustor
        ({"roles": [{"name": "no-such-role"}]}, 404),
        ({"project_id": "no-such-project"}, 404),
        ({"trustee_user_id": "no-such-user"}, 404),
    ],
)
def test_bad_trusts(api: IdentityApi, fields: dict[str, Any], code: int) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    assert_fault(_create(api, trustor, trustee.user_id, **fields), code)


def test_bad_trust_requests(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    other = persona(api, "member")
    trustee = _trustee(api)
    # The caller must be the trustor, even an admin.
    mine = {
        "trustor_user_id": other.user_id,
        "trustee_user_id": trustee.user_id,
        "impersonation": False,
    }
    assert_fault(api.post(TRUSTS, token=trustor.token, json={"trust": mine}), 403)
    assert_fault(api.post(TRUSTS, json={"trust": mine}), 403)
    assert_fault(api.post(TRUSTS, token=trustor.token, json={"trust": {}}), 400)
    unsaid = {"trustor_user_id": trustor.user_id, "trustee_user_id": trustee.user_id}
    assert_fault(api.post(TRUSTS, token=trustor.token, json={"trust": unsaid}), 400)
    assert_fault(api.post(TRUSTS, token=trustor.token, json={}), 400)
    # A trust scope is the only scope of its request, and names its trust.
    trust = _trust(api, trustor, trustee.user_id)
    both = {"OS-TRUST:trust": {"id": trust["id"]}, "project": {"id": trustor.project_id}}
    assert_fault(authenticate_by_id(api, trustee.user_id, trustee.password, both), 400)
    no_id: dict[str, Any] = {"OS-TRUST:trust": {}}
    assert_fault(authenticate_by_id(api, trustee.user_id, trustee.password, no_id), 400)
    assert_fault(api.get(f"{TRUSTS}/no-such-trust", token=trustor.token), 404)


def test_a_trust_token_cannot_make_application_credentials(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, impersonation=True)
    token = _trust_token(api, trustee, trust["id"])
    response = api.post(
        f"/users/{trustor.user_id}/application_credentials",
        token=token,
        json={"application_credential": {"name": unique("cred")}},
    )
    assert_fault(response, 403)


def test_redelegation(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    third = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id, allow_redelegation=True, redelegation_count=2)
    assert trust["redelegation_count"] == 2
    assert trust["allow_redelegation"] is True
    token = _trust_token(api, trustee, trust["id"])

    def redelegate(**fields: Any) -> Any:
        body = {
            "trustor_user_id": trustee.user_id,
            "trustee_user_id": third.user_id,
            "project_id": trustor.project_id,
            "impersonation": False,
            "roles": [{"name": "member"}],
            **fields,
        }
        return api.post(TRUSTS, token=token, json={"trust": body})

    # What a redelegation may not do.
    assert_fault(redelegate(impersonation=True), 403)
    assert_fault(redelegate(remaining_uses=1), 403)
    assert_fault(redelegate(project_id=create_project(api)["id"]), 403)
    assert_fault(redelegate(allow_redelegation=True, redelegation_count=2), 403)

    response = redelegate(allow_redelegation=True)
    assert response.status_code == 201, response.text
    child = response.json()["trust"]
    assert child["redelegated_trust_id"] == trust["id"]
    assert child["redelegation_count"] == 1
    assert child["trustor_user_id"] == trustee.user_id
    used = _use(api, third, child["id"])
    assert used.status_code == 201, used.text
    body = used.json()["token"]
    assert body["project"]["id"] == trustor.project_id
    assert sorted(r["name"] for r in body["roles"]) == ["member", "reader"]
    assert body["OS-TRUST:trust"]["redelegated_trust_id"] == trust["id"]
    assert body["OS-TRUST:trust"]["redelegation_count"] == 1
    child_token = used.headers["X-Subject-Token"]

    # The original trustor's roles still decide, and deleting the first trust ends the chain.
    assert api.delete(f"{TRUSTS}/{trust['id']}", token=trustor.token).status_code == 204
    assert token_status(api, child_token) == 404
    assert_fault(api.get(f"{TRUSTS}/{child['id']}"), 404)


def test_a_trust_without_redelegation_cannot_be_redelegated(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    third = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    token = _trust_token(api, trustee, trust["id"])
    body = {
        "trustor_user_id": trustee.user_id,
        "trustee_user_id": third.user_id,
        "project_id": trustor.project_id,
        "impersonation": False,
        "roles": [{"name": "member"}],
    }
    assert_fault(api.post(TRUSTS, token=token, json={"trust": body}), 403)


def test_deleting_the_trustee_or_the_project_deletes_the_trust(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    by_trustee = _trust(api, trustor, trustee.user_id)
    assert api.delete(f"/users/{trustee.user_id}").status_code == 204
    assert_fault(api.get(f"{TRUSTS}/{by_trustee['id']}"), 404)

    other = _trustee(api)
    by_project = _trust(api, trustor, other.user_id)
    token = _trust_token(api, other, by_project["id"])
    assert api.delete(f"/projects/{trustor.project_id}").status_code == 204
    assert_fault(api.get(f"{TRUSTS}/{by_project['id']}"), 404)
    assert token_status(api, token) == 404
    listed = api.get(TRUSTS, params={"trustor_user_id": trustor.user_id}).json()["trusts"]
    assert listed == []


def test_deleting_the_trustor_deletes_its_trusts(api: IdentityApi) -> None:
    trustor = persona(api, "member")
    trustee = _trustee(api)
    trust = _trust(api, trustor, trustee.user_id)
    assert api.delete(f"/users/{trustor.user_id}").status_code == 204
    assert_fault(api.get(f"{TRUSTS}/{trust['id']}"), 404)
    listed = api.get(TRUSTS, params={"trustee_user_id": trustee.user_id}).json()["trusts"]
    assert listed == []
