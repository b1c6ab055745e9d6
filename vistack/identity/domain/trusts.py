"""Trusts (OS-TRUST): a trustor delegates some of its roles on a project to a trustee.

The trustee authenticates as itself and asks for the trust as its scope; the token it gets
carries the delegated roles on the trust's project, and stands for the trustor when the trust
allows impersonation. Nothing about a trust is copied into its tokens but its id: every
validation re-checks that the trust still exists and that the trustor (for a redelegated trust,
the trustor at the root of the chain) still holds every delegated role.

A trust may be redelegated (Keystone's behaviour): with `allow_redelegation` its trustee may,
with a token scoped to it, create a trust of its own to a third user, for a subset of the roles,
expiring no later, impersonating only if the parent does; `redelegation_count` bounds the length
of the chain. Deleting a trust deletes the trusts redelegated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vistack.common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from vistack.identity.domain.assignments import effective_roles, implied_closure
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import Role, TargetKind, Trust, User
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore
from vistack.identity.domain.time import utcnow

#: Keystone's `[trust] max_redelegation_count` default.
MAX_REDELEGATION_COUNT = 3
NO_DELEGATED_ROLES = "Trustee has no delegated roles."


@dataclass(frozen=True)
class TrustRequest:
    """The body of `POST /v3/OS-TRUST/trusts`, parsed."""

    trustor_user_id: str
    trustee_user_id: str
    impersonation: bool
    project_id: str | None = None
    #: (id, name) pairs, exactly one of each set.
    role_refs: tuple[tuple[str | None, str | None], ...] = ()
    expires_at: datetime | None = None
    remaining_uses: int | None = None
    allow_redelegation: bool = False
    redelegation_count: int | None = None
    redelegated_trust_id: str | None = None


@dataclass(frozen=True)
class TrustUse:
    """What a trust grants right now."""

    trust: Trust
    trustor: User
    #: The delegated roles closed over implied roles, as the token carries them.
    roles: tuple[Role, ...]


def trust_not_found(trust_id: str) -> NotFound:
    return NotFound(f"Could not find trust: {trust_id}.")


class TrustService:
    def __init__(
        self,
        store: IdentityStore,
        changes: ChangeTracker,
        max_redelegation_count: int = MAX_REDELEGATION_COUNT,
    ) -> None:
        self._store = store
        self._changes = changes
        self._max_redelegation_count = max_redelegation_count

    def create(
        self, request: TrustRequest, *, caller_user_id: str | None, caller_trust_id: str | None
    ) -> Trust:
        """Create a trust; a caller with a trust-scoped token redelegates that trust.

        :raises Forbidden: the caller is not the trustor, a project without roles, or what a
            redelegation may not do.
        :raises NotFound: the trustee, project or a role does not exist, or the trustor does
            not hold a requested role on the project.
        :raises BadRequest: a past `expires_at`, or `remaining_uses` with redelegation.
        """
        now = utcnow()
        if caller_user_id is None or caller_user_id != request.trustor_user_id:
            raise Forbidden("The authenticated user should match the trustor.")
        if request.project_id and not request.role_refs:
            raise Forbidden("At least one role should be specified.")
        if request.expires_at is not None and request.expires_at <= now:
            raise BadRequest("The expiration date of a trust must be in the future.")
        redelegatable = request.allow_redelegation and request.redelegation_count != 0
        if redelegatable:
            if request.remaining_uses is not None:
                raise BadRequest("remaining_uses must not be set if redelegation is allowed.")
            requested = request.redelegation_count
            if requested is not None and requested > self._max_redelegation_count:
                raise Forbidden(
                    f"Requested redelegation depth of {requested} is greater than allowed "
                    f"{self._max_redelegation_count}."
                )
        with self._store.transaction() as repos:
            if repos.users.get(request.trustee_user_id) is None:
                raise NotFound(f"Could not find user: {request.trustee_user_id}.")
            if request.project_id is not None and repos.projects.get(request.project_id) is None:
                raise NotFound(f"Could not find project: {request.project_id}.")
            parent = None
            if caller_trust_id is not None:
                parent = repos.trusts.get(caller_trust_id)
                if parent is None or parent.expired(now):
                    raise trust_not_found(caller_trust_id)
            if request.redelegated_trust_id is not None and (
                parent is None or parent.id != request.redelegated_trust_id
            ):
                raise Forbidden("A trust is redelegated with a token scoped to that trust only.")
            role_ids = _role_ids(repos, request.role_refs)
            expires_at = request.expires_at
            if parent is not None:
                expires_at = _check_redelegation(parent, request, role_ids, expires_at)
            root_trustor = _chain(repos, parent, now)[-1].trustor_user_id if parent else None
            held = (
                effective_roles(
                    repos,
                    root_trustor or request.trustor_user_id,
                    TargetKind.PROJECT,
                    request.project_id,
                )
                if request.project_id
                else []
            )
            by_id = {role.id: role for role in held}
            for role_id in role_ids:
                if role_id not in by_id:
                    raise NotFound(f"Could not find role: {role_id}.")
            if parent is not None:
                count = parent.redelegation_count - 1 if redelegatable else 0
                if redelegatable and request.redelegation_count not in (None, count):
                    raise Forbidden(
                        'Modifying "redelegation_count" upon redelegation is forbidden. '
                        "Omitting this parameter is advised."
                    )
            elif redelegatable:
                count = (
                    self._max_redelegation_count
                    if request.redelegation_count is None
                    else request.redelegation_count
                )
            else:
                count = 0
            trust = Trust(
                id=new_id(),
                trustor_user_id=request.trustor_user_id,
                trustee_user_id=request.trustee_user_id,
                project_id=request.project_id,
                impersonation=request.impersonation,
                roles=tuple(sorted((by_id[i] for i in role_ids), key=lambda r: r.name)),
                role_ids=tuple(role_ids),
                expires_at=expires_at,
                remaining_uses=request.remaining_uses,
                redelegation_count=count,
                redelegated_trust_id=parent.id if parent else None,
            )
            repos.trusts.add(trust)
        self._changes.changed()
        return trust

    def get(self, trust_id: str) -> Trust:
        """A trust that can still be used.

        :raises NotFound: no such trust, or it expired or has no uses left (as in Keystone).
        """
        trust = self.lookup(trust_id)
        if trust.expired(utcnow()) or trust.remaining_uses == 0:
            raise trust_not_found(trust_id)
        return trust

    def lookup(self, trust_id: str) -> Trust:
        """A trust in any state (expired, used up), for its owner to delete."""
        with self._store.transaction() as repos:
            trust = repos.trusts.get(trust_id)
        if trust is None:
            raise trust_not_found(trust_id)
        return trust

    def list_trusts(
        self, trustor_user_id: str | None = None, trustee_user_id: str | None = None
    ) -> list[Trust]:
        with self._store.transaction() as repos:
            return repos.trusts.find(
                trustor_user_id=trustor_user_id, trustee_user_id=trustee_user_id
            )

    def delete(self, trust_id: str) -> None:
        """Delete a trust and every trust redelegated from it; their tokens stop validating."""
        with self._store.transaction() as repos:
            if repos.trusts.get(trust_id) is None:
                raise trust_not_found(trust_id)
            repos.trusts.delete(trust_id)
        self._changes.changed()


def resolve_trust_use(
    repos: IdentityRepositories, trust_id: str, user_id: str, now: datetime, *, issuing: bool
) -> TrustUse:
    """Check that `user_id` may use the trust now, and what it grants.

    `issuing` (a new token) also requires a use left; tokens already issued stay valid when
    the last use is taken.

    :raises Unauthorized: the trust (or one it was redelegated from) does not exist or expired,
        or, when issuing, has no use left.
    :raises Forbidden: `user_id` is not the trustee, an agent of the trust is disabled, or the
        trustor no longer holds every delegated role.
    """
    trust = repos.trusts.get(trust_id)
    if (
        trust is None
        or trust.expired(now)
        or (issuing and trust.remaining_uses is not None and trust.remaining_uses <= 0)
    ):
        raise Unauthorized(f"Could not find trust: {trust_id}.")
    if trust.trustee_user_id != user_id:
        raise Forbidden("User is not a trustee.")
    try:
        chain = _chain(repos, trust, now)
    except NotFound as exc:
        raise Unauthorized(f"Could not find trust: {trust_id}.") from exc
    trustor = _active_user(repos, trust.trustor_user_id)
    if trustor is None:
        raise Forbidden("Trustor is disabled.")
    for link in chain[1:]:
        if _active_user(repos, link.trustor_user_id) is None:
            raise Forbidden("One of the trust agents is disabled or deleted.")
    if trust.project_id is None:
        return TrustUse(trust, trustor, ())
    if len(trust.roles) != len(trust.role_ids):
        raise Forbidden(NO_DELEGATED_ROLES)
    held = effective_roles(repos, chain[-1].trustor_user_id, TargetKind.PROJECT, trust.project_id)
    held_ids = {role.id for role in held}
    if not trust.role_ids or any(role_id not in held_ids for role_id in trust.role_ids):
        raise Forbidden(NO_DELEGATED_ROLES)
    wanted = implied_closure(repos, trust.role_ids)
    return TrustUse(trust, trustor, tuple(role for role in held if role.id in wanted))


def _chain(repos: IdentityRepositories, trust: Trust, now: datetime) -> list[Trust]:
    """`trust` and the trusts it was redelegated from, up to the root.

    :raises NotFound: a link is gone or expired.
    """
    chain = [trust]
    while chain[-1].redelegated_trust_id is not None:
        parent_id = chain[-1].redelegated_trust_id
        parent = repos.trusts.get(parent_id)
        # Parents always predate children, so a chain cannot loop; the bound guards bad data.
        if parent is None or parent.expired(now) or len(chain) > 1000:
            raise trust_not_found(parent_id)
        chain.append(parent)
    return chain


def _active_user(repos: IdentityRepositories, user_id: str) -> User | None:
    user = repos.users.get(user_id)
    if user is None or not user.enabled:
        return None
    domain = repos.domains.get(user.domain_id)
    return user if domain is not None and domain.enabled else None


def _role_ids(
    repos: IdentityRepositories, refs: tuple[tuple[str | None, str | None], ...]
) -> list[str]:
    ids: list[str] = []
    for role_id, name in refs:
        if role_id is None and name is not None:
            found = repos.roles.find(name=name)
            if not found:
                raise NotFound(f"Could not find role: {name}.")
            role_id = found[0].id
        if role_id is not None and role_id not in ids:
            ids.append(role_id)
    return ids


def _check_redelegation(
    parent: Trust, request: TrustRequest, role_ids: list[str], expires_at: datetime | None
) -> datetime | None:
    """What a trust redelegated from `parent` may not do; returns its expiry."""
    if parent.redelegation_count <= 0:
        raise Forbidden(f"Trust {parent.id} does not allow redelegation.")
    if request.project_id != parent.project_id:
        raise Forbidden("A redelegated trust must be on the project of the trust it comes from.")
    if any(role_id not in parent.role_ids for role_id in role_ids):
        raise Forbidden("Some of requested roles are not in redelegated trust.")
    if request.impersonation and not parent.impersonation:
        raise Forbidden(
            f"Impersonation is not allowed because redelegated trust does not specify "
            f"impersonation. Redelegated trust id: {parent.id}."
        )
    if request.remaining_uses is not None:
        raise Forbidden('Field "remaining_uses" must not be set in order to redelegate a trust.')
    if parent.expires_at is None:
        return expires_at
    if expires_at is None:
        return parent.expires_at
    if expires_at > parent.expires_at:
        raise Forbidden("Requested expiration time is more than redelegated trust can provide.")
    return expires_at
