"""Credentials users store (`/v3/credentials`), OS-EC2 keys, and EC2 signature authentication.

Blobs are encrypted at rest with their own Fernet key repository (`credential_key_repository`),
never with the token keys: token keys rotate often and old ones are dropped, which is harmless
for tokens (they expire) but would destroy stored secrets. Each row records a hash of the key
that encrypted it; `rotate_credential_keys` re-encrypts every blob so old keys can go.

An EC2 credential is a credential of type `ec2` whose blob is `{"access": ..., "secret": ...}`;
its id is the SHA-256 of the access key (Keystone's rule), so `POST /v3/ec2tokens` finds it by
the access key a signed request names, checks the signature with the secret, and issues a
project-scoped token for the credential's user and project (method `ec2credential`).

Delegation: Keystone lets a trust or an application credential create an EC2 credential and
stamps the delegation into the blob. vistack refuses instead (as it refuses such tokens creating
application credentials): an EC2 secret outlives its creator's token and, redeemed, would yield
the user's full roles. For the same reason a blob carrying a delegation (`trust_id`,
`app_cred_id`, `access_token_id`, e.g. copied from a Keystone database) is never redeemed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from vistack.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    VistackError,
)
from vistack.identity.domain.auth import AuthService, ValidatedToken
from vistack.identity.domain.aws_signatures import (
    SignatureFormatError,
    SignedRequest,
    compute_signature,
    request_time,
    signature_matches,
)
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.fernet_keys import FernetKeyRepository
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import Credential, EncryptedCredential
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore
from vistack.identity.domain.time import utcnow

EC2 = "ec2"
#: Blob keys through which Keystone records a delegation; vistack never honours them.
DELEGATION_KEYS = ("trust_id", "app_cred_id", "access_token_id")
EC2_AUTH_FAILED = "Could not authenticate the EC2 signature."


def ec2_credential_id(access: str) -> str:
    """An EC2 credential's id: the SHA-256 of its access key, in hex (Keystone's rule)."""
    return hashlib.sha256(access.encode("utf-8")).hexdigest()


def key_hash(key: bytes) -> str:
    """Names a credential key without revealing it (stored with every blob it encrypts)."""
    return hashlib.sha256(key).hexdigest()


class CredentialKeyError(VistackError):
    """A blob cannot be decrypted: its key left the repository before it was re-encrypted."""


class CredentialCipher:
    """Encrypts with the primary credential key, decrypts with any key of the repository."""

    def __init__(self, keys: FernetKeyRepository) -> None:
        self._keys = keys
        self._loaded: tuple[int, MultiFernet, Fernet, str] | None = None

    def _current(self) -> tuple[MultiFernet, Fernet, str]:
        # Re-read only when the directory changed: a running server follows a rotation.
        stamp = self._keys.directory.stat().st_mtime_ns
        if self._loaded is None or self._loaded[0] != stamp:
            keys = self._keys.keys()
            primary = keys[max(keys)]
            self._loaded = (stamp, self._keys.cipher(), Fernet(primary), key_hash(primary))
        return self._loaded[1:]

    def encrypt(self, blob: str) -> tuple[str, str]:
        """(encrypted blob, hash of the key that encrypted it)."""
        _, primary, primary_hash = self._current()
        return primary.encrypt(blob.encode("utf-8")).decode("ascii"), primary_hash

    def decrypt(self, credential: EncryptedCredential) -> str:
        """:raises CredentialKeyError: no key of the repository decrypts it."""
        cipher, _, _ = self._current()
        try:
            return cipher.decrypt(credential.encrypted_blob.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise CredentialKeyError(
                f"Credential {credential.id} cannot be decrypted with the credential keys: "
                f"its key was removed before `vistack keys rotate --credential` re-encrypted it."
            ) from exc


@dataclass(frozen=True)
class Caller:
    """Who manages credentials, as far as the rules below the policy need to know."""

    #: The project a trust, an application credential or an EC2-derived token is bound to;
    #: None for a token that proves the user itself.
    delegated_project_id: str | None = None
    delegated: bool = False


#: Decides whether the caller may read a credential (the API's per-item policy check).
Visible = Callable[[Credential], bool]


class CredentialService:
    def __init__(
        self,
        store: IdentityStore,
        changes: ChangeTracker,
        cipher: CredentialCipher,
        auth: AuthService,
        ec2_auth_ttl: timedelta,
    ) -> None:
        self._store = store
        self._changes = changes
        self._cipher = cipher
        self._auth = auth
        self._ec2_auth_ttl = ec2_auth_ttl

    # /v3/credentials
    def create(
        self,
        user_id: str,
        type: str,
        blob: str,
        project_id: str | None = None,
        caller: Caller | None = None,
    ) -> Credential:
        """Store a credential; an `ec2` one gets the SHA-256 of its access key as id.

        :raises BadRequest: an `ec2` credential without a project or a valid blob.
        :raises Forbidden: a delegated caller creating an `ec2` credential, or one outside its
            project.
        :raises NotFound: the user or the project does not exist.
        :raises Conflict: an EC2 credential with this access key exists.
        """
        caller = caller or Caller()
        _check_delegation(caller, project_id, creating_type=type)
        credential_id = new_id()
        if type == EC2:
            if not project_id:
                raise BadRequest("An ec2 credential needs a project_id.")
            credential_id = ec2_credential_id(ec2_keys(blob)["access"])
        credential = Credential(credential_id, user_id, type, blob, project_id)
        with self._store.transaction() as repos:
            _require_owner_and_project(repos, user_id, project_id)
            if repos.user_credentials.get(credential_id) is not None:
                raise Conflict(
                    "Conflict occurred attempting to store credential - Duplicate entry: "
                    "a credential with this access key exists."
                )
            repos.user_credentials.add(self._encrypted(credential))
        self._changes.changed()
        return credential

    def get(self, credential_id: str, caller: Caller | None = None) -> Credential:
        """:raises NotFound: no such credential. :raises Forbidden: outside a delegation."""
        credential = self.find(credential_id)
        if credential is None:
            raise NotFound(f"Could not find credential: {credential_id}.")
        _check_delegation(caller or Caller(), credential.project_id)
        return credential

    @staticmethod
    def check_reach(credential: Credential, caller: Caller) -> None:
        """:raises Forbidden: a delegated caller and a credential of another project."""
        _check_delegation(caller, credential.project_id)

    def find(self, credential_id: str) -> Credential | None:
        with self._store.transaction() as repos:
            stored = repos.user_credentials.get(credential_id)
        return self._decrypted(stored) if stored else None

    def list_credentials(
        self,
        *,
        user_id: str | None = None,
        type: str | None = None,
        visible: Visible | None = None,
        caller: Caller | None = None,
    ) -> list[Credential]:
        """Credentials matching the filters that `visible` lets the caller read.

        `visible` sees each credential without its blob, so a refused one is never decrypted.
        """
        caller = caller or Caller()
        with self._store.transaction() as repos:
            stored = repos.user_credentials.find(user_id=user_id, type=type)
        found = []
        for item in stored:
            if caller.delegated and item.project_id != caller.delegated_project_id:
                continue
            if visible is None or visible(
                Credential(item.id, item.user_id, item.type, "", item.project_id)
            ):
                found.append(self._decrypted(item))
        return found

    def update(
        self,
        credential_id: str,
        blob: str | None = None,
        project_id: str | None = None,
        caller: Caller | None = None,
    ) -> Credential:
        """Replace the blob and/or the project; the id, owner and type never change.

        :raises BadRequest: an `ec2` credential's new blob is invalid.
        :raises NotFound: no such credential, or no such new project.
        :raises Forbidden: outside a delegation.
        """
        caller = caller or Caller()
        current = self.get(credential_id, caller)
        if project_id is not None:
            _check_delegation(caller, project_id)
        if current.type == EC2 and blob is not None:
            ec2_keys(blob)
        changed = Credential(
            current.id,
            current.user_id,
            current.type,
            current.blob if blob is None else blob,
            current.project_id if project_id is None else project_id,
        )
        with self._store.transaction() as repos:
            if project_id is not None and repos.projects.get(project_id) is None:
                raise NotFound(f"Could not find project: {project_id}.")
            if repos.user_credentials.get(credential_id) is None:
                raise NotFound(f"Could not find credential: {credential_id}.")
            repos.user_credentials.update(self._encrypted(changed))
        self._changes.changed()
        return changed

    def delete(self, credential_id: str, caller: Caller | None = None) -> None:
        self.get(credential_id, caller)
        with self._store.transaction() as repos:
            repos.user_credentials.delete(credential_id)
        self._changes.changed()

    # OS-EC2
    def create_ec2(
        self, user_id: str, project_id: str, caller: Caller | None = None
    ) -> tuple[Credential, dict[str, Any]]:
        """Generate an access and a secret key (hex UUIDs, as Keystone) for a project."""
        keys = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex}
        credential = self.create(user_id, EC2, json.dumps(keys), project_id, caller)
        return credential, keys

    def list_ec2(self, user_id: str, caller: Caller | None = None) -> list[Credential]:
        """:raises NotFound: no such user."""
        with self._store.transaction() as repos:
            if repos.users.get(user_id) is None:
                raise NotFound(f"Could not find user: {user_id}.")
        return self.list_credentials(user_id=user_id, type=EC2, caller=caller)

    def find_ec2(self, user_id: str, access: str) -> Credential | None:
        """The user's EC2 credential with this access key, if there is one."""
        credential = self.find(ec2_credential_id(access))
        if credential is None or credential.type != EC2 or credential.user_id != user_id:
            return None
        return credential

    def delete_ec2(self, user_id: str, access: str, caller: Caller | None = None) -> None:
        credential = self.find_ec2(user_id, access)
        if credential is None:
            raise NotFound(f"Could not find credential: {access}.")
        self.delete(credential.id, caller)

    # POST /v3/ec2tokens
    def ec2_token(self, request: SignedRequest) -> ValidatedToken:
        """Check an AWS signature against the secret of its access key; issue a token for the
        credential's user, scoped to its project.

        :raises Unauthorized: unknown access key, wrong signature, a timestamp outside
            `ec2_auth_ttl`, or a user, domain or project that is disabled or holds no role.
        """
        if not request.access or not request.signature:
            raise Unauthorized("EC2 signature not supplied.")
        try:
            # The whole format first, before the lookup: a format error must not tell whether
            # the access key exists.
            compute_signature("", request)
        except SignatureFormatError as exc:
            raise Unauthorized(str(exc)) from exc
        credential = self.find(ec2_credential_id(request.access))
        if credential is None or credential.type != EC2 or not credential.project_id:
            raise Unauthorized(EC2_AUTH_FAILED)
        try:
            keys = ec2_keys(credential.blob)
        except BadRequest as exc:
            raise Unauthorized(EC2_AUTH_FAILED) from exc
        secret = keys.get("secret")
        if (
            not isinstance(secret, str)
            or not _same(keys["access"], request.access)
            or any(keys.get(key) for key in DELEGATION_KEYS)
        ):
            raise Unauthorized(EC2_AUTH_FAILED)
        try:
            if not signature_matches(secret, request):
                raise Unauthorized(EC2_AUTH_FAILED)
            signed_at = request_time(request)
        except SignatureFormatError as exc:
            raise Unauthorized(str(exc)) from exc
        if signed_at is None:
            raise Unauthorized("The signed request carries no timestamp (Timestamp or X-Amz-Date).")
        if abs(utcnow() - signed_at) > self._ec2_auth_ttl:
            raise Unauthorized(
                "Credential is expired: the request's timestamp is too far from now."
            )
        return self._auth.issue_ec2_token(credential.user_id, credential.project_id)

    def _encrypted(self, credential: Credential) -> EncryptedCredential:
        encrypted, used_key = self._cipher.encrypt(credential.blob)
        return EncryptedCredential(
            id=credential.id,
            user_id=credential.user_id,
            type=credential.type,
            encrypted_blob=encrypted,
            key_hash=used_key,
            project_id=credential.project_id,
        )

    def _decrypted(self, stored: EncryptedCredential) -> Credential:
        return Credential(
            stored.id, stored.user_id, stored.type, self._cipher.decrypt(stored), stored.project_id
        )


@dataclass(frozen=True)
class RotationResult:
    primary: int
    reencrypted: int
    keys: int


def rotate_credential_keys(store: IdentityStore, keys: FernetKeyRepository) -> RotationResult:
    """Rotate the credential keys and re-encrypt every blob, so no blob needs a dropped key.

    Keystone splits this into `credential_rotate` and `credential_migrate`; here it is one
    step, ordered so that no key is ever dropped while a blob still needs it:

    1. re-encrypt every blob with the *staged* key, the one rotation is about to promote (every
       controller already holds it, so blobs stay readable everywhere);
    2. rotate: the staged key becomes primary, older keys beyond the limit are dropped;
    3. re-encrypt whatever a running server wrote with the previous primary in between, with
       the keys read before the rotation still in hand.

    A crash leaves every blob readable: rerunning finishes the job.
    """
    keys.ensure()
    before = keys.keys()
    staged = before[0]
    reencrypted = _reencrypt(store, MultiFernet([Fernet(k) for k in before.values()]), staged)
    primary_index = keys.rotate()
    after = keys.keys()
    every_key = [*after.values(), *(k for k in before.values() if k not in after.values())]
    readers = MultiFernet([Fernet(k) for k in every_key])
    reencrypted += _reencrypt(store, readers, after[primary_index])
    return RotationResult(primary_index, reencrypted, len(after))


def _reencrypt(store: IdentityStore, readers: MultiFernet, target: bytes) -> int:
    """Re-encrypt with `target` every blob another key encrypted; returns how many."""
    writer = Fernet(target)
    target_hash = key_hash(target)
    count = 0
    with store.transaction() as repos:
        for stored in repos.user_credentials.find():
            if stored.key_hash == target_hash:
                continue
            try:
                clear = readers.decrypt(stored.encrypted_blob.encode("ascii"))
            except InvalidToken as exc:
                raise CredentialKeyError(
                    f"Credential {stored.id} cannot be decrypted with the credential keys; "
                    f"nothing was rotated."
                ) from exc
            repos.user_credentials.update(
                EncryptedCredential(
                    id=stored.id,
                    user_id=stored.user_id,
                    type=stored.type,
                    encrypted_blob=writer.encrypt(clear).decode("ascii"),
                    key_hash=target_hash,
                    project_id=stored.project_id,
                )
            )
            count += 1
    return count


def ec2_keys(blob: str) -> dict[str, Any]:
    """An EC2 blob: a JSON object with a non-empty string `access` (and normally `secret`).

    :raises BadRequest: anything else.
    """
    try:
        keys = json.loads(blob)
    except ValueError as exc:
        raise BadRequest("Invalid blob in credential: an ec2 blob must be JSON.") from exc
    if not isinstance(keys, dict):
        raise BadRequest("Invalid blob in credential: an ec2 blob must be a JSON object.")
    access = keys.get("access")
    if not isinstance(access, str) or not access:
        raise BadRequest("Invalid blob in credential: an ec2 blob needs an access key.")
    secret = keys.get("secret")
    if secret is not None and not isinstance(secret, str):
        raise BadRequest("Invalid blob in credential: an ec2 secret must be a string.")
    return keys


def _require_owner_and_project(
    repos: IdentityRepositories, user_id: str, project_id: str | None
) -> None:
    if repos.users.get(user_id) is None:
        raise NotFound(f"Could not find user: {user_id}.")
    if project_id is not None and repos.projects.get(project_id) is None:
        raise NotFound(f"Could not find project: {project_id}.")


def _check_delegation(
    caller: Caller, project_id: str | None, creating_type: str | None = None
) -> None:
    """A delegated caller reaches only its own project's credentials, and mints no EC2 keys.

    :raises Forbidden: otherwise.
    """
    if not caller.delegated:
        return
    if creating_type == EC2:
        raise Forbidden(
            "An EC2 credential cannot be created with a trust, an application credential or "
            "an EC2 token: it would outlive the delegation and carry all of the user's roles."
        )
    if project_id is None or project_id != caller.delegated_project_id:
        raise Forbidden(
            "A token obtained through a delegation may only manage the credentials of its "
            "own project."
        )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
