"""Application credentials: a user delegates some of its roles on one project to a secret.

The secret is shown once, at creation, and stored only as a bcrypt hash. Roles are checked
against what the user holds at creation and again on every use (see `auth._resolve_scope`).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.identity.domain.access_rules import AccessRuleRequest, resolve_access_rules
from vistack.identity.domain.assignments import effective_roles
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import AccessRule, ApplicationCredential, Role, TargetKind
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.ports import IdentityStore
from vistack.identity.domain.time import utcnow


def new_secret() -> str:
    """86 URL-safe characters of randomness, the shape Keystone generates, never starting with
    `-`: a command line (`--os-application-credential-secret -x...`) would read such a secret
    as an option, and one in 64 secrets would fail that way."""
    while True:
        secret = base64.urlsafe_b64encode(secrets.token_bytes(64)).decode("ascii").rstrip("=")
        if not secret.startswith("-"):
            return secret


class ApplicationCredentialService:
    def __init__(
        self, store: IdentityStore, changes: ChangeTracker, hasher: PasswordHasher
    ) -> None:
        self._store = store
        self._changes = changes
        self._hasher = hasher

    def create(
        self,
        user_id: str,
        project_id: str | None,
        name: str,
        *,
        secret: str | None = None,
        description: str | None = None,
        expires_at: datetime | None = None,
        unrestricted: bool = False,
        role_refs: list[tuple[str | None, str | None]] | None = None,
        from_application_credential: bool = False,
        access_rules: list[AccessRuleRequest] | None = None,
    ) -> tuple[ApplicationCredential, str]:
        """Create a credential for the token's project with the requested roles (default: all).

        `role_refs` are (id, name) pairs; `access_rules`, when given, limit the credential's
        tokens to those API calls (see `access_rules.resolve_access_rules`). Returns the
        credential and its clear secret.

        :raises Forbidden: the token is not project-scoped, or was itself made from a
            restricted application credential.
        :raises BadRequest: a requested role is not held, `expires_at` is past, or an access
            rule is malformed or not the user's.
        """
        if from_application_credential:
            raise Forbidden("A restricted application credential cannot create another one.")
        if project_id is None:
            raise Forbidden("Application credentials need a project-scoped token.")
        if expires_at is not None and expires_at <= utcnow():
            raise BadRequest(
                "The expiration date of an application credential must be in the future."
            )
        clear = secret or new_secret()
        hashed = self._hasher.hash(clear)
        with self._store.transaction() as repos:
            if repos.credentials.find(user_id, name=name):
                raise Conflict(
                    f"Conflict occurred attempting to store application_credential - "
                    f"Duplicate entry found with name {name}."
                )
            held = effective_roles(repos, user_id, TargetKind.PROJECT, project_id)
            roles = _select_roles(held, role_refs)
            credential = ApplicationCredential(
                id=new_id(),
                name=name,
                user_id=user_id,
                project_id=project_id,
                roles=tuple(roles),
                description=description,
                expires_at=expires_at,
                unrestricted=unrestricted,
                access_rules=resolve_access_rules(repos, user_id, access_rules or ()),
            )
            repos.credentials.add(credential, hashed)
        self._changes.changed()
        return credential, clear

    def get(self, user_id: str, credential_id: str) -> ApplicationCredential:
        with self._store.transaction() as repos:
            credential = repos.credentials.get(credential_id)
        if credential is None or credential.user_id != user_id:
            raise NotFound(f"Could not find Application Credential: {credential_id}.")
        return credential

    def list_for_user(self, user_id: str, name: str | None = None) -> list[ApplicationCredential]:
        with self._store.transaction() as repos:
            if repos.users.get(user_id) is None:
                raise NotFound(f"Could not find user: {user_id}.")
            return repos.credentials.find(user_id, name=name)

    def delete(self, user_id: str, credential_id: str) -> None:
        self.get(user_id, credential_id)
        with self._store.transaction() as repos:
            repos.credentials.delete(credential_id)
        self._changes.changed()

    # access rules: created with credentials, then listed, shown and deleted on their own
    def list_access_rules(
        self,
        user_id: str,
        *,
        service: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> list[AccessRule]:
        with self._store.transaction() as repos:
            if repos.users.get(user_id) is None:
                raise NotFound(f"Could not find user: {user_id}.")
            return repos.access_rules.find(user_id, service=service, path=path, method=method)

    def get_access_rule(self, user_id: str, rule_id: str) -> AccessRule:
        with self._store.transaction() as repos:
            rule = repos.access_rules.get(rule_id)
        if rule is None or rule.user_id != user_id:
            raise NotFound(f"Could not find Access Rule: {rule_id}.")
        return rule

    def delete_access_rule(self, user_id: str, rule_id: str) -> None:
        """:raises Forbidden: an application credential still uses the rule."""
        self.get_access_rule(user_id, rule_id)
        with self._store.transaction() as repos:
            deleted = repos.access_rules.delete_unused(rule_id)
        if not deleted:
            raise Forbidden(
                f"The access rule {rule_id} is used by an application credential: delete "
                f"the credentials that use it first."
            )
        self._changes.changed()


def _select_roles(held: list[Role], refs: list[tuple[str | None, str | None]] | None) -> list[Role]:
    if not refs:
        return held
    chosen: dict[str, Role] = {}
    for role_id, role_name in refs:
        match = next(
            (
                r
                for r in held
                if (role_id and r.id == role_id) or (role_name and r.name == role_name)
            ),
            None,
        )
        if match is None:
            # 400 as in Keystone (an invalid request body, not a policy refusal).
            raise BadRequest(
                f"You cannot delegate the role {role_id or role_name}: you do not "
                f"hold it on this project."
            )
        chosen[match.id] = match
    return list(chosen.values())
