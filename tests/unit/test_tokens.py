"""Fernet keys, token payloads, revocation and password hashing."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

from vistack.identity.domain.fernet_keys import FernetKeyRepository
from vistack.identity.domain.models import RevocationEvent
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.revocation import RevocationIndex
from vistack.identity.domain.time import utcnow
from vistack.identity.domain.tokens import ScopeKind, TokenCodec, TokenPayload, new_audit_id


def _payload(user: str = "u1") -> TokenPayload:
    now = utcnow()
    return TokenPayload(
        user,
        ("password",),
        ScopeKind.PROJECT,
        "p1",
        now,
        now + timedelta(hours=1),
        (new_audit_id(),),
    )


def test_round_trip_and_tampering(tmp_path: Path) -> None:
    keys = FernetKeyRepository(tmp_path / "keys")
    keys.ensure()
    codec = TokenCodec(keys.current_cipher)
    payload = _payload()
    token = codec.encode(payload)
    assert codec.decode(token) == payload
    assert len(token) < 300
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert codec.decode(tampered) is None
    assert codec.decode("not-a-token") is None
    assert codec.decode("") is None


def test_rotation_keeps_old_tokens_valid_until_pruned(tmp_path: Path) -> None:
    keys = FernetKeyRepository(tmp_path / "keys", max_active_keys=3)
    keys.ensure()
    codec = TokenCodec(keys.current_cipher)
    first = codec.encode(_payload())
    keys.rotate()
    assert codec.decode(first) is not None
    second = codec.encode(_payload())
    keys.rotate()
    assert sorted(keys.keys()) == [0, 2, 3]
    assert codec.decode(first) is None  # its key (1) was pruned
    assert codec.decode(second) is not None


def test_trust_tokens_extend_the_payload_compatibly(tmp_path: Path) -> None:
    keys = FernetKeyRepository(tmp_path / "keys")
    keys.ensure()
    codec = TokenCodec(keys.current_cipher)
    trusted = dataclasses.replace(_payload(), trust_id="t1")
    assert codec.decode(codec.encode(trusted)) == trusted
    # A token without a trust keeps the nine-field layout older controllers read...
    plain = _payload()
    token = codec.encode(plain)
    body = json.loads(keys.current_cipher().decrypt(token + "=" * (-len(token) % 4)))
    assert len(body) == 9
    # ...and one written by an older controller still decodes.
    old = keys.current_cipher().encrypt(json.dumps(body).encode()).decode()
    assert TokenCodec(keys.current_cipher).decode(old) == plain
    too_long = keys.current_cipher().encrypt(json.dumps([*body, "t1", "x"]).encode()).decode()
    assert TokenCodec(keys.current_cipher).decode(too_long) is None


def test_staged_key_decrypts_before_promotion(tmp_path: Path) -> None:
    """A controller that got the staged key already validates the next primary's tokens."""
    keys = FernetKeyRepository(tmp_path / "keys")
    keys.ensure()
    other = FernetKeyRepository(tmp_path / "copy")
    other.directory.mkdir()
    for index, key in keys.keys().items():
        (other.directory / str(index)).write_bytes(key)
    keys.rotate()
    token = TokenCodec(keys.current_cipher).encode(_payload())
    assert TokenCodec(other.current_cipher).decode(token) is not None


def test_revocation_index() -> None:
    payload = _payload("u1")
    later = payload.issued_at + timedelta(seconds=1)
    prune = later + timedelta(hours=2)
    assert not RevocationIndex().is_revoked(payload)
    assert RevocationIndex([RevocationEvent(later, prune, user_id="u1")]).is_revoked(payload)
    assert not RevocationIndex([RevocationEvent(later, prune, user_id="u2")]).is_revoked(payload)
    before = payload.issued_at - timedelta(seconds=1)
    assert not RevocationIndex([RevocationEvent(before, prune, user_id="u1")]).is_revoked(payload)
    by_audit = RevocationEvent(later, prune, audit_id=payload.audit_ids[0])
    assert RevocationIndex([by_audit]).is_revoked(payload)


def test_password_hashing() -> None:
    hasher = PasswordHasher(rounds=4)
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$2b$04$")
    assert hasher.verify("correct horse", hashed)
    assert not hasher.verify("wrong", hashed)
    assert not hasher.verify("anything", None)
    long = "x" * 100
    assert hasher.verify(long, hasher.hash(long))


def test_application_credential_secrets_never_start_like_an_option() -> None:
    from unittest import mock

    from vistack.identity.domain import app_credentials

    # The first draw starts with "-" (base64url of 0xf8...): it is drawn again.
    draws = iter([b"\xf8" + b"\x00" * 63, b"\x00" * 64])
    with mock.patch("secrets.token_bytes", lambda _n: next(draws)):
        secret = app_credentials.new_secret()
    assert secret == "A" * 86
    assert all(not app_credentials.new_secret().startswith("-") for _ in range(500))
