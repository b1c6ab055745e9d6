"""First start: the Default domain, the standard roles, the admin and demo users and projects,
and the catalog entry for identity itself. Idempotent: a second run changes nothing that exists
(passwords included), so `vistack up` can call it every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import (
    DEFAULT_DOMAIN_ID,
    SYSTEM_ALL,
    ActorKind,
    Assignment,
    Domain,
    Endpoint,
    Project,
    Region,
    Role,
    Service,
    TargetKind,
    User,
)
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore

#: Every role Keystone's bootstrap and a devstack cloud provide; admin ⇒ member ⇒ reader.
STANDARD_ROLES = ("admin", "member", "reader", "manager", "service", "ResellerAdmin")
IMPLIED = (("admin", "member"), ("member", "reader"), ("admin", "manager"), ("manager", "member"))


@dataclass(frozen=True)
class BootstrapAccount:
    user: str
    project: str
    password: str


@dataclass(frozen=True)
class ServiceEndpoint:
    """A service of this cloud and the URL its catalog entry advertises."""

    type: str
    name: str
    url: str


class Bootstrapper:
    """Creates what a new cloud needs; holds the same store the services use."""

    def __init__(
        self, store: IdentityStore, changes: ChangeTracker, hasher: PasswordHasher
    ) -> None:
        self._store = store
        self._changes = changes
        self._hasher = hasher

    def run(
        self,
        *,
        admin: BootstrapAccount,
        demo: BootstrapAccount,
        region: str,
        services: list[ServiceEndpoint],
    ) -> None:
        _bootstrap(self._store, self._changes, self._hasher, admin, demo, region, services)


def _bootstrap(
    store: IdentityStore,
    changes: ChangeTracker,
    hasher: PasswordHasher,
    admin: BootstrapAccount,
    demo: BootstrapAccount,
    region: str,
    services: list[ServiceEndpoint],
) -> None:
    with store.transaction() as repos:
        if repos.domains.get(DEFAULT_DOMAIN_ID) is None:
            repos.domains.add(Domain(DEFAULT_DOMAIN_ID, "Default", "The default domain"))
        roles = {name: _ensure_role(repos, name) for name in STANDARD_ROLES}
        existing = set(repos.roles.implications())
        for prior, implied in IMPLIED:
            if (prior, implied) not in {(i.prior_role_id, i.implied_role_id) for i in existing}:
                repos.roles.add_implication(roles[prior].id, roles[implied].id)
        admin_user, admin_project = _ensure_account(repos, hasher, admin)
        repos.assignments.add(
            Assignment(
                ActorKind.USER, admin_user, TargetKind.PROJECT, admin_project, roles["admin"].id
            )
        )
        repos.assignments.add(
            Assignment(ActorKind.USER, admin_user, TargetKind.SYSTEM, SYSTEM_ALL, roles["admin"].id)
        )
        repos.assignments.add(
            Assignment(
                ActorKind.USER, admin_user, TargetKind.DOMAIN, DEFAULT_DOMAIN_ID, roles["admin"].id
            )
        )
        demo_user, demo_project = _ensure_account(repos, hasher, demo)
        repos.assignments.add(
            Assignment(
                ActorKind.USER, demo_user, TargetKind.PROJECT, demo_project, roles["member"].id
            )
        )
        if repos.catalog.get_region(region) is None:
            repos.catalog.put_region(Region(region))
        for entry in services:
            _ensure_service(repos, region, entry)
    changes.changed()


def _ensure_role(repos: IdentityRepositories, name: str) -> Role:
    found = repos.roles.find(name=name)
    if found:
        return found[0]
    role = Role(
        new_id(), name, options={"immutable": True} if name in ("admin", "member", "reader") else {}
    )
    repos.roles.add(role)
    return role


def _ensure_account(
    repos: IdentityRepositories, hasher: PasswordHasher, account: BootstrapAccount
) -> tuple[str, str]:
    project = repos.projects.get_by_name(DEFAULT_DOMAIN_ID, account.project)
    if project is None:
        project = Project(
            new_id(),
            account.project,
            DEFAULT_DOMAIN_ID,
            description=f"Bootstrap project for {account.user}",
        )
        repos.projects.add(project)
    user = repos.users.get_by_name(DEFAULT_DOMAIN_ID, account.user)
    if user is None:
        user = User(new_id(), account.user, DEFAULT_DOMAIN_ID, default_project_id=project.id)
        repos.users.add(user, hasher.hash(account.password))
    return user.id, project.id


def _ensure_service(repos: IdentityRepositories, region: str, entry: ServiceEndpoint) -> None:
    found = repos.catalog.list_services(type=entry.type, name=entry.name)
    service = found[0] if found else Service(new_id(), entry.type, entry.name)
    if not found:
        repos.catalog.put_service(service)
    current = {e.interface: e for e in repos.catalog.list_endpoints(service_id=service.id)}
    for interface in ("public", "internal", "admin"):
        endpoint = current.get(interface)
        if endpoint is None:
            repos.catalog.put_endpoint(Endpoint(new_id(), service.id, interface, entry.url, region))
        elif endpoint.url != entry.url:
            # The bind address may change between runs: keep the catalog truthful.
            repos.catalog.put_endpoint(
                Endpoint(
                    endpoint.id,
                    service.id,
                    interface,
                    entry.url,
                    endpoint.region_id,
                    endpoint.enabled,
                )
            )
