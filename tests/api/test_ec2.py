"""OS-EC2 credentials and `POST /v3/ec2tokens`: create, list, show, delete EC2 keys; exchange
a correctly signed request (AWS signature v4, and v2) for a project-scoped token, and refuse
every other kind."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import IdentityApi
from tests.api.helpers import Persona, assert_fault, persona, revoke
from vistack.identity.domain.aws_signatures import EMPTY_BODY_HASH, SignedRequest, compute_signature

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

HOST = "ec2.vistack.test:8788"


def _ec2(api: IdentityApi, user: Persona, token: str | None = None, **body: Any) -> Any:
    return api.post(
        f"/users/{user.user_id}/credentials/OS-EC2",
        token=token or user.token,
        json=body or {"tenant_id": user.project_id},
    )


def _keys(api: IdentityApi, user: Persona) -> dict[str, Any]:
    response = _ec2(api, user)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["credential"]
    return credential


def _signed_v4(
    access: str, secret: str, when: datetime | None = None, action: str = "DescribeInstances"
) -> dict[str, Any]:
    """What an EC2 API forwards of a request signed with AWS signature version 4."""
    amz_date = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{access}/{amz_date[:8]}/RegionOne/ec2/aws4_request"
    headers = {
        "Host": HOST,
        "X-Amz-Date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date",
    }
    credentials = {
        "access": access,
        "host": HOST,
        "verb": "GET",
        "path": "/",
        "params": {"Action": action, "Version": "2016-11-15"},
        "headers": headers,
        "body_hash": EMPTY_BODY_HASH,
    }
    signature = compute_signature(secret, _signed_request(credentials))
    headers["Authorization"] += f", Signature={signature}"
    return {**credentials, "signature": signature}


def _signed_request(credentials: dict[str, Any]) -> SignedRequest:
    fields = {k: v for k, v in credentials.items() if k not in ("access", "signature")}
    return SignedRequest(credentials["access"], credentials.get("signature", ""), **fields)


def _ec2tokens(api: IdentityApi, credentials: Any, token: str | None = None) -> Any:
    return api.post("/ec2tokens", token=token, json={"credentials": credentials})


def test_os_ec2_create_list_show_delete(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    assert len(keys["access"]) == 32 and len(keys["secret"]) == 32
    assert (keys["user_id"], keys["tenant_id"], keys["trust_id"]) == (
        user.user_id,
        user.project_id,
        None,
    )
    path = f"/users/{user.user_id}/credentials/OS-EC2/{keys['access']}"
    assert keys["links"]["self"].endswith(f"/identity/v3{path}")

    second = _keys(api, user)
    listed = api.get(f"/users/{user.user_id}/credentials/OS-EC2", token=user.token)
    assert listed.status_code == 200, listed.text
    assert {c["access"] for c in listed.json()["credentials"]} == {
        keys["access"],
        second["access"],
    }
    assert api.get(path, token=user.token).json()["credential"] == keys

    # The same credential, seen through /v3/credentials.
    credential_id = hashlib.sha256(keys["access"].encode()).hexdigest()
    stored = api.get(f"/credentials/{credential_id}", token=user.token).json()["credential"]
    assert (stored["type"], stored["project_id"]) == ("ec2", user.project_id)
    assert json.loads(stored["blob"]) == {"access": keys["access"], "secret": keys["secret"]}

    assert api.delete(path, token=user.token).status_code == 204
    assert_fault(api.get(path, token=user.token), 404)
    assert_fault(api.delete(path, token=user.token), 404)
    assert_fault(api.get(f"/credentials/{credential_id}"), 404)


def test_os_ec2_policy_and_validation(api: IdentityApi) -> None:
    owner, stranger = persona(api), persona(api)
    keys = _keys(api, owner)
    mine = f"/users/{owner.user_id}/credentials/OS-EC2"
    assert_fault(_ec2(api, owner, token=stranger.token), 403)
    assert_fault(api.get(mine, token=stranger.token), 403)
    assert_fault(api.get(f"{mine}/{keys['access']}", token=stranger.token), 403)
    assert_fault(api.delete(f"{mine}/{keys['access']}", token=stranger.token), 403)
    # Under its own path a stranger finds nothing: the credential is not its own.
    theirs = f"/users/{stranger.user_id}/credentials/OS-EC2/{keys['access']}"
    assert_fault(api.get(theirs, token=stranger.token), 404)
    assert_fault(api.get(theirs), 404)

    assert api.get(mine).status_code == 200
    assert api.get(f"{mine}/{keys['access']}").status_code == 200
    assert_fault(_ec2(api, owner, tenant_id="nope"), 404)
    assert_fault(_ec2(api, owner, tenant_id=owner.project_id, colour="red"), 400)
    assert_fault(api.post(mine, token=owner.token, json={}), 400)
    assert_fault(api.get("/users/nope/credentials/OS-EC2"), 404)
    nobody = api.post("/users/nope/credentials/OS-EC2", json={"tenant_id": owner.project_id})
    assert_fault(nobody, 404)


def test_a_v4_signed_request_gets_a_project_scoped_token(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    response = _ec2tokens(api, _signed_v4(keys["access"], keys["secret"]))
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token["methods"] == ["ec2credential"]
    assert token["user"]["id"] == user.user_id
    assert token["project"]["id"] == user.project_id
    assert "member" in {r["name"] for r in token["roles"]}
    assert token["catalog"]
    subject = response.headers["X-Subject-Token"]
    validated = api.get("/auth/tokens", headers={"X-Subject-Token": subject})
    assert validated.status_code == 200, validated.text
    assert validated.json()["token"]["methods"] == ["ec2credential"]

    # The token is bound to the credential's project: it cannot be exchanged for another.
    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": subject}},
            "scope": {"project": {"id": user.project_id}},
        }
    }
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=rescope), 403)
    # Nor can it mint EC2 keys of its own.
    assert_fault(_ec2(api, user, token=subject), 403)
    # And the method cannot be asked for directly.
    direct = {"auth": {"identity": {"methods": ["ec2credential"]}}}
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=direct), 401)


def test_the_legacy_body_names_are_accepted(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    for name in ("credential", "ec2Credentials"):
        body = {name: _signed_v4(keys["access"], keys["secret"])}
        assert api.post("/ec2tokens", json=body).status_code == 200


def test_wrong_signatures_and_unknown_keys_are_refused(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    signed = _signed_v4(keys["access"], keys["secret"])
    assert_fault(_ec2tokens(api, {**signed, "signature": "0" * 64}), 401)
    assert_fault(_ec2tokens(api, _signed_v4(keys["access"], "not-the-secret")), 401)
    tampered = {**signed, "params": {**signed["params"], "Action": "TerminateInstances"}}
    assert_fault(_ec2tokens(api, tampered), 401)
    assert_fault(_ec2tokens(api, _signed_v4("unknown-access", keys["secret"])), 401)
    assert_fault(_ec2tokens(api, {k: v for k, v in signed.items() if k != "signature"}), 401)
    assert_fault(_ec2tokens(api, {k: v for k, v in signed.items() if k != "access"}), 401)
    v1 = {**signed, "params": {"SignatureVersion": "1", "Action": "x"}, "headers": {}}
    assert_fault(_ec2tokens(api, v1), 401)
    stale = _signed_v4(keys["access"], keys["secret"], datetime.now(UTC) - timedelta(hours=1))
    assert_fault(_ec2tokens(api, stale), 401)
    assert_fault(api.post("/ec2tokens", json={}), 400)
    assert_fault(api.get("/ec2tokens"), 405)


def test_only_services_and_admins_may_exchange_signatures(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    signed = _signed_v4(keys["access"], keys["secret"])
    anonymous = api.client.post("/identity/v3/ec2tokens", json={"credentials": signed})
    assert_fault(anonymous, 401)
    assert_fault(_ec2tokens(api, signed, token=user.token), 403)
    service = persona(api, "service")
    assert _ec2tokens(api, signed, token=service.token).status_code == 200


def test_a_deleted_credential_or_a_lost_role_authenticates_nothing(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    signed = _signed_v4(keys["access"], keys["secret"])
    assert _ec2tokens(api, signed).status_code == 200
    path = f"/users/{user.user_id}/credentials/OS-EC2/{keys['access']}"
    assert api.delete(path, token=user.token).status_code == 204
    assert_fault(_ec2tokens(api, signed), 401)

    other = persona(api)
    keys = _keys(api, other)
    signed = _signed_v4(keys["access"], keys["secret"])
    revoke(api, other.project_id, "member", user_id=other.user_id)
    assert_fault(_ec2tokens(api, signed), 401)

    disabled = persona(api)
    keys = _keys(api, disabled)
    signed = _signed_v4(keys["access"], keys["secret"])
    disabling = api.patch(f"/users/{disabled.user_id}", json={"user": {"enabled": False}})
    assert disabling.status_code == 200, disabling.text
    assert_fault(_ec2tokens(api, signed), 401)


def test_a_changed_access_key_redeems_neither_key(api: IdentityApi) -> None:
    user = persona(api)
    keys = _keys(api, user)
    credential_id = hashlib.sha256(keys["access"].encode()).hexdigest()
    blob = json.dumps({"access": "renamed", "secret": keys["secret"]})
    patched = api.patch(f"/credentials/{credential_id}", json={"credential": {"blob": blob}})
    assert patched.status_code == 200, patched.text
    assert_fault(_ec2tokens(api, _signed_v4(keys["access"], keys["secret"])), 401)
    assert_fault(_ec2tokens(api, _signed_v4("renamed", keys["secret"])), 401)


def test_delegated_blobs_are_never_redeemed(api: IdentityApi) -> None:
    user = persona(api)
    access, secret = "delegated-access", "delegated-secret"
    blob = json.dumps({"access": access, "secret": secret, "trust_id": "some-trust"})
    body = {"user_id": user.user_id, "project_id": user.project_id, "type": "ec2", "blob": blob}
    assert api.post("/credentials", json={"credential": body}).status_code == 201
    assert_fault(_ec2tokens(api, _signed_v4(access, secret)), 401)


def test_keystoneclient_signatures_v2_and_v4_are_accepted(api: IdentityApi) -> None:
    """Interoperability: requests signed by keystoneclient's `Ec2Signer`, which EC2 APIs use."""
    ec2_utils = pytest.importorskip("keystoneclient.contrib.ec2.utils")
    user = persona(api)
    keys = _keys(api, user)
    now = datetime.now(UTC)
    v2: dict[str, Any] = {
        "access": keys["access"],
        "host": HOST,
        "verb": "GET",
        "path": "/",
        "params": {
            "SignatureVersion": "2",
            "Action": "DescribeRegions",
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "AWSAccessKeyId": keys["access"],
        },
    }
    v2["signature"] = ec2_utils.Ec2Signer(keys["secret"]).generate(json.loads(json.dumps(v2)))
    assert _ec2tokens(api, v2).status_code == 200

    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    v4: dict[str, Any] = {
        "access": keys["access"],
        "host": HOST,
        "verb": "GET",
        "path": "/",
        "params": {"Action": "DescribeRegions", "Version": "2016-11-15"},
        "headers": {
            "Host": HOST,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={keys['access']}/{amz_date[:8]}/RegionOne/ec2/"
                "aws4_request, SignedHeaders=host;x-amz-date, Signature=x"
            ),
        },
        "body_hash": EMPTY_BODY_HASH,
    }
    v4["signature"] = ec2_utils.Ec2Signer(keys["secret"]).generate(v4)
    assert _ec2tokens(api, v4).status_code == 200
