"""Roles, implied roles and role assignments, and the effective roles a user holds.

Effective roles are what tokens carry: direct grants, grants through groups, grants inherited
from a domain or an ancestor project (OS-INHERIT), all closed over implied roles
(admin ⇒ member ⇒ reader). The same expansion serves `GET /v3/role_assignments?effective`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import (
    ActorKind,
    Assignment,
    Domain,
    ImpliedRole,
    Project,
    Role,
    TargetKind,
)
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore
from vistack.identity.domain.resources import project_ancestors, project_descendants

#: Roles no implication may grant (Keystone's `prohibited_implied_role` default).
PROHIBITED_IMPLIED_ROLES = frozenset({"admin"})


@dataclass(frozen=True)
class AssignmentFilter:
    """The filters of `GET /v3/role_assignments`."""

    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool | None = None
    effective: bool = False
    include_subtree: bool = False


class AssignmentService:
    def __init__(self, store: IdentityStore, changes: ChangeTracker) -> None:
        self._store = store
        self._changes = changes

    # roles
    def get_role(self, role_id: str) -> Role:
        with self._store.transaction() as repos:
            return require_role(repos, role_id)

    def list_roles(self, name: str | None = None, domain_id: str | None = None) -> list[Role]:
        with self._store.transaction() as repos:
            return repos.roles.find(name=name, domain_id=domain_id)

    def create_role(
        self,
        name: str,
        domain_id: str | None = None,
        description: str | None = None,
        options: dict[str, Any] | None = None,
        role_id: str | None = None,
    ) -> Role:
        role = Role(role_id or new_id(), name, domain_id, description, options or {})
        with self._store.transaction() as repos:
            if domain_id and repos.domains.get(domain_id) is None:
                raise NotFound(f"Could not find domain: {domain_id}.")
            if repos.roles.find(name=name, domain_id=domain_id):
                raise Conflict(
                    f"Conflict occurred attempting to store role - Duplicate entry "
                    f"found with name {name}."
                )
            repos.roles.add(role)
        self._changes.changed()
        return role

    def update_role(self, role_id: str, changes: dict[str, Any]) -> Role:
        with self._store.transaction() as repos:
            role = require_role(repos, role_id)
            if role.options.get("immutable"):
                raise Forbidden(f"Role {role_id} is immutable; unset the immutable option first.")
            if "domain_id" in changes and changes.pop("domain_id") != role.domain_id:
                raise BadRequest("Update of `domain_id` is not allowed.")
            updated = dataclasses.replace(role, **changes)
            if updated.name != role.name and repos.roles.find(
                name=updated.name, domain_id=role.domain_id
            ):
                raise Conflict(
                    f"Conflict occurred attempting to store role - Duplicate entry "
                    f"found with name {updated.name}."
                )
            repos.roles.update(updated)
        self._changes.changed()
        return updated

    def delete_role(self, role_id: str) -> None:
        with self._store.transaction() as repos:
            role = require_role(repos, role_id)
            if role.options.get("immutable"):
                raise Forbidden(f"Role {role_id} is immutable and cannot be deleted.")
            repos.roles.delete(role_id)
        self._changes.changed()

    # implied roles
    def create_implied_role(self, prior_role_id: str, implied_role_id: str) -> tuple[Role, Role]:
        with self._store.transaction() as repos:
            prior = require_role(repos, prior_role_id)
            implied = require_role(repos, implied_role_id)
            if implied.domain_id and not prior.domain_id:
                # A global role reaches every domain; it cannot grant one domain's private role.
                raise Forbidden("A global role cannot imply a domain-specific role.")
            if implied.name in PROHIBITED_IMPLIED_ROLES:
                # Keystone's [assignment] prohibited_implied_role default: admin is only ever
                # granted explicitly.
                raise Forbidden(f"{implied_role_id} cannot be an implied role.")
            if prior_role_id == implied_role_id or prior_role_id in _closure(
                repos.roles.implications(), [implied_role_id]
            ):
                raise Forbidden("That implication would create a cycle of implied roles.")
            repos.roles.add_implication(prior_role_id, implied_role_id)
        self._changes.changed()
        return prior, implied

    def get_implied_role(self, prior_role_id: str, implied_role_id: str) -> tuple[Role, Role]:
        with self._store.transaction() as repos:
            prior = require_role(repos, prior_role_id)
            implied = require_role(repos, implied_role_id)
            if ImpliedRole(prior_role_id, implied_role_id) not in repos.roles.implications():
                raise NotFound(f"{prior_role_id} does not imply {implied_role_id}.")
            return prior, implied

    def delete_implied_role(self, prior_role_id: str, implied_role_id: str) -> None:
        with self._store.transaction() as repos:
            require_role(repos, prior_role_id)
            require_role(repos, implied_role_id)
            if not repos.roles.remove_implication(prior_role_id, implied_role_id):
                raise NotFound(f"{prior_role_id} does not imply {implied_role_id}.")
        self._changes.changed()

    def list_implied_roles(self, prior_role_id: str) -> tuple[Role, list[Role]]:
        with self._store.transaction() as repos:
            prior = require_role(repos, prior_role_id)
            ids = [
                i.implied_role_id
                for i in repos.roles.implications()
                if i.prior_role_id == prior_role_id
            ]
            return prior, repos.roles.find(ids=ids)

    def list_role_inferences(self) -> list[tuple[Role, list[Role]]]:
        with self._store.transaction() as repos:
            roles = {role.id: role for role in repos.roles.all()}
            grouped: dict[str, list[Role]] = {}
            for implication in repos.roles.implications():
                grouped.setdefault(implication.prior_role_id, []).append(
                    roles[implication.implied_role_id]
                )
            return [(roles[prior], implied) for prior, implied in grouped.items()]

    # grants
    def grant(self, assignment: Assignment) -> None:
        with self._store.transaction() as repos:
            self._check_grant_parts(repos, assignment)
            repos.assignments.add(assignment)
        self._changes.changed()

    def check_grant(self, assignment: Assignment) -> None:
        with self._store.transaction() as repos:
            self._check_grant_parts(repos, assignment)
            if not repos.assignments.exists(assignment):
                raise NotFound(
                    f"Could not find role assignment with role: "
                    f"{assignment.role_id}, {assignment.actor_kind.value.lower()}: "
                    f"{assignment.actor_id}, "
                    f"{assignment.target_kind.value.lower()}: {assignment.target_id}."
                )

    def revoke(self, assignment: Assignment) -> None:
        with self._store.transaction() as repos:
            self._check_grant_parts(repos, assignment)
            if not repos.assignments.remove(assignment):
                raise NotFound(
                    f"Could not find role assignment with role: "
                    f"{assignment.role_id}, {assignment.actor_kind.value.lower()}: "
                    f"{assignment.actor_id}, "
                    f"{assignment.target_kind.value.lower()}: {assignment.target_id}."
                )
        self._changes.changed()

    def list_grants(
        self,
        actor_kind: ActorKind,
        actor_id: str,
        target_kind: TargetKind,
        target_id: str,
        inherited: bool = False,
    ) -> list[Role]:
        with self._store.transaction() as repos:
            probe = Assignment(actor_kind, actor_id, target_kind, target_id, "", inherited)
            self._check_grant_parts(repos, probe, check_role=False)
            found = repos.assignments.find(
                actor_ids=[actor_id],
                target_ids=[target_id],
                types=[probe.storage_type],
                inherited=inherited,
            )
            return repos.roles.find(ids=[a.role_id for a in found])

    def _check_grant_parts(
        self, repos: IdentityRepositories, assignment: Assignment, check_role: bool = True
    ) -> None:
        if check_role:
            role = require_role(repos, assignment.role_id)
        if assignment.actor_kind is ActorKind.USER:
            if repos.users.get(assignment.actor_id) is None:
                raise NotFound(f"Could not find user: {assignment.actor_id}.")
        elif repos.groups.get(assignment.actor_id) is None:
            raise NotFound(f"Could not find group: {assignment.actor_id}.")
        if assignment.target_kind is TargetKind.PROJECT:
            project = repos.projects.get(assignment.target_id)
            if project is None:
                raise NotFound(f"Could not find project: {assignment.target_id}.")
            target_domain: str | None = project.domain_id
        elif assignment.target_kind is TargetKind.DOMAIN:
            if repos.domains.get(assignment.target_id) is None:
                raise NotFound(f"Could not find domain: {assignment.target_id}.")
            target_domain = assignment.target_id
        else:
            target_domain = None
        if check_role and role.domain_id and role.domain_id != target_domain:
            raise Forbidden(
                f"Domain-specific role {role.id} can only be granted within its "
                f"domain {role.domain_id}."
            )

    # effective roles
    def effective_roles(self, user_id: str, kind: TargetKind, target_id: str) -> list[Role]:
        with self._store.transaction() as repos:
            return effective_roles(repos, user_id, kind, target_id)

    def projects_of_user(self, user_id: str) -> list[Project]:
        """Projects on which `user_id` holds any effective role."""
        with self._store.transaction() as repos:
            found = list_role_assignments(repos, AssignmentFilter(user_id=user_id, effective=True))
            ids = {a.target_id for a in found if a.target_kind is TargetKind.PROJECT}
            return repos.projects.find(ids=sorted(ids))

    def domains_of_user(self, user_id: str) -> list[Domain]:
        """Domains on which `user_id` holds any effective role."""
        with self._store.transaction() as repos:
            found = list_role_assignments(repos, AssignmentFilter(user_id=user_id, effective=True))
            ids = {a.target_id for a in found if a.target_kind is TargetKind.DOMAIN}
            return [d for d in repos.domains.find() if d.id in ids]

    def list_role_assignments(self, query: AssignmentFilter) -> list[Assignment]:
        with self._store.transaction() as repos:
            return list_role_assignments(repos, query)


def require_role(repos: IdentityRepositories, role_id: str) -> Role:
    role = repos.roles.get(role_id)
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return role


def _closure(implications: Iterable[ImpliedRole], role_ids: Iterable[str]) -> set[str]:
    """`role_ids` plus everything they imply, transitively."""
    implied: dict[str, list[str]] = {}
    for implication in implications:
        implied.setdefault(implication.prior_role_id, []).append(implication.implied_role_id)
    seen: set[str] = set()
    stack = list(role_ids)
    while stack:
        role_id = stack.pop()
        if role_id not in seen:
            seen.add(role_id)
            stack.extend(implied.get(role_id, ()))
    return seen


def implied_closure(repos: IdentityRepositories, role_ids: Iterable[str]) -> set[str]:
    """`role_ids` plus every role they imply, transitively."""
    return _closure(repos.roles.implications(), role_ids)


def effective_roles(
    repos: IdentityRepositories, user_id: str, kind: TargetKind, target_id: str
) -> list[Role]:
    """Roles `user_id` holds on the target: direct, via groups, inherited, then implied."""
    actors = [user_id, *repos.groups.group_ids_of_user(user_id)]
    direct_types = [f"User{kind.value}", f"Group{kind.value}"]
    grants = repos.assignments.find(
        actor_ids=actors, target_ids=[target_id], types=direct_types, inherited=False
    )
    if kind is TargetKind.PROJECT:
        project = repos.projects.get(target_id)
        if project is None:
            return []
        grants += repos.assignments.find(
            actor_ids=actors,
            target_ids=[project.domain_id],
            types=["UserDomain", "GroupDomain"],
            inherited=True,
        )
        ancestors = project_ancestors(repos, target_id)
        if ancestors:
            grants += repos.assignments.find(
                actor_ids=actors, target_ids=ancestors, types=direct_types, inherited=True
            )
    if not grants:
        return []
    role_ids = _closure(repos.roles.implications(), {grant.role_id for grant in grants})
    # Domain-specific roles are only a way to name a set of implied global roles: never in tokens.
    return [role for role in repos.roles.find(ids=sorted(role_ids)) if not role.domain_id]


def list_role_assignments(repos: IdentityRepositories, query: AssignmentFilter) -> list[Assignment]:
    """The assignments matching `query`, expanded as Keystone expands them with `effective`."""
    raw = repos.assignments.find(role_id=None if query.effective else query.role_id)
    if query.inherited is not None:
        raw = [a for a in raw if a.inherited == query.inherited]
    if query.effective:
        raw = _expand_groups(repos, raw)
        raw = _expand_inheritance(repos, raw)
        raw = _expand_implied(repos, raw)
        # Domain-specific roles only name a set of implied global roles: like tokens, the
        # effective view shows what they imply, never themselves.
        domain_roles = {role.id for role in repos.roles.all() if role.domain_id}
        raw = [a for a in raw if a.role_id not in domain_roles]
    results: list[Assignment] = []
    subtree: set[str] | None = None
    if query.project_id and query.include_subtree:
        subtree = {query.project_id, *project_descendants(repos, query.project_id)}
    for assignment in raw:
        if query.user_id and not (
            assignment.actor_kind is ActorKind.USER and assignment.actor_id == query.user_id
        ):
            continue
        if query.group_id and not (
            assignment.actor_kind is ActorKind.GROUP and assignment.actor_id == query.group_id
        ):
            continue
        if query.role_id and assignment.role_id != query.role_id:
            continue
        if query.project_id and not (
            assignment.target_kind is TargetKind.PROJECT
            and assignment.target_id in (subtree or {query.project_id})
        ):
            continue
        if query.domain_id and not (
            assignment.target_kind is TargetKind.DOMAIN and assignment.target_id == query.domain_id
        ):
            continue
        if query.system and assignment.target_kind is not TargetKind.SYSTEM:
            continue
        results.append(assignment)
    return results


def _expand_groups(repos: IdentityRepositories, raw: list[Assignment]) -> list[Assignment]:
    expanded: list[Assignment] = []
    for assignment in raw:
        if assignment.actor_kind is ActorKind.USER:
            expanded.append(assignment)
            continue
        for member in repos.groups.member_ids(assignment.actor_id):
            expanded.append(
                dataclasses.replace(
                    assignment,
                    actor_kind=ActorKind.USER,
                    actor_id=member,
                    via_group_id=assignment.actor_id,
                )
            )
    return expanded


def _expand_inheritance(repos: IdentityRepositories, raw: list[Assignment]) -> list[Assignment]:
    expanded: list[Assignment] = []
    for assignment in raw:
        if not assignment.inherited:
            expanded.append(assignment)
            continue
        if assignment.target_kind is TargetKind.DOMAIN:
            projects = [p.id for p in repos.projects.find(domain_id=assignment.target_id)]
        else:
            projects = project_descendants(repos, assignment.target_id)
        expanded.extend(
            dataclasses.replace(
                assignment, target_kind=TargetKind.PROJECT, target_id=project_id, inherited=False
            )
            for project_id in projects
        )
    return expanded


def _expand_implied(repos: IdentityRepositories, raw: list[Assignment]) -> list[Assignment]:
    implications = repos.roles.implications()
    expanded: list[Assignment] = []
    seen: set[tuple[str, str, str, str]] = set()
    for assignment in raw:
        expanded.append(assignment)
        seen.add(
            (
                assignment.actor_id,
                assignment.target_id,
                assignment.role_id,
                assignment.via_group_id or "",
            )
        )
        for implied in sorted(_closure(implications, [assignment.role_id]) - {assignment.role_id}):
            key = (
                assignment.actor_id,
                assignment.target_id,
                implied,
                assignment.via_group_id or "",
            )
            if key in seen:
                continue
            seen.add(key)
            expanded.append(
                dataclasses.replace(assignment, role_id=implied, via_role_id=assignment.role_id)
            )
    return expanded
