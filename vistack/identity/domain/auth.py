"""Authentication and tokens: prove who you are, get a scoped token, validate it, revoke it.

Every failure to authenticate raises the same `Unauthorized` with the same message, whether the
user is unknown, disabled or gave a wrong secret, so the API never reveals which users exist.
Validation derives roles and scope from current data (cached per identity generation), so
removing a role or disabling a project takes effect on the next request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from vistack.common.cache import Cache
from vistack.common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from vistack.identity.domain.assignments import effective_roles
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.models import (
    SYSTEM_ALL,
    ApplicationCredential,
    Domain,
    Project,
    RevocationEvent,
    Role,
    TargetKind,
    Trust,
    User,
)
from vistack.identity.domain.password_rules import PasswordRules
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore
from vistack.identity.domain.revocation import RevocationIndex
from vistack.identity.domain.time import utcnow
from vistack.identity.domain.tokens import ScopeKind, TokenCodec, TokenPayload, new_audit_id
from vistack.identity.domain.trusts import resolve_trust_use

LOG = logging.getLogger(__name__)
AUTH_FAILED = "The request you have made requires authentication."
TOKEN_NOT_FOUND = "Could not find token."
#: The method of tokens issued by `POST /v3/ec2tokens` (never accepted by `authenticate`).
EC2_METHOD = "ec2credential"


@dataclass(frozen=True)
class UserRef:
    """A user named in an auth request: by id, or by name within a domain (by id or name)."""

    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


@dataclass(frozen=True)
class ScopeRequest:
    kind: ScopeKind = ScopeKind.UNSCOPED
    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    #: `"scope": "unscoped"`: no scope at all, not even the user's default project.
    explicitly_unscoped: bool = False
    #: `{"OS-TRUST:trust": {"id": ...}}`: the trust's project and roles (`kind` is ignored).
    trust_id: str | None = None


@dataclass(frozen=True)
class PasswordMethod:
    user: UserRef
    password: str


@dataclass(frozen=True)
class TokenMethod:
    token: str


@dataclass(frozen=True)
class ApplicationCredentialMethod:
    secret: str
    id: str | None = None
    name: str | None = None
    user: UserRef | None = None


AuthMethod = PasswordMethod | TokenMethod | ApplicationCredentialMethod


@dataclass(frozen=True)
class TokenScope:
    """What a token stands for now: derived from current data, cached per generation."""

    user: User
    user_domain: Domain
    roles: tuple[Role, ...] = ()
    project: Project | None = None
    project_domain: Domain | None = None
    domain: Domain | None = None
    system: bool = False
    application_credential: ApplicationCredential | None = None
    #: For a trust token; `user` is then the trustee, or the trustor when impersonating.
    trust: Trust | None = None


@dataclass(frozen=True)
class ValidatedToken:
    token_id: str
    payload: TokenPayload
    scope: TokenScope


class AuthService:
    def __init__(
        self,
        store: IdentityStore,
        changes: ChangeTracker,
        cache: Cache,
        codec: TokenCodec,
        hasher: PasswordHasher,
        lifetime: timedelta,
        allow_expired_window: timedelta,
        rules: PasswordRules | None = None,
    ) -> None:
        self._rules = rules or PasswordRules()
        self._store = store
        self._changes = changes
        self._cache = cache
        self._codec = codec
        self._hasher = hasher
        self._lifetime = lifetime
        self._allow_expired_window = allow_expired_window
        self._revocations = RevocationIndex()
        self._revocations_generation = -1

    # issue
    def authenticate(self, methods: list[AuthMethod], scope: ScopeRequest) -> ValidatedToken:
        """Issue a token for the identity the methods prove, with the requested scope.

        :raises Unauthorized: the methods do not prove an identity, or scope is not allowed.
        :raises BadRequest: the methods contradict each other.
        """
        if not methods:
            raise BadRequest("Expecting to find at least one authentication method.")
        now = utcnow()
        expires_at = now + self._lifetime
        user_id: str | None = None
        audit_ids = [new_audit_id()]
        method_names: list[str] = []
        app_cred: ApplicationCredential | None = None
        for method in methods:
            if isinstance(method, PasswordMethod):
                proven = self._check_password(method)
                method_names.append("password")
            elif isinstance(method, TokenMethod):
                original = self.validate(method.token)
                if original.payload.application_credential_id:
                    raise Forbidden(
                        "A token created from an application credential cannot be "
                        "used to create another token."
                    )
                if original.payload.trust_id:
                    raise Forbidden(
                        "Using a trust-scoped token to create another token is not allowed. "
                        "Create a new trust-scoped token instead."
                    )
                if EC2_METHOD in original.payload.methods:
                    raise Forbidden(
                        "A token created from an EC2 credential cannot be used to create "
                        "another token."
                    )
                proven = original.payload.user_id
                expires_at = min(expires_at, original.payload.expires_at)
                audit_ids = [audit_ids[0], original.payload.audit_ids[-1]]
                method_names = [*dict.fromkeys(["token", *original.payload.methods])]
            else:
                app_cred = self._check_application_credential(method, now)
                proven = app_cred.user_id
                if app_cred.expires_at is not None:
                    expires_at = min(expires_at, app_cred.expires_at)
                method_names.append("application_credential")
            if user_id is not None and proven != user_id:
                raise Unauthorized(AUTH_FAILED)
            user_id = proven
        assert user_id is not None
        trust: Trust | None = None
        if scope.trust_id is not None:
            if app_cred is not None:
                raise Unauthorized("Application credentials cannot request a scope.")
            with self._store.transaction() as repos:
                trust = resolve_trust_use(repos, scope.trust_id, user_id, now, issuing=True).trust
            kind = ScopeKind.PROJECT if trust.project_id else ScopeKind.UNSCOPED
            scope_id = trust.project_id
            if trust.expires_at is not None:
                expires_at = min(expires_at, trust.expires_at)
        else:
            kind, scope_id = self._resolve_scope_request(user_id, scope, app_cred)
        payload = TokenPayload(
            user_id=user_id,
            methods=tuple(dict.fromkeys(method_names)),
            scope_kind=kind,
            scope_id=scope_id,
            issued_at=now,
            expires_at=expires_at,
            audit_ids=tuple(audit_ids),
            application_credential_id=app_cred.id if app_cred else None,
            trust_id=trust.id if trust else None,
        )
        try:
            resolved = self._scope_for(payload)
        except NotFound as exc:
            raise Unauthorized(AUTH_FAILED) from exc
        if trust is not None and trust.remaining_uses is not None:
            # Taken last, atomically, so a refused request does not use the trust up.
            with self._store.transaction() as repos:
                consumed = repos.trusts.consume_use(trust.id)
            if not consumed:
                raise Unauthorized(f"Could not find trust: {trust.id}.")
            self._changes.changed()
        return ValidatedToken(self._codec.encode(payload), payload, resolved)

    def issue_ec2_token(self, user_id: str, project_id: str) -> ValidatedToken:
        """A project-scoped token for an EC2 credential whose signature the caller checked.

        Its only method is `ec2credential`, which `authenticate` refuses to rescope: the
        credential is bound to one project, and so is everything obtained with it.

        :raises Unauthorized: the user, its domain or the project is gone or disabled, or the
            user holds no role on the project.
        """
        now = utcnow()
        payload = TokenPayload(
            user_id=user_id,
            methods=(EC2_METHOD,),
            scope_kind=ScopeKind.PROJECT,
            scope_id=project_id,
            issued_at=now,
            expires_at=now + self._lifetime,
            audit_ids=(new_audit_id(),),
        )
        try:
            resolved = self._scope_for(payload)
        except NotFound as exc:
            raise Unauthorized(AUTH_FAILED) from exc
        return ValidatedToken(self._codec.encode(payload), payload, resolved)

    def _check_password(self, method: PasswordMethod) -> str:
        with self._store.transaction() as repos:
            user = _find_user(repos, method.user)
            state = repos.users.password_state(user.id) if user else None
            usable = user is not None and user.enabled and _domain_enabled(repos, user.domain_id)
        now = utcnow()
        if user is not None and state is not None:
            self._rules.check_not_locked(user, state, now)
        matches = self._hasher.verify(method.password, state.hash if state else None)
        if user is not None and self._rules.tracks_failures and (matches or state):
            with self._store.transaction() as repos:
                if not matches:
                    repos.users.record_auth_failure(user.id, now)
                elif state is not None and state.failed_auth_count:
                    repos.users.clear_auth_failures(user.id)
        if not matches or not usable or user is None:
            raise Unauthorized(AUTH_FAILED)
        if user.password_expires_at is not None and user.password_expires_at <= now:
            raise Unauthorized(
                f"The password is expired and needs to be changed for user: {user.id}."
            )
        return user.id

    def _check_application_credential(
        self, method: ApplicationCredentialMethod, now: datetime
    ) -> ApplicationCredential:
        with self._store.transaction() as repos:
            credential: ApplicationCredential | None = None
            if method.id:
                credential = repos.credentials.get(method.id)
            elif method.name and method.user:
                user = _find_user(repos, method.user)
                if user is not None:
                    found = repos.credentials.find(user.id, name=method.name)
                    credential = found[0] if found else None
            hashed = repos.credentials.secret_hash(credential.id) if credential else None
        if not self._hasher.verify(method.secret, hashed) or credential is None:
            raise Unauthorized(AUTH_FAILED)
        if credential.expires_at is not None and credential.expires_at <= now:
            raise Unauthorized(AUTH_FAILED)
        return credential

    def _resolve_scope_request(
        self, user_id: str, scope: ScopeRequest, app_cred: ApplicationCredential | None
    ) -> tuple[ScopeKind, str | None]:
        if app_cred is not None:
            if scope.kind is not ScopeKind.UNSCOPED:
                raise Unauthorized("Application credentials cannot request a scope.")
            if app_cred.system:
                return ScopeKind.SYSTEM, SYSTEM_ALL
            return ScopeKind.PROJECT, app_cred.project_id
        with self._store.transaction() as repos:
            if scope.kind is ScopeKind.PROJECT:
                project = None
                if scope.id:
                    project = repos.projects.get(scope.id)
                elif scope.name:
                    domain_id = scope.domain_id or _domain_id_by_name(repos, scope.domain_name)
                    if domain_id:
                        project = repos.projects.get_by_name(domain_id, scope.name)
                if project is None:
                    raise Unauthorized(AUTH_FAILED)
                return ScopeKind.PROJECT, project.id
            if scope.kind is ScopeKind.DOMAIN:
                domain_id = scope.id or _domain_id_by_name(repos, scope.name)
                if domain_id is None:
                    raise Unauthorized(AUTH_FAILED)
                return ScopeKind.DOMAIN, domain_id
            if scope.kind is ScopeKind.SYSTEM:
                return ScopeKind.SYSTEM, SYSTEM_ALL
            if scope.explicitly_unscoped:
                return ScopeKind.UNSCOPED, None
            user = repos.users.get(user_id)
            default = user.default_project_id if user else None
            if default:
                project = repos.projects.get(default)
                if (
                    project
                    and project.enabled
                    and effective_roles(repos, user_id, TargetKind.PROJECT, default)
                ):
                    return ScopeKind.PROJECT, default
        return ScopeKind.UNSCOPED, None

    # validate
    def validate(self, token: str, *, allow_expired: bool = False) -> ValidatedToken:
        """The token's current meaning.

        :raises NotFound: the token is malformed, forged, expired, revoked, or what it stood
            for no longer exists or is disabled.
        """
        validated = self._validate(token, allow_expired, may_query=True)
        assert validated is not None
        return validated

    def validate_from_memory(
        self, token: str, *, allow_expired: bool = False
    ) -> ValidatedToken | None:
        """Like `validate`, but None when the answer needs the database.

        The API calls this on the event loop first and only hands the request to a worker
        thread when it returns None: a thread hop costs more than the whole cached validation.

        :raises NotFound: as `validate`, for what can be decided from memory.
        """
        return self._validate(token, allow_expired, may_query=False)

    def _validate(self, token: str, allow_expired: bool, may_query: bool) -> ValidatedToken | None:
        payload = self._codec.decode(token)
        if payload is None:
            raise NotFound(TOKEN_NOT_FOUND)
        now = utcnow()
        deadline = payload.expires_at + (
            self._allow_expired_window if allow_expired else timedelta(0)
        )
        if now >= deadline:
            raise NotFound(TOKEN_NOT_FOUND)
        generation = self._changes.generation()
        if generation != self._revocations_generation:
            if not may_query:
                return None
            with self._store.transaction() as repos:
                self._revocations = RevocationIndex(repos.revocations.active())
            self._revocations_generation = generation
        if self._revocations.is_revoked(payload):
            raise NotFound(TOKEN_NOT_FOUND)
        scope = self._cached_scope(payload, generation)
        if scope is None:
            if not may_query:
                return None
            scope = self._scope_for(payload, generation)
        if scope.trust is not None and self._revocations.is_user_revoked(
            scope.trust.trustor_user_id, payload.issued_at
        ):
            # The trustor's password changed (or it was disabled) after the token was issued.
            raise NotFound(TOKEN_NOT_FOUND)
        return ValidatedToken(token, payload, scope)

    def revoke(self, token: str) -> None:
        """Revoke a token and every token rescoped from it (its audit chain)."""
        validated = self.validate(token)
        now = utcnow()
        with self._store.transaction() as repos:
            repos.revocations.add(
                RevocationEvent(
                    issued_before=now,
                    prune_after=validated.payload.expires_at + self._allow_expired_window,
                    # The token's own audit id (first), not its chain's: tokens rescoped from
                    # this one carry it too and go with it, its parent and siblings stay valid.
                    audit_id=validated.payload.audit_ids[0],
                )
            )
            repos.revocations.prune(now)
        self._changes.changed()

    @staticmethod
    def _scope_key(payload: TokenPayload, generation: int) -> str:
        return (
            f"token-scope:{generation}:{payload.user_id}:{payload.scope_kind.value}:"
            f"{payload.scope_id}:{payload.application_credential_id}:{payload.trust_id}"
        )

    def _cached_scope(self, payload: TokenPayload, generation: int) -> TokenScope | None:
        cached = self._cache.get(self._scope_key(payload, generation))
        return cached if isinstance(cached, TokenScope) else None

    def _scope_for(self, payload: TokenPayload, generation: int | None = None) -> TokenScope:
        generation = self._changes.generation() if generation is None else generation
        cached = self._cached_scope(payload, generation)
        if cached is not None:
            return cached
        with self._store.transaction() as repos:
            resolved = _resolve_scope(repos, payload)
        self._cache.set(self._scope_key(payload, generation), resolved)
        return resolved


def _find_user(repos: IdentityRepositories, ref: UserRef) -> User | None:
    if ref.id:
        return repos.users.get(ref.id)
    if not ref.name:
        return None
    domain_id = ref.domain_id or _domain_id_by_name(repos, ref.domain_name)
    return repos.users.get_by_name(domain_id, ref.name) if domain_id else None


def _domain_id_by_name(repos: IdentityRepositories, name: str | None) -> str | None:
    domain = repos.domains.get_by_name(name) if name else None
    return domain.id if domain else None


def _domain_enabled(repos: IdentityRepositories, domain_id: str) -> bool:
    domain = repos.domains.get(domain_id)
    return domain is not None and domain.enabled


def _resolve_scope(repos: IdentityRepositories, payload: TokenPayload) -> TokenScope:
    """Derive what the token stands for now; NotFound when it no longer stands for anything."""
    user = repos.users.get(payload.user_id)
    user_domain = repos.domains.get(user.domain_id) if user else None
    if user is None or not user.enabled or user_domain is None or not user_domain.enabled:
        raise NotFound(TOKEN_NOT_FOUND)
    credential = None
    if payload.application_credential_id:
        credential = repos.credentials.get(payload.application_credential_id)
        if credential is None or credential.user_id != user.id:
            raise NotFound(TOKEN_NOT_FOUND)
    if payload.trust_id is not None:
        return _resolve_trust_scope(repos, payload, payload.trust_id, user)
    kind, scope_id = payload.scope_kind, payload.scope_id
    if kind is ScopeKind.UNSCOPED or scope_id is None:
        return TokenScope(user, user_domain)
    target = {
        ScopeKind.PROJECT: TargetKind.PROJECT,
        ScopeKind.DOMAIN: TargetKind.DOMAIN,
        ScopeKind.SYSTEM: TargetKind.SYSTEM,
    }[kind]
    roles = effective_roles(repos, user.id, target, scope_id)
    if credential is not None:
        # An application credential delegates at most the roles its user still holds.
        held = {role.id for role in roles}
        roles = [role for role in credential.roles if role.id in held]
        if len(roles) != len(credential.roles):
            raise NotFound(TOKEN_NOT_FOUND)
    if not roles:
        raise NotFound(TOKEN_NOT_FOUND)
    if kind is ScopeKind.PROJECT:
        project = repos.projects.get(scope_id)
        domain = repos.domains.get(project.domain_id) if project else None
        if project is None or not project.enabled or domain is None or not domain.enabled:
            raise NotFound(TOKEN_NOT_FOUND)
        return TokenScope(
            user,
            user_domain,
            tuple(roles),
            project=project,
            project_domain=domain,
            application_credential=credential,
        )
    if kind is ScopeKind.DOMAIN:
        domain = repos.domains.get(scope_id)
        if domain is None or not domain.enabled:
            raise NotFound(TOKEN_NOT_FOUND)
        return TokenScope(
            user, user_domain, tuple(roles), domain=domain, application_credential=credential
        )
    return TokenScope(
        user, user_domain, tuple(roles), system=True, application_credential=credential
    )


def _resolve_trust_scope(
    repos: IdentityRepositories, payload: TokenPayload, trust_id: str, trustee: User
) -> TokenScope:
    """A trust token: the trust must still be usable, its trustor still hold its roles."""
    try:
        use = resolve_trust_use(repos, trust_id, trustee.id, utcnow(), issuing=False)
    except (Unauthorized, Forbidden) as exc:
        raise NotFound(TOKEN_NOT_FOUND) from exc
    trust = use.trust
    if trust.project_id != payload.scope_id or payload.application_credential_id:
        raise NotFound(TOKEN_NOT_FOUND)
    user = use.trustor if trust.impersonation else trustee
    user_domain = repos.domains.get(user.domain_id)
    if user_domain is None:
        raise NotFound(TOKEN_NOT_FOUND)
    if trust.project_id is None:
        return TokenScope(user, user_domain, trust=trust)
    project = repos.projects.get(trust.project_id)
    domain = repos.domains.get(project.domain_id) if project else None
    if project is None or not project.enabled or domain is None or not domain.enabled:
        raise NotFound(TOKEN_NOT_FOUND)
    if not use.roles:
        raise NotFound(TOKEN_NOT_FOUND)
    return TokenScope(
        user, user_domain, use.roles, project=project, project_domain=domain, trust=trust
    )
