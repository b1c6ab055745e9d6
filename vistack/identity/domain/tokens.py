"""Fernet token payloads: what a token carries, and its encryption.

A token is self-contained: user, methods, scope, expiry, issue time and audit chain. Nothing is
stored per token, so any controller holding the keys validates any token (the HA topology needs
exactly that). What can change after issue (roles, enabled flags, the catalog) is re-derived at
validation time, and revocation is a short list of events, not a token table.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cryptography.fernet import InvalidToken, MultiFernet

PAYLOAD_VERSION = 1


class ScopeKind(StrEnum):
    UNSCOPED = "u"
    PROJECT = "p"
    DOMAIN = "d"
    SYSTEM = "s"


@dataclass(frozen=True)
class TokenPayload:
    user_id: str
    methods: tuple[str, ...]
    scope_kind: ScopeKind
    scope_id: str | None
    issued_at: datetime
    expires_at: datetime
    audit_ids: tuple[str, ...]
    application_credential_id: str | None = None
    #: For a token obtained through a trust: the trust (`user_id` is then its trustee).
    trust_id: str | None = None


def new_audit_id() -> str:
    """A URL-safe 22-character random id, the format Keystone uses for audit ids."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def _to_micros(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1_000_000)


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC).replace(tzinfo=None)


class TokenCodec:
    """Encrypts payloads into URL-safe token strings and back."""

    def __init__(self, cipher: Callable[[], MultiFernet], memo_size: int = 10_000) -> None:
        self._cipher = cipher
        self._memo_size = memo_size
        self._memo: dict[str, TokenPayload] = {}
        self._memo_cipher: MultiFernet | None = None

    def encode(self, payload: TokenPayload) -> str:
        body = [
            PAYLOAD_VERSION,
            payload.user_id,
            list(payload.methods),
            payload.scope_kind.value,
            payload.scope_id,
            _to_micros(payload.issued_at),
            _to_micros(payload.expires_at),
            list(payload.audit_ids),
            payload.application_credential_id,
        ]
        if payload.trust_id is not None:
            # Optional trailing fields keep PAYLOAD_VERSION: every other token stays readable
            # by a controller that predates them (mid-upgrade), and a trust token is refused
            # by one (it cannot check the trust), which is the safe way round.
            body.append(payload.trust_id)
        raw = json.dumps(body, separators=(",", ":")).encode()
        # Fernet's own base64 padding is noise in a header value; strip it and restore on decode.
        return self._cipher().encrypt(raw).decode("ascii").rstrip("=")

    def decode(self, token: str) -> TokenPayload | None:
        """The payload, or None for anything that is not a token signed by one of our keys.

        Decrypted payloads are memoised per key set: a token is validated many times (once per
        API call it authorises), and decryption was a tenth of a validation. A key rotation
        replaces the cipher and so empties the memo; expiry and revocation are checked by the
        caller every time, so the memo never extends a token's life.
        """
        cipher = self._cipher()
        if cipher is not self._memo_cipher:
            self._memo = {}
            self._memo_cipher = cipher
        payload = self._memo.get(token)
        if payload is None:
            payload = self._decrypt(token)
            if payload is not None:
                if len(self._memo) >= self._memo_size:
                    self._memo.clear()
                self._memo[token] = payload
        return payload

    def _decrypt(self, token: str) -> TokenPayload | None:
        if not token or len(token) > 1024:
            return None
        padded = token + "=" * (-len(token) % 4)
        try:
            body = json.loads(self._cipher().decrypt(padded.encode("ascii")))
            version, user_id, methods, scope, scope_id, issued, expires, audits, app_cred = body[:9]
            trust_id = body[9] if len(body) == 10 else None
            if version != PAYLOAD_VERSION or len(body) > 10:
                return None
            if trust_id is not None and not isinstance(trust_id, str):
                return None
            return TokenPayload(
                user_id=user_id,
                methods=tuple(methods),
                scope_kind=ScopeKind(scope),
                scope_id=scope_id,
                issued_at=_from_micros(issued),
                expires_at=_from_micros(expires),
                audit_ids=tuple(audits),
                application_credential_id=app_cred,
                trust_id=trust_id,
            )
        except (InvalidToken, ValueError, TypeError, UnicodeError):
            return None
