"""Application credentials: create, authenticate (by id, by name and user), expiry, role subsets,
and what deleting one (or taking its roles away) does to the tokens it issued."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    Persona,
    assert_fault,
    create_role,
    parse_time,
    persona,
    revoke,
    token_status,
    unique,
)


def _create(api: IdentityApi, user: Persona, **fields: Any) -> Any:
    body = {"application_credential": {"name": unique("cred"), **fields}}
    return api.post(f"/users/{user.user_id}/application_credentials", token=user.token, json=body)


def _credential(api: IdentityApi, user: Persona, **fields: Any) -> dict[str, Any]:
    response = _create(api, user, **fields)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["application_credential"]
    return credential


def _auth(api: IdentityApi, **method: Any) -> Any:
    body = {
        "auth": {
            "identity": {"methods": ["application_credential"], "application_credential": method}
        }
    }
    return api.client.post("/identity/v3/auth/tokens", json=body)


def test_create_and_read_an_application_credential(api: IdentityApi) -> None:
    user = persona(api, "member")
    credential = _credential(api, user, description="ci robot")
    assert credential["user_id"] == user.user_id
    assert credential["project_id"] == user.project_id
    assert credential["description"] == "ci robot"
    assert credential["expires_at"] is None
    assert credential["unrestricted"] is False
    assert sorted(r["name"] for r in credential["roles"]) == ["member", "reader"]
    assert len(credential["secret"]) >= 64

    base = f"/users/{user.user_id}/application_credentials"
    shown = api.get(f"{base}/{credential['id']}", token=user.token)
    assert shown.status_code == 200, shown.text
    expected = {k: v for k, v in credential.items() if k != "secret"}
    assert shown.json()["application_credential"] == expected
    listed = api.get(base, token=user.token).json()["application_credentials"]
    assert listed == [expected]
    by_name = api.get(base, token=user.token, params={"name": credential["name"]})
    assert [c["id"] for c in by_name.json()["application_credentials"]] == [credential["id"]]


def test_authenticate_with_id_and_secret(api: IdentityApi) -> None:
    user = persona(api, "member")
    credential = _credential(api, user)
    response = _auth(api, id=credential["id"], secret=credential["secret"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["methods"] == ["application_credential"]
    assert token["user"]["id"] == user.user_id
    assert token["project"]["id"] == user.project_id
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    assert token["application_credential"] == {
        "id": credential["id"],
        "name": credential["name"],
        "restricted": True,
    }
    subject = response.headers["X-Subject-Token"]
    assert api.get(f"/users/{user.user_id}", token=subject).status_code == 200


def test_authenticate_with_name_and_user(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user, secret="my-own-secret")
    assert credential["secret"] == "my-own-secret"
    by_user_id = _auth(
        api, name=credential["name"], user={"id": user.user_id}, secret="my-own-secret"
    )
    assert by_user_id.status_code == 201, by_user_id.text
    by_user_name = _auth(
        api,
        name=credential["name"],
        user={"name": user.name, "domain": {"name": "Default"}},
        secret="my-own-secret",
    )
    assert by_user_name.status_code == 201, by_user_name.text
    assert by_user_name.json()["token"]["application_credential"]["id"] == credential["id"]


def test_wrong_secret_or_unknown_credential_is_401(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user)
    assert_fault(_auth(api, id=credential["id"], secret="wrong"), 401)
    assert_fault(_auth(api, id="nope", secret=credential["secret"]), 401)
    assert_fault(
        _auth(api, name="nope", user={"id": user.user_id}, secret=credential["secret"]), 401
    )


def test_a_role_subset(api: IdentityApi) -> None:
    user = persona(api, "member")
    credential = _credential(api, user, roles=[{"name": "reader"}])
    assert [r["name"] for r in credential["roles"]] == ["reader"]
    token = _auth(api, id=credential["id"], secret=credential["secret"]).json()["token"]
    assert [r["name"] for r in token["roles"]] == ["reader"]


def test_roles_the_user_does_not_hold_cannot_be_delegated(api: IdentityApi) -> None:
    user = persona(api, "reader")
    assert_fault(_create(api, user, roles=[{"name": "member"}]), 400)
    assert_fault(_create(api, user, roles=[{"id": create_role(api)["id"]}]), 400)
    assert_fault(_create(api, user, roles=[{"name": "no-such-role"}]), 400)


def test_duplicate_name_is_409(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user)
    assert_fault(_create(api, user, name=credential["name"]), 409)


def test_expires_at(api: IdentityApi) -> None:
    user = persona(api)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert_fault(_create(api, user, expires_at=past), 400)
    assert_fault(_create(api, user, expires_at="tomorrow"), 400)

    soon = datetime.now(UTC) + timedelta(seconds=0.8)
    credential = _credential(api, user, expires_at=soon.isoformat())
    assert parse_time(credential["expires_at"]) == soon
    response = _auth(api, id=credential["id"], secret=credential["secret"])
    assert response.status_code == 201, response.text
    # A token never outlives the credential that issued it.
    assert parse_time(response.json()["token"]["expires_at"]) == parse_time(
        credential["expires_at"]
    )
    subject = response.headers["X-Subject-Token"]

    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    assert_fault(_auth(api, id=credential["id"], secret=credential["secret"]), 401)
    assert token_status(api, subject) == 404


def test_deleting_a_credential_invalidates_its_tokens(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user)
    subject = _auth(api, id=credential["id"], secret=credential["secret"]).headers[
        "X-Subject-Token"
    ]
    assert token_status(api, subject) == 200
    path = f"/users/{user.user_id}/application_credentials/{credential['id']}"
    assert api.delete(path, token=user.token).status_code == 204
    assert token_status(api, subject) == 404
    assert_fault(api.get(f"/users/{user.user_id}", token=subject), 401)
    assert_fault(_auth(api, id=credential["id"], secret=credential["secret"]), 401)
    assert_fault(api.get(path, token=user.token), 404)
    assert_fault(api.delete(path, token=user.token), 404)


def test_losing_a_delegated_role_invalidates_the_credential(api: IdentityApi) -> None:
    user = persona(api, "member")
    credential = _credential(api, user)
    subject = _auth(api, id=credential["id"], secret=credential["secret"]).headers[
        "X-Subject-Token"
    ]
    revoke(api, user.project_id, "member", user_id=user.user_id)
    assert token_status(api, subject) == 404
    assert _auth(api, id=credential["id"], secret=credential["secret"]).status_code in (401, 404)


def test_deleting_the_user_deletes_its_credentials(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user)
    subject = _auth(api, id=credential["id"], secret=credential["secret"]).headers[
        "X-Subject-Token"
    ]
    assert api.delete(f"/users/{user.user_id}").status_code == 204
    assert token_status(api, subject) == 404
    assert_fault(_auth(api, id=credential["id"], secret=credential["secret"]), 401)


def test_a_credential_token_cannot_make_tokens_or_credentials(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user)
    subject = _auth(api, id=credential["id"], secret=credential["secret"]).headers[
        "X-Subject-Token"
    ]
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": subject}}}}
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=rescope), 403)
    body = {"application_credential": {"name": unique("cred")}}
    response = api.post(f"/users/{user.user_id}/application_credentials", token=subject, json=body)
    assert_fault(response, 403)


def test_an_unrestricted_credential_may_create_another(api: IdentityApi) -> None:
    user = persona(api)
    credential = _credential(api, user, unrestricted=True)
    auth = _auth(api, id=credential["id"], secret=credential["secret"])
    assert auth.json()["token"]["application_credential"]["restricted"] is False
    body = {"application_credential": {"name": unique("cred")}}
    response = api.post(
        f"/users/{user.user_id}/application_credentials",
        token=auth.headers["X-Subject-Token"],
        json=body,
    )
    assert response.status_code == 201, response.text


def test_credentials_belong_to_their_user(api: IdentityApi) -> None:
    owner, other = persona(api), persona(api)
    credential = _credential(api, owner)
    base = f"/users/{owner.user_id}/application_credentials"
    assert_fault(api.get(base, token=other.token), 403)
    assert_fault(api.get(f"{base}/{credential['id']}", token=other.token), 403)
    assert_fault(api.delete(f"{base}/{credential['id']}", token=other.token), 403)
    body = {"application_credential": {"name": unique("cred")}}
    assert_fault(api.post(base, token=other.token, json=body), 403)
    # Looking it up under another user's path finds nothing.
    assert_fault(
        api.get(
            f"/users/{other.user_id}/application_credentials/{credential['id']}",
            token=other.token,
        ),
        404,
    )


def test_an_unscoped_token_cannot_create_a_credential(api: IdentityApi) -> None:
    user = persona(api)
    unscoped = api.client.post(
        "/identity/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user.user_id, "password": user.password}},
                },
                "scope": "unscoped",
            }
        },
    ).headers["X-Subject-Token"]
    body = {"application_credential": {"name": unique("cred")}}
    response = api.post(f"/users/{user.user_id}/application_credentials", token=unscoped, json=body)
    assert response.status_code in (400, 403), response.text


def test_deleting_a_delegated_role_makes_the_credential_unusable(api: IdentityApi) -> None:
    user = persona(api, "member")
    extra = create_role(api)
    grant = f"/projects/{user.project_id}/users/{user.user_id}/roles/{extra['id']}"
    assert api.put(grant).status_code == 204
    credential = _credential(api, user, roles=[{"id": extra["id"]}, {"name": "reader"}])
    assert sorted(r["name"] for r in credential["roles"]) == sorted([extra["name"], "reader"])
    subject = _auth(api, id=credential["id"], secret=credential["secret"]).headers[
        "X-Subject-Token"
    ]
    assert api.delete(f"/roles/{extra['id']}").status_code == 204
    # The credential must not quietly go on with fewer roles than it was made with.
    assert token_status(api, subject) == 404
    assert _auth(api, id=credential["id"], secret=credential["secret"]).status_code in (401, 404)
