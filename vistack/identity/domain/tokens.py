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


def new_audit_id() -> str:
    """A URL-safe 22-character random id, the format Keystone uses for audit ids."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def _to_micros(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1_000_000)


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC).replace(tzinfo=None)


class TokenCodec:
    """Encrypts payloads into URL-safe token strings and back."""

    def __init__(self, cipher: Callable[[], MultiFernet]) -> None:
        self._cipher = cipher

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
        raw = json.dumps(body, separators=(",", ":")).encode()
        # Fernet's own base64 padding is noise in a header value; strip it and restore on decode.
        return self._cipher().encrypt(raw).decode("ascii").rstrip("=")

    def decode(self, token: str) -> TokenPayload | None:
        """The payload, or None for anything that is not a token signed by one of our keys."""
        if not token or len(token) > 1024:
            return None
        padded = token + "=" * (-len(token) % 4)
        try:
            body = json.loads(self._cipher().decrypt(padded.encode("ascii")))
            version, user_id, methods, scope, scope_id, issued, expires, audits, app_cred = body
            if version != PAYLOAD_VERSION:
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
            )
        except (InvalidToken, ValueError, TypeError, UnicodeError):
            return None
