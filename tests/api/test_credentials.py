"""`/v3/credentials`: CRUD, ec2 ids and blobs, ownership and policy, delegated tokens, and the
blobs' encryption at rest with their own keys (and the rotation that re-encrypts them)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.conftest import IdentityApi, build_test_cloud
from tests.api.helpers import Persona, assert_fault, create_user, persona, unique
from vistack.cli import main
from vistack.common.db import Database
from vistack.identity.db.tables import CredentialRow
from vistack.identity.db.unit_of_work import SqlIdentityStore
from vistack.identity.domain.credentials import rotate_credential_keys
from vistack.identity.domain.fernet_keys import FernetKeyRepository


def _ec2_blob(access: str | None = None, secret: str | None = None) -> str:
    return json.dumps({"access": access or uuid.uuid4().hex, "secret": secret or unique("secret")})


def _create(api: IdentityApi, token: str | None = None, **fields: Any) -> Any:
    return api.post("/credentials", token=token, json={"credential": fields})


def _created(api: IdentityApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    response = _create(api, token, **fields)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["credential"]
    return credential


def _ec2(api: IdentityApi, user: Persona, token: str | None = None) -> dict[str, Any]:
    return _created(
        api, token, user_id=user.user_id, project_id=user.project_id, type="ec2", blob=_ec2_blob()
    )


def _row(api: IdentityApi, credential_id: str) -> CredentialRow:
    with api.cloud.database.transaction() as session:
        row = session.scalar(select(CredentialRow).where(CredentialRow.id == credential_id))
        assert row is not None
        session.expunge(row)
        return row


def _credential_keys(api: IdentityApi) -> FernetKeyRepository:
    settings = api.cloud.settings
    return FernetKeyRepository(
        settings.credential_key_path, settings.identity.fernet_max_active_keys
    )


def test_create_show_update_delete(api: IdentityApi) -> None:
    user = persona(api)
    access = uuid.uuid4().hex
    blob = _ec2_blob(access, "s3cr3t")
    credential = _created(
        api, user_id=user.user_id, project_id=user.project_id, type="ec2", blob=blob
    )
    assert credential["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert (credential["user_id"], credential["project_id"]) == (user.user_id, user.project_id)
    assert (credential["type"], credential["blob"]) == ("ec2", blob)
    path = f"/credentials/{credential['id']}"
    assert credential["links"]["self"].endswith(f"/identity/v3{path}")
    assert api.get(path).json()["credential"] == credential

    new_blob = _ec2_blob(secret="n3w")
    updated = api.patch(path, json={"credential": {"blob": new_blob}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["credential"] == {**credential, "blob": new_blob}
    assert api.get(path).json()["credential"]["blob"] == new_blob
    # Clients echo the whole object back; unchanged immutable fields are fine.
    echoed = {"id": credential["id"], "user_id": user.user_id, "type": "ec2", "blob": blob}
    assert api.patch(path, json={"credential": echoed}).status_code == 200

    assert api.delete(path).status_code == 204
    assert_fault(api.get(path), 404)
    assert_fault(api.delete(path), 404)


def test_other_types_get_random_ids_and_need_no_project(api: IdentityApi) -> None:
    user = persona(api)
    credential = _created(api, user_id=user.user_id, type="cert", blob="-----BEGIN...")
    assert len(credential["id"]) == 32 and credential["project_id"] is None
    assert credential["blob"] == "-----BEGIN..."


def test_list_filters_by_user_and_type(api: IdentityApi) -> None:
    first, second = persona(api), persona(api)
    ec2 = _ec2(api, first)
    cert = _created(api, user_id=first.user_id, type="cert", blob="x")
    other = _ec2(api, second)

    def ids(**params: str) -> set[str]:
        response = api.get("/credentials", params=params)
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["credentials"]}

    assert {ec2["id"], cert["id"], other["id"]} <= ids()
    assert ids(user_id=first.user_id) == {ec2["id"], cert["id"]}
    assert ids(user_id=first.user_id, type="ec2") == {ec2["id"]}
    assert other["id"] in ids(type="ec2") and cert["id"] not in ids(type="ec2")


def test_invalid_credentials_are_refused(api: IdentityApi) -> None:
    user = persona(api)
    base = {"user_id": user.user_id, "type": "ec2", "project_id": user.project_id}
    assert_fault(_create(api, **{**base, "project_id": None, "blob": _ec2_blob()}), 400)
    for blob in ("not json", "[1]", '{"secret": "s"}', '{"access": ""}', '{"access": 1}'):
        assert_fault(_create(api, **base, blob=blob), 400)
    assert_fault(_create(api, **base, blob={"access": "a", "secret": "s"}), 400)
    assert_fault(_create(api, **base, blob=_ec2_blob(), colour="red"), 400)
    assert_fault(_create(api, user_id=user.user_id, blob="x"), 400)

    access = uuid.uuid4().hex
    _created(api, **base, blob=_ec2_blob(access))
    assert_fault(_create(api, **base, blob=_ec2_blob(access)), 409)
    assert_fault(_create(api, **{**base, "user_id": "nope"}, blob=_ec2_blob()), 404)
    assert_fault(_create(api, **{**base, "project_id": "nope"}, blob=_ec2_blob()), 404)


def test_updates_keep_id_owner_and_type(api: IdentityApi) -> None:
    user, other = persona(api), persona(api)
    credential = _ec2(api, user)
    path = f"/credentials/{credential['id']}"
    assert_fault(api.patch(path, json={"credential": {}}), 400)
    assert_fault(api.patch(path, json={"credential": {"user_id": other.user_id}}), 400)
    assert_fault(api.patch(path, json={"credential": {"type": "cert"}}), 400)
    assert_fault(api.patch(path, json={"credential": {"id": "other"}}), 400)
    assert_fault(api.patch(path, json={"credential": {"blob": "not json"}}), 400)
    assert_fault(api.patch(path, json={"credential": {"project_id": "nope"}}), 404)
    moved = api.patch(path, json={"credential": {"project_id": other.project_id}})
    assert moved.status_code == 200, moved.text
    assert api.get(path).json()["credential"]["project_id"] == other.project_id


def test_users_manage_only_their_own_credentials(api: IdentityApi) -> None:
    owner, stranger = persona(api), persona(api)
    mine = _ec2(api, owner, token=owner.token)
    assert mine["user_id"] == owner.user_id
    theirs = _ec2(api, stranger)
    path = f"/credentials/{theirs['id']}"

    refused = _create(
        api,
        owner.token,
        user_id=stranger.user_id,
        project_id=owner.project_id,
        type="ec2",
        blob=_ec2_blob(),
    )
    assert_fault(refused, 403)
    assert_fault(api.get(path, token=owner.token), 403)
    assert_fault(api.patch(path, token=owner.token, json={"credential": {"blob": "{}"}}), 403)
    assert_fault(api.delete(path, token=owner.token), 403)
    # A missing credential looks like someone else's to a user, and is a 404 to an admin.
    assert_fault(api.get("/credentials/nope", token=owner.token), 403)
    assert_fault(api.get("/credentials/nope"), 404)

    listed = api.get("/credentials", token=owner.token).json()["credentials"]
    assert [c["id"] for c in listed] == [mine["id"]]
    filtered = api.get("/credentials", token=owner.token, params={"user_id": stranger.user_id})
    assert filtered.json()["credentials"] == []
    assert api.get(f"/credentials/{mine['id']}", token=owner.token).status_code == 200
    updated = api.patch(
        f"/credentials/{mine['id']}", token=owner.token, json={"credential": {"blob": _ec2_blob()}}
    )
    assert updated.status_code == 200, updated.text
    assert api.delete(f"/credentials/{mine['id']}", token=owner.token).status_code == 204
    assert api.get(path).status_code == 200


def test_application_credential_tokens_stay_within_their_project(api: IdentityApi) -> None:
    user = persona(api)
    other_project = persona(api).project_id
    elsewhere = _created(api, user_id=user.user_id, project_id=other_project, type="cert", blob="x")
    unbound = _created(api, user_id=user.user_id, type="totp", blob="seed")
    body = {"application_credential": {"name": unique("robot")}}
    app_cred = api.post(
        f"/users/{user.user_id}/application_credentials", token=user.token, json=body
    ).json()["application_credential"]
    auth = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": app_cred["id"], "secret": app_cred["secret"]},
            }
        }
    }
    token = api.client.post("/identity/v3/auth/tokens", json=auth).headers["X-Subject-Token"]

    fields = {"user_id": user.user_id, "project_id": user.project_id}
    # An EC2 secret would outlive the application credential, with all of the user's roles.
    assert_fault(_create(api, token, **fields, type="ec2", blob=_ec2_blob()), 403)
    assert_fault(_create(api, token, user_id=user.user_id, type="cert", blob="x"), 403)
    own = _created(api, token, **fields, type="cert", blob="x")
    assert_fault(api.get(f"/credentials/{elsewhere['id']}", token=token), 403)
    assert_fault(api.get(f"/credentials/{unbound['id']}", token=token), 403)
    assert_fault(api.delete(f"/credentials/{elsewhere['id']}", token=token), 403)
    listed = api.get("/credentials", token=token).json()["credentials"]
    assert [c["id"] for c in listed] == [own["id"]]
    assert api.get("/credentials", token=user.token).json()["credentials"] != listed


def test_blobs_are_encrypted_at_rest_with_the_credential_keys(api: IdentityApi) -> None:
    user = persona(api)
    secret = unique("very-secret")
    credential = _created(
        api,
        user_id=user.user_id,
        project_id=user.project_id,
        type="ec2",
        blob=_ec2_blob(secret=secret),
    )
    row = _row(api, credential["id"])
    assert secret not in row.encrypted_blob
    assert credential["blob"] not in row.encrypted_blob

    keys = _credential_keys(api).keys()
    primary = keys[max(keys)]
    assert row.key_hash == hashlib.sha256(primary).hexdigest()
    assert Fernet(primary).decrypt(row.encrypted_blob.encode()).decode() == credential["blob"]
    token_keys = FernetKeyRepository(api.cloud.settings.fernet_key_path).keys()
    assert not set(token_keys.values()) & set(keys.values())
    token_cipher = MultiFernet([Fernet(k) for k in token_keys.values()])
    try:
        token_cipher.decrypt(row.encrypted_blob.encode())
        raise AssertionError("the token keys decrypted a credential")
    except InvalidToken:
        pass


def test_rotation_reencrypts_every_blob_so_old_keys_can_go(api: IdentityApi) -> None:
    user = persona(api)
    credentials = [_ec2(api, user) for _ in range(3)]
    repository = _credential_keys(api)
    original = set(repository.keys().values())
    store = SqlIdentityStore(api.cloud.database)
    for _ in range(repository.max_active_keys):
        result = rotate_credential_keys(store, repository)
        keys = repository.keys()
        primary_hash = hashlib.sha256(keys[result.primary]).hexdigest()
        for credential in credentials:
            assert _row(api, credential["id"]).key_hash == primary_hash
    assert not original & set(repository.keys().values()), "the old keys are all gone"
    for credential in credentials:
        shown = api.get(f"/credentials/{credential['id']}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["credential"]["blob"] == credential["blob"]
    created = _ec2(api, user)
    assert _row(api, created["id"]).key_hash == primary_hash


def test_credentials_go_with_their_project_and_their_user(api: IdentityApi) -> None:
    user = persona(api)
    by_project = _ec2(api, user)
    owner = create_user(api)
    by_user = _created(api, user_id=owner["id"], type="cert", blob="x")
    assert api.delete(f"/projects/{user.project_id}").status_code == 204
    assert_fault(api.get(f"/credentials/{by_project['id']}"), 404)
    assert api.delete(f"/users/{owner['id']}").status_code == 204
    assert_fault(api.get(f"/credentials/{by_user['id']}"), 404)


def test_the_cli_rotates_credential_keys_and_reencrypts(tmp_path: Path) -> None:
    """`vistack keys rotate --credential` on a stopped cloud's data dir (SQLite)."""
    data_dir = tmp_path / "data"
    cloud = build_test_cloud(data_dir)
    try:
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            api = IdentityApi(cloud, client)
            admin = api.get("/users", params={"name": "admin"}).json()["users"][0]
            credential = _created(api, user_id=admin["id"], type="cert", blob="top secret")
            token_keys = FernetKeyRepository(cloud.settings.fernet_key_path).keys()
            before = _row(api, credential["id"]).key_hash
    finally:
        cloud.close()

    result = CliRunner().invoke(
        main, ["keys", "rotate", "--credential", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "1 credentials re-encrypted" in result.output
    assert FernetKeyRepository(cloud.settings.fernet_key_path).keys() == token_keys

    keys = FernetKeyRepository(cloud.settings.credential_key_path).keys()
    primary = keys[max(keys)]
    database = Database.from_url(cloud.settings.database_url)
    try:
        with database.transaction() as session:
            row = session.get(CredentialRow, credential["id"])
            assert row is not None
            assert row.key_hash == hashlib.sha256(primary).hexdigest() != before
            assert Fernet(primary).decrypt(row.encrypted_blob.encode()) == b"top secret"
    finally:
        database.dispose()
