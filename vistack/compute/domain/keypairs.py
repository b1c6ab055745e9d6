"""Key pairs: a user's SSH public keys, imported or generated here (the private half is shown
once, in the create's answer, and never kept), with Nova 2.1's rules and messages; from
microversion 2.2 a key pair has a `type`, `ssh` or `x509` (a certificate, which Windows guests
use for WinRM), as in Nova.

Key pairs belong to a user, not to a project: the same user sees the same ones whatever project
the token is scoped to. The `key_pairs` quota is checked in the transaction that adds the row.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import keypairs as queries
from vistack.compute.db.store import Collision, ComputeStore
from vistack.compute.db.tables import KeypairRow
from vistack.compute.domain.quotas import ComputeQuotas

#: The only type Nova 2.1 knows, and the default from 2.2 on.
SSH = "ssh"
#: An X.509 certificate (with its RSA key when generated), from microversion 2.2.
X509 = "x509"
TYPES = (SSH, X509)
#: Nova's safe characters for a name before 2.92: letters, digits, ' ', '_' and '-'.
_NAME = re.compile(r"^[a-zA-Z0-9 _-]+$")
#: From 2.92 Nova also takes '@' and '.' in a name.
_NAME_2_92 = re.compile(r"^[a-zA-Z0-9 _.@-]+$")
CREATE_FIELDS = frozenset({"name", "public_key"})
#: From microversion 2.2 a create may name the key pair's type.
TYPED_CREATE_FIELDS = CREATE_FIELDS | {"type"}
GENERATED_COMMENT = "Generated-by-Nova"
RSA_BITS = 2048
#: A generated certificate's life, as Nova's (`openssl req -days 3650`).
X509_DAYS = 3650
#: Microsoft's User Principal Name, the subjectAltName WinRM maps a certificate to a user with.
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
#: Attempts at a create that met a concurrent write on the same keys.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Keypair:
    """A user's key pair as the API shows it."""

    user_id: str
    name: str
    type: str
    public_key: str
    fingerprint: str
    created_at: datetime

    @property
    def number(self) -> int:
        """Nova's integer `id`. There is no counter column: it is derived from the key's
        identity (owner and name), the first 31 bits of their SHA-256, so it is stable across
        reads and restarts and positive in a signed 32-bit integer like Nova's. Two key pairs
        may share one; nothing takes a key pair by this id."""
        digest = hashlib.sha256(f"{self.user_id}\0{self.name}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def to_keypair(row: KeypairRow) -> Keypair:
    return Keypair(
        user_id=row.user_id,
        name=row.name,
        type=row.type,
        public_key=row.public_key,
        fingerprint=row.fingerprint,
        created_at=row.created_at,
    )


def to_row(keypair: Keypair) -> KeypairRow:
    return KeypairRow(
        user_id=keypair.user_id,
        name=keypair.name,
        type=keypair.type,
        public_key=keypair.public_key,
        fingerprint=keypair.fingerprint,
        created_at=keypair.created_at,
    )


def keypair_not_found(name: str, user_id: str) -> NotFound:
    return NotFound(f"Keypair {name} not found for user {user_id}")


def invalid_keypair(reason: str) -> BadRequest:
    return BadRequest(f"Keypair data is invalid: {reason}")


class KeypairService:
    """Every key pair operation of the API, called with the caller's context."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, quotas: ComputeQuotas) -> None:
        self._store = store
        self._policy = policy
        self._quotas = quotas

    def list(self, context: RequestContext, user_id: str | None = None) -> list[Keypair]:
        """The caller's key pairs (another user's for an administrator naming `user_id`)."""
        owner = self._owner(context, "index", user_id)
        with self._store.transaction() as unit:
            rows = queries.of_user(unit, owner)
            return sorted((to_keypair(row) for row in rows), key=lambda k: k.name)

    def get(self, context: RequestContext, name: str, user_id: str | None = None) -> Keypair:
        """:raises NotFound: the user has no key pair of that name."""
        owner = self._owner(context, "show", user_id)
        with self._store.transaction() as unit:
            row = queries.get(unit, owner, name)
            if row is None:
                raise keypair_not_found(name, owner)
            return to_keypair(row)

    def create(
        self,
        context: RequestContext,
        body: Any,
        *,
        typed: bool = False,
        user_id: str | None = None,
        import_only: bool = False,
    ) -> tuple[Keypair, str | None]:
        """Import `public_key`, or generate a key pair when none is given; returns the key pair
        and the generated private key (None when imported). `typed` (microversion 2.2 and
        later) accepts a `type`: `ssh` (the default) or `x509`, whose public key is a PEM
        certificate.

        :raises BadRequest: a malformed body, an unsafe name, a key that is not of its type.
        :raises QuotaExceeded: the user has as many key pairs as the quota allows.
        :raises Conflict: the user has a key pair of that name.
        """
        owner = self._owner(context, "create", user_id)  # user_id: 2.10, admins only
        name, public_key, kind = parse_create(body, typed=typed, import_only=import_only)
        private_key: str | None = None
        if public_key is None:
            if kind == X509:
                private_key, public_key = generate_x509_certificate(owner)
            else:
                private_key, public_key = generate_key_pair()
        keypair = Keypair(
            user_id=owner,
            name=name,
            type=kind,
            public_key=public_key,
            fingerprint=x509_fingerprint(public_key) if kind == X509 else fingerprint(public_key),
            created_at=utcnow(),
        )
        exists = Conflict(f"Key pair '{name}' already exists.")
        if context.project_id:
            # Creates are serialised on the project's lock row, so two requests cannot both
            # take the last key pair the quota allows. The row is made beforehand, in its own
            # transaction: the lock must be the first statement of the one that writes.
            self._store.ensure_project(context.project_id)
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    if context.project_id:
                        unit.lock_project(context.project_id)
                    self._quotas.check_keypairs(
                        unit, user_id=owner, project_id=context.project_id, requested=1
                    )
                    if queries.get(unit, owner, name) is not None:
                        raise exists
                    queries.create(unit, to_row(keypair))
                return keypair, private_key
            except Collision:
                # A concurrent create of this name: the next attempt answers 409.
                if attempt == WRITE_ATTEMPTS - 1:
                    raise exists from None
        raise exists  # not reached: the last attempt returns or raises

    def delete(self, context: RequestContext, name: str, user_id: str | None = None) -> None:
        """:raises NotFound: the user has no key pair of that name."""
        owner = self._owner(context, "delete", user_id)
        with self._store.transaction() as unit:
            row = queries.get(unit, owner, name)
            if row is None:
                raise keypair_not_found(name, owner)
            unit.delete(row)

    def public_key_for_build(self, context: RequestContext, name: str) -> str:
        """The public key of the caller's key pair `name`, which a server build injects.

        :raises BadRequest: the caller has no key pair of that name.
        """
        with self._store.transaction() as unit:
            row = queries.get(unit, context.user_id or "", name)
            if row is None:
                raise BadRequest("Invalid key_name provided.")
            return row.public_key

    def _owner(self, context: RequestContext, action: str, user_id: str | None) -> str:
        """Whose key pairs the request is about (the caller's unless `user_id` names another
        user, which the policy allows administrators only)."""
        owner = user_id or context.user_id or ""
        self._policy.authorize(f"os_compute_api:os-keypairs:{action}", context, {"user_id": owner})
        return owner


def parse_create(
    body: Any, *, typed: bool = False, import_only: bool = False
) -> tuple[str, str | None, str]:
    """(name, public key or None, type) of `{"keypair": {"name", "public_key"?}}`, with
    `"type"?` too when `typed` (microversion 2.2 and later; before, the type is `ssh`);
    `import_only` (2.92 and later): `public_key` required, '@' and '.' allowed in the name.

    :raises BadRequest: with Nova's wording.
    """
    if not isinstance(body, dict) or "keypair" not in body:
        raise BadRequest(
            "Invalid input for field/attribute keypair. 'keypair' is a required property"
        )
    _refuse_extra(body, {"keypair"})
    fields = body["keypair"]
    if not isinstance(fields, dict):
        raise BadRequest(
            f"Invalid input for field/attribute keypair. Value: {fields}. "
            f"{fields!r} is not of type 'object'"
        )
    _refuse_extra(fields, TYPED_CREATE_FIELDS if typed else CREATE_FIELDS)
    if "name" not in fields:
        raise BadRequest("Invalid input for field/attribute keypair. 'name' is a required property")
    name = validate_name(fields["name"], import_only=import_only)
    if import_only and "public_key" not in fields:  # 2.92: no more generated key pairs
        raise BadRequest(
            "Invalid input for field/attribute keypair. 'public_key' is a required property"
        )
    public_key = fields.get("public_key")
    if "public_key" in fields and not isinstance(public_key, str):
        raise BadRequest(
            f"Invalid input for field/attribute public_key. Value: {public_key}. "
            f"{public_key!r} is not of type 'string'"
        )
    kind = fields.get("type", SSH)
    if kind not in TYPES:
        raise BadRequest(
            f"Invalid input for field/attribute type. Value: {kind}. {kind!r} is not one of "
            f"{list(TYPES)!r}"
        )
    return name, public_key, kind


def validate_name(name: Any, *, import_only: bool = False) -> str:
    """A key pair name: 1 to 255 of letters, digits, spaces, '_' and '-' (and from 2.92, when
    `import_only`, '@' and '.'), not starting or ending with a space.

    :raises BadRequest: Nova's "Keypair data is invalid: ..." with the reason.
    """
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise invalid_keypair("Keypair name must be string and between 1 and 255 characters long")
    if not (_NAME_2_92 if import_only else _NAME).match(name):
        raise invalid_keypair("Keypair name contains unsafe characters")
    if name != name.strip():
        raise invalid_keypair("Keypair name can not start or end with whitespace")
    return name


def fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key: the MD5 of its key blob, as colon-separated
    lowercase hex pairs (what `ssh-keygen -E md5 -l` prints after "MD5:").

    The key must be a well-formed RSA, ECDSA, Ed25519 or DSA key (the line of an `.pub` file,
    comment optional): a truncated or corrupted key is refused here, not at the first boot that
    cannot use it. `cryptography` checks all but DSA, whose support it deprecates and will
    drop; a DSA key's structure is checked here.

    :raises BadRequest: "Keypair data is invalid: failed to generate fingerprint".
    """
    parts = public_key.strip().split()
    try:
        blob = base64.b64decode(parts[1], validate=True)
        if parts[0] == "ssh-dss":
            if not _is_dsa_blob(blob):
                raise ValueError("not a DSA public key")
        else:
            serialization.load_ssh_public_key(" ".join(parts).encode("utf-8"))
    except Exception:  # ValueError, binascii.Error, UnsupportedAlgorithm, IndexError...
        raise invalid_keypair("failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _is_dsa_blob(blob: bytes) -> bool:
    """RFC 4253's ssh-dss key: the type, then p, q, g and y (non-empty), nothing after."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return False
        size = int.from_bytes(blob[offset : offset + 4], "big")
        offset += 4
        if offset + size > len(blob):
            return False
        fields.append(blob[offset : offset + size])
        offset += size
    return len(fields) == 5 and fields[0] == b"ssh-dss" and all(fields[1:])


def generate_key_pair() -> tuple[str, str]:
    """(private key, public key) of a new RSA 2048 key, as Nova gives them: the private key in
    the traditional PEM format ("BEGIN RSA PRIVATE KEY", which every ssh client reads), the
    public one in OpenSSH's format with Nova's comment."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, f"{public.decode('ascii')} {GENERATED_COMMENT}"


def x509_fingerprint(certificate: str) -> str:
    """Nova's fingerprint of an x509 key pair: the SHA-1 of its PEM certificate's DER form, as
    colon-separated lowercase hex pairs.

    :raises BadRequest: "Keypair data is invalid: failed to generate X509 fingerprint...".
    """
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise invalid_keypair(
            f"failed to generate X509 fingerprint. Error message: {exc}"
        ) from None
    digest = cert.fingerprint(hashes.SHA1()).hex()  # Nova's fingerprint: SHA-1, not a MAC
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate_x509_certificate(user_id: str) -> tuple[str, str]:
    """(private key, certificate) of a new x509 key pair, as Nova makes them for WinRM: a
    self-signed certificate for `CN=<user id>` with the client-authentication usage and the
    user principal name `<user id>@localhost`, valid for ten years, on an RSA 2048 key (both
    in PEM, the key in PKCS#8)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = utcnow()
    upn = der_utf8_string(f"{user_id}@localhost")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=X509_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(UPN_OID, upn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return private, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def der_utf8_string(text: str) -> bytes:
    """`text` as a DER UTF8String (tag 12, definite length), the value of a UPN otherName."""
    data = text.encode("utf-8")
    size = len(data)
    if size < 0x80:
        return bytes([0x0C, size]) + data
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + data


def _refuse_extra(fields: dict[str, Any], allowed: frozenset[str] | set[str]) -> None:
    extra = sorted(k for k in fields if k not in allowed)
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")
