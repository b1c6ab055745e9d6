"""Nova key pairs through HTTP at 2.1: generated and imported keys, Nova's views, per-user
ownership and policy, Nova's error messages, the `key_pairs` quota, and the public key a server
build injects; and at 2.2, key pair types (x509 certificates) and 2.2's status codes."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from tests.api.test_compute_flavors import fault
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.compute.api import microversion

member = persona_fixture("compute_api")
other = persona_fixture("compute_api")


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def openssh(key: Any, comment: str = "me@laptop") -> str:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{data.decode()} {comment}"


def create(api: ComputeApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("key"), **fields}
    response = api.post("/os-keypairs", token=token, json={"keypair": body})
    assert response.status_code == 200, response.text
    keypair: dict[str, Any] = response.json()["keypair"]
    return keypair


def names(api: ComputeApi, token: str | None = None, query: str = "") -> list[str]:
    response = api.get(f"/os-keypairs{query}", token=token)
    assert response.status_code == 200, response.text
    return [k["keypair"]["name"] for k in response.json()["keypairs"]]


def test_generate_a_key_pair(compute_api: ComputeApi, member: Persona) -> None:
    name = unique("gen")
    keypair = create(compute_api, member.token, name=name)
    assert set(keypair) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert keypair["name"] == name and keypair["user_id"] == member.user_id
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    private = serialization.load_pem_private_key(keypair["private_key"].encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    assert keypair["public_key"].split()[:2] == openssh(private).split()[:2]
    assert keypair["fingerprint"] == md5_fingerprint(keypair["public_key"])
    # The private half is never kept.
    shown = compute_api.get(f"/os-keypairs/{name}", token=member.token).json()["keypair"]
    assert "private_key" not in shown
    assert shown["public_key"] == keypair["public_key"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: rsa.generate_private_key(65537, 2048),
        ed25519.Ed25519PrivateKey.generate,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["rsa", "ed25519", "nistp256", "nistp384", "nistp521"],
)
def test_import_a_public_key(compute_api: ComputeApi, member: Persona, make: Any) -> None:
    public_key = openssh(make())
    keypair = create(compute_api, member.token, public_key=public_key)
    assert keypair == {
        "name": keypair["name"],
        "public_key": public_key,
        "fingerprint": md5_fingerprint(public_key),
        "user_id": member.user_id,
    }


def test_import_a_dsa_key(compute_api: ComputeApi, member: Persona) -> None:
    def string(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    numbers = [b"\x00" + bytes([0x80 + i]) * 128 for i in range(3)] + [b"\x05" * 128]
    blob = string(b"ssh-dss") + b"".join(string(n) for n in numbers)
    public_key = f"ssh-dss {base64.b64encode(blob).decode()} old@host"
    keypair = create(compute_api, member.token, public_key=public_key)
    assert keypair["fingerprint"] == md5_fingerprint(public_key)


def test_show_is_nova_s_view(compute_api: ComputeApi, member: Persona) -> None:
    name = unique("my key_v2")  # spaces are safe (dots only from 2.92)
    created = create(compute_api, member.token, name=name)
    response = compute_api.get(f"/os-keypairs/{name}", token=member.token)
    assert response.status_code == 200, response.text
    shown = response.json()["keypair"]
    assert set(shown) == {
        "name",
        "public_key",
        "fingerprint",
        "user_id",
        "id",
        "created_at",
        "updated_at",
        "deleted",
        "deleted_at",
    }
    assert shown["name"] == name and shown["user_id"] == member.user_id
    assert shown["fingerprint"] == created["fingerprint"]
    assert isinstance(shown["id"], int) and not isinstance(shown["id"], bool)
    assert (
        shown["id"]
        == compute_api.get(f"/os-keypairs/{name}", token=member.token).json()["keypair"]["id"]
    )
    assert shown["updated_at"] is None and shown["deleted"] is False
    assert shown["deleted_at"] is None
    # Nova's timestamp: microseconds, no zone.
    date, _, clock = shown["created_at"].partition("T")
    assert len(date) == 10 and len(clock) == 15 and clock[8] == "."


def test_list_is_the_caller_s(compute_api: ComputeApi, member: Persona, other: Persona) -> None:
    mine = create(compute_api, member.token)
    theirs = create(compute_api, other.token)
    response = compute_api.get("/os-keypairs", token=member.token)
    entry = next(k for k in response.json()["keypairs"] if k["keypair"]["name"] == mine["name"])
    assert entry == {
        "keypair": {
            "name": mine["name"],
            "public_key": mine["public_key"],
            "fingerprint": mine["fingerprint"],
        }
    }
    assert theirs["name"] not in names(compute_api, member.token)
    assert mine["name"] not in names(compute_api, other.token)
    # The same user sees them from any project.
    assert mine["name"] not in names(compute_api)
    fault(compute_api.get(f"/os-keypairs/{mine['name']}", token=other.token), 404)
    fault(compute_api.delete(f"/os-keypairs/{mine['name']}", token=other.token), 404)
    assert compute_api.get(f"/os-keypairs/{mine['name']}", token=member.token).status_code == 200


def test_admin_may_name_a_user(
    compute_api: ComputeApi, member: Persona, other: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From 2.10 (before it, Nova does not read `user_id`: see test_compute_microversions)."""
    monkeypatch.setattr(microversion, "MAX_VERSION", max(microversion.MAX_VERSION, (2, 10)))
    at_2_10 = {"OpenStack-API-Version": "compute 2.10"}
    keypair = create(compute_api, member.token)
    query = f"?user_id={member.user_id}"
    listed = compute_api.get(f"/os-keypairs{query}", headers=at_2_10).json()["keypairs"]
    assert keypair["name"] in [k["keypair"]["name"] for k in listed]
    path = f"/os-keypairs/{keypair['name']}{query}"
    shown = compute_api.get(path, headers=at_2_10).json()["keypair"]
    assert shown["user_id"] == member.user_id
    fault(compute_api.get(f"/os-keypairs{query}", token=other.token, headers=at_2_10), 403)
    fault(compute_api.get(path, token=other.token, headers=at_2_10), 403)
    fault(compute_api.delete(path, token=other.token, headers=at_2_10), 403)
    assert compute_api.delete(path, headers=at_2_10).status_code == 204
    assert keypair["name"] not in names(compute_api, member.token)


def test_delete(compute_api: ComputeApi, member: Persona) -> None:
    keypair = create(compute_api, member.token)
    path = f"/os-keypairs/{keypair['name']}"
    response = compute_api.delete(path, token=member.token)
    assert response.status_code == 202, response.text
    message = fault(compute_api.get(path, token=member.token), 404)
    assert message == f"Keypair {keypair['name']} not found for user {member.user_id}"
    fault(compute_api.delete(path, token=member.token), 404)
    # The name is free again.
    create(compute_api, member.token, name=keypair["name"])


def test_names_are_per_user(compute_api: ComputeApi, member: Persona, other: Persona) -> None:
    name = unique("shared")
    first = create(compute_api, member.token, name=name)
    second = create(compute_api, other.token, name=name)
    assert first["fingerprint"] != second["fingerprint"]


def test_duplicate_name_is_409(compute_api: ComputeApi, member: Persona) -> None:
    keypair = create(compute_api, member.token)
    response = compute_api.post(
        "/os-keypairs", token=member.token, json={"keypair": {"name": keypair["name"]}}
    )
    assert fault(response, 409) == f"Key pair '{keypair['name']}' already exists."


def test_names_compare_exactly(compute_api: ComputeApi, member: Persona) -> None:
    lower = unique("case")
    create(compute_api, member.token, name=lower)
    create(compute_api, member.token, name=lower.upper())
    fault(compute_api.get(f"/os-keypairs/{lower}%20", token=member.token), 404)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("key_/.\\@:", "Keypair data is invalid: Keypair name contains unsafe characters"),
        ("naïve", "Keypair data is invalid: Keypair name contains unsafe characters"),
        ("", "Keypair data is invalid: Keypair name must be string and between 1 and 255"),
        ("k" * 256, "Keypair data is invalid: Keypair name must be string and between 1 and 255"),
        (7, "Keypair data is invalid: Keypair name must be string and between 1 and 255"),
        (" padded ", "Keypair data is invalid: Keypair name can not start or end with"),
    ],
)
def test_bad_names(compute_api: ComputeApi, member: Persona, name: Any, message: str) -> None:
    response = compute_api.post(
        "/os-keypairs", token=member.token, json={"keypair": {"name": name}}
    )
    assert fault(response, 400).startswith(message)


@pytest.mark.parametrize(
    "public_key",
    [
        "",
        "ssh-rsa",
        "ssh-rsa " + "A" * 2048 + " openstack@ubuntu",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC8E57NKRqsUHpm1uNmkQoJMkA",
        "not a key at all",
    ],
)
def test_bad_public_keys(compute_api: ComputeApi, member: Persona, public_key: str) -> None:
    name = unique("bad")
    body = {"keypair": {"name": name, "public_key": public_key}}
    response = compute_api.post("/os-keypairs", token=member.token, json=body)
    assert fault(response, 400) == "Keypair data is invalid: failed to generate fingerprint"
    assert name not in names(compute_api, member.token)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"keypair": {}},
        {"keypair": "k"},
        {"keypair": {"name": "k", "type": "ssh"}},
        {"keypair": {"name": "k", "user_id": "u"}},
        {"keypair": {"name": "k", "public_key": None}},
        {"keypair": {"name": "k"}, "extra": 1},
        None,
    ],
)
def test_malformed_bodies(compute_api: ComputeApi, member: Persona, body: Any) -> None:
    if body is None:
        response = compute_api.post("/os-keypairs", token=member.token)
    else:
        response = compute_api.post("/os-keypairs", token=member.token, json=body)
    fault(response, 400)


def test_authentication_is_required(compute_api: ComputeApi) -> None:
    assert compute_api.client.get("/compute/v2.1/os-keypairs").status_code == 401


def test_key_pairs_quota(compute_api: ComputeApi) -> None:
    user = persona(compute_api.identity)
    path = f"/os-quota-sets/{user.project_id}"
    response = compute_api.put(path, json={"quota_set": {"key_pairs": 1}})
    assert response.status_code == 200, response.text
    create(compute_api, user.token)
    response = compute_api.post(
        "/os-keypairs", token=user.token, json={"keypair": {"name": unique("over")}}
    )
    assert fault(response, 403) == "Quota exceeded, too many key pairs."
    assert len(names(compute_api, user.token)) == 1


def test_concurrent_creates_keep_the_quota_exactly(compute_api: ComputeApi) -> None:
    user = persona(compute_api.identity)
    response = compute_api.put(
        f"/os-quota-sets/{user.project_id}", json={"quota_set": {"key_pairs": 2}}
    )
    assert response.status_code == 200, response.text
    public_key = openssh(ed25519.Ed25519PrivateKey.generate())

    def attempt(index: int) -> int:
        body = {"keypair": {"name": f"race-{index}", "public_key": public_key}}
        status: int = compute_api.post("/os-keypairs", token=user.token, json=body).status_code
        return status

    with ThreadPoolExecutor(6) as pool:
        statuses = Counter(pool.map(attempt, range(6)))
    assert statuses == Counter({200: 2, 403: 4})
    assert len(names(compute_api, user.token)) == 2


def test_concurrent_creates_of_one_name(compute_api: ComputeApi, member: Persona) -> None:
    name = unique("same")
    public_key = openssh(ed25519.Ed25519PrivateKey.generate())

    def attempt(_: int) -> int:
        body = {"keypair": {"name": name, "public_key": public_key}}
        status: int = compute_api.post("/os-keypairs", token=member.token, json=body).status_code
        return status

    with ThreadPoolExecutor(4) as pool:
        statuses = Counter(pool.map(attempt, range(4)))
    assert statuses == Counter({200: 1, 409: 3})


def test_public_key_for_build(compute_api: ComputeApi, member: Persona, other: Persona) -> None:
    keypairs = compute_api.cloud.compute.keypairs
    keypair = create(compute_api, member.token)

    def context_of(person: Persona) -> RequestContext:
        return RequestContext(
            "req-test",
            user_id=person.user_id,
            project_id=person.project_id,
            roles=("member", "reader"),
        )

    assert (
        keypairs.public_key_for_build(context_of(member), keypair["name"])
        == (keypair["public_key"])
    )
    for context, name in ((context_of(other), keypair["name"]), (context_of(member), "nope")):
        with pytest.raises(BadRequest) as caught:
            keypairs.public_key_for_build(context, name)
        assert caught.value.message == "Invalid key_name provided."


# ------------------------------------------------------------------ microversion 2.2: types

AT_2_2 = {"OpenStack-API-Version": "compute 2.2"}


@pytest.fixture
def serves_2_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key pairs are ready for 2.2 (the only change 2.2 makes); the service advertises it once
    `MAX_VERSION` is raised, which these tests do for themselves."""
    monkeypatch.setattr(microversion, "MAX_VERSION", max(microversion.MAX_VERSION, (2, 2)))


@pytest.mark.usefixtures("serves_2_2")
def test_2_2_shows_types_and_fixes_status_codes(compute_api: ComputeApi, member: Persona) -> None:
    name = unique("typed")
    response = compute_api.post(
        "/os-keypairs", token=member.token, headers=AT_2_2, json={"keypair": {"name": name}}
    )
    assert response.status_code == 201, response.text
    created = response.json()["keypair"]
    assert created["type"] == "ssh" and created["private_key"].startswith("-----BEGIN RSA")
    shown = compute_api.get(f"/os-keypairs/{name}", token=member.token, headers=AT_2_2)
    assert shown.json()["keypair"]["type"] == "ssh"
    listed = compute_api.get("/os-keypairs", token=member.token, headers=AT_2_2).json()
    entry = next(k["keypair"] for k in listed["keypairs"] if k["keypair"]["name"] == name)
    assert entry == {
        "name": name,
        "public_key": created["public_key"],
        "fingerprint": created["fingerprint"],
        "type": "ssh",
    }
    # At 2.1 the same key pair shows no type.
    assert (
        "type" not in compute_api.get(f"/os-keypairs/{name}", token=member.token).json()["keypair"]
    )
    deleted = compute_api.delete(f"/os-keypairs/{name}", token=member.token, headers=AT_2_2)
    assert deleted.status_code == 204, deleted.text


@pytest.mark.usefixtures("serves_2_2")
def test_2_2_generates_and_imports_x509_key_pairs(compute_api: ComputeApi, member: Persona) -> None:
    body = {"keypair": {"name": unique("cert"), "type": "x509"}}
    response = compute_api.post("/os-keypairs", token=member.token, headers=AT_2_2, json=body)
    assert response.status_code == 201, response.text
    made = response.json()["keypair"]
    assert made["type"] == "x509" and made["private_key"].startswith("-----BEGIN PRIVATE KEY")
    cert = x509.load_pem_x509_certificate(made["public_key"].encode())
    assert cert.subject.rfc4514_string() == f"CN={member.user_id}"
    digest = cert.fingerprint(hashes.SHA1()).hex()
    assert made["fingerprint"] == ":".join(digest[i : i + 2] for i in range(0, 40, 2))

    imported = {"name": unique("cert"), "type": "x509", "public_key": made["public_key"]}
    response = compute_api.post(
        "/os-keypairs", token=member.token, headers=AT_2_2, json={"keypair": imported}
    )
    assert response.status_code == 201, response.text
    assert response.json()["keypair"]["fingerprint"] == made["fingerprint"]
    assert "private_key" not in response.json()["keypair"]

    not_a_cert = {"name": unique("cert"), "type": "x509", "public_key": openssh(ed25519_key())}
    response = compute_api.post(
        "/os-keypairs", token=member.token, headers=AT_2_2, json={"keypair": not_a_cert}
    )
    assert "failed to generate X509 fingerprint" in fault(response, 400)


@pytest.mark.usefixtures("serves_2_2")
def test_type_is_refused_at_2_1_and_checked_at_2_2(
    compute_api: ComputeApi, member: Persona
) -> None:
    body = {"keypair": {"name": unique("typed"), "type": "ssh"}}
    assert "Additional properties" in fault(
        compute_api.post("/os-keypairs", token=member.token, json=body), 400
    )
    body["keypair"]["type"] = "pgp"
    message = fault(
        compute_api.post("/os-keypairs", token=member.token, headers=AT_2_2, json=body), 400
    )
    assert message == (
        "Invalid input for field/attribute type. Value: pgp. 'pgp' is not one of ['ssh', 'x509']"
    )


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()
