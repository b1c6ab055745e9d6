"""Keystone's unified limits: registered (default) limits per service and resource, and the
limits of single projects and domains that override them, under the flat enforcement model.

Keystone only stores limits; the service owning a resource enforces them. `effective_limit` is
that service's side of it (Glance asks it on every upload), so its answers are cached per
identity generation: every limits write, like every identity write, starts a new generation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.identity.domain.changes import ChangeTracker, GenerationCache
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore

#: Keystone's only non-hierarchical model: a project's limit ignores its parents and children.
FLAT_MODEL = {
    "name": "flat",
    "description": (
        "Limit enforcement and validation does not take project hierarchy into consideration."
    ),
}

#: A limit of -1 means "unlimited" (Keystone's and oslo.limit's convention).
UNLIMITED = -1


@dataclass(frozen=True)
class RegisteredLimit:
    """The default limit of `resource_name` of a service, in one region or (None) in all."""

    id: str
    service_id: str
    resource_name: str
    default_limit: int
    region_id: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Limit:
    """A project's or a domain's own limit, attached to one registered limit.

    `service_id`, `region_id` and `resource_name` are those of the registered limit, copied here
    when read: they are what clients see and filter on.
    """

    id: str
    registered_limit_id: str
    resource_limit: int
    service_id: str
    resource_name: str
    region_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    description: str | None = None


class LimitStore(Protocol):
    def get_registered(self, registered_limit_id: str) -> RegisteredLimit | None: ...
    def find_registered(
        self,
        *,
        service_ids: Sequence[str] | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
    ) -> list[RegisteredLimit]: ...
    def find_registration(
        self, service_id: str, region_id: str | None, resource_name: str
    ) -> RegisteredLimit | None:
        """The registration of exactly this (service, region or None, resource)."""
        ...

    def add_registered(self, registered: RegisteredLimit) -> None: ...
    def update_registered(self, registered: RegisteredLimit) -> None: ...
    def delete_registered(self, registered_limit_id: str) -> None: ...
    def get(self, limit_id: str) -> Limit | None: ...
    def find(
        self,
        *,
        service_id: str | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
        registered_limit_ids: Sequence[str] | None = None,
    ) -> list[Limit]: ...
    def add(self, limit: Limit) -> None: ...
    def update(self, limit: Limit) -> None: ...
    def delete(self, limit_id: str) -> None: ...
    def delete_for_project(self, project_id: str) -> None: ...
    def delete_for_domain(self, domain_id: str) -> None: ...


@dataclass(frozen=True)
class LimitSpec:
    """One limit of a `POST /v3/limits` list, as the client named it."""

    service_id: str
    resource_name: str
    resource_limit: int
    region_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    description: str | None = None


#: What `effective_limit` caches for a miss, since the cache cannot hold None.
_NO_LIMIT = "none"


class LimitService:
    def __init__(
        self, store: IdentityStore, changes: ChangeTracker, cache: GenerationCache
    ) -> None:
        self._store = store
        self._changes = changes
        self._effective = cache

    @staticmethod
    def model() -> dict[str, str]:
        return dict(FLAT_MODEL)

    # registered limits
    def create_registered_limits(self, specs: Sequence[RegisteredLimit]) -> list[RegisteredLimit]:
        """Register every limit of the list, or none of them (ids are assigned here).

        :raises BadRequest: an unknown service or region (Keystone's ValidationError).
        :raises Conflict: a registration for that service, region and resource exists, or the
            list names one twice.
        """
        created = [dataclasses.replace(spec, id=new_id()) for spec in specs]
        with self._store.transaction() as repos:
            seen: set[tuple[str, str | None, str]] = set()
            for registered in created:
                _require_catalog(repos, registered.service_id, registered.region_id)
                key = _registration_key(registered)
                if key in seen or repos.limits.find_registration(*key) is not None:
                    raise _duplicate("registered_limit")
                seen.add(key)
                repos.limits.add_registered(registered)
        self._changes.changed()
        return created

    def register_defaults(
        self,
        service_type: str,
        region_id: str | None,
        defaults: Mapping[str, int],
        description: str,
    ) -> list[str]:
        """Register `defaults` for the catalog's first service of `service_type`, leaving alone
        any resource already registered there (an operator's change wins over the seed).

        Called at bootstrap so a service's quotas are unified limits from the first start, as
        devstack registers Glance's. Returns the resources it registered.
        """
        registered: list[str] = []
        with self._store.transaction() as repos:
            services = sorted(repos.catalog.list_services(type=service_type), key=lambda s: s.id)
            if not services:
                return registered
            service_id = services[0].id
            for resource, value in defaults.items():
                if repos.limits.find_registration(service_id, region_id, resource) is not None:
                    continue
                repos.limits.add_registered(
                    RegisteredLimit(new_id(), service_id, resource, value, region_id, description)
                )
                registered.append(resource)
        if registered:
            self._changes.changed()
        return registered

    def get_registered_limit(self, registered_limit_id: str) -> RegisteredLimit:
        with self._store.transaction() as repos:
            return _require_registered(repos, registered_limit_id)

    def list_registered_limits(
        self,
        service_id: str | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
    ) -> list[RegisteredLimit]:
        with self._store.transaction() as repos:
            return repos.limits.find_registered(
                service_ids=None if service_id is None else [service_id],
                region_id=region_id,
                resource_name=resource_name,
            )

    def update_registered_limit(
        self, registered_limit_id: str, changes: dict[str, Any]
    ) -> RegisteredLimit:
        """Change a registration nothing overrides yet.

        :raises Forbidden: project or domain limits refer to it (Keystone's
            RegisteredLimitError: their meaning would change under them).
        :raises BadRequest: an unknown service or region.
        :raises Conflict: the new (service, region, resource) is registered already.
        """
        with self._store.transaction() as repos:
            current = _require_registered(repos, registered_limit_id)
            _refuse_if_referenced(repos, current)
            updated = dataclasses.replace(current, **changes)
            _require_catalog(repos, updated.service_id, updated.region_id)
            key = _registration_key(updated)
            if key != _registration_key(current) and repos.limits.find_registration(*key):
                raise _duplicate("registered_limit")
            repos.limits.update_registered(updated)
        self._changes.changed()
        return updated

    def delete_registered_limit(self, registered_limit_id: str) -> None:
        """:raises Forbidden: project or domain limits still refer to it."""
        with self._store.transaction() as repos:
            _refuse_if_referenced(repos, _require_registered(repos, registered_limit_id))
            repos.limits.delete_registered(registered_limit_id)
        self._changes.changed()

    # project and domain limits
    def create_limits(self, specs: Sequence[LimitSpec]) -> list[Limit]:
        """Create every limit of the list, or none of them.

        :raises BadRequest: an unknown service, region, project or domain, or a limit naming
            both a project and a domain, or neither.
        :raises Forbidden: no registered limit matches (Keystone's NoLimitReference).
        :raises Conflict: the project or domain has a limit for that registration already.
        """
        created: list[Limit] = []
        with self._store.transaction() as repos:
            seen: set[tuple[str, str]] = set()
            for spec in specs:
                if (spec.project_id is None) == (spec.domain_id is None):
                    raise BadRequest(
                        "Invalid input for field 'limit': a limit needs a project_id or a "
                        "domain_id, not both."
                    )
                _require_catalog(repos, spec.service_id, spec.region_id)
                _require_owner(repos, spec.project_id, spec.domain_id)
                registered = repos.limits.find_registration(
                    spec.service_id, spec.region_id, spec.resource_name
                )
                if registered is None:
                    raise Forbidden(
                        "Unable to create a limit that has no corresponding registered limit."
                    )
                owner = spec.project_id or spec.domain_id or ""
                if (owner, registered.id) in seen or repos.limits.find(
                    project_id=spec.project_id,
                    domain_id=spec.domain_id,
                    registered_limit_ids=[registered.id],
                ):
                    raise _duplicate("limit")
                seen.add((owner, registered.id))
                limit = Limit(
                    id=new_id(),
                    registered_limit_id=registered.id,
                    resource_limit=spec.resource_limit,
                    service_id=registered.service_id,
                    resource_name=registered.resource_name,
                    region_id=registered.region_id,
                    project_id=spec.project_id,
                    domain_id=spec.domain_id,
                    description=spec.description,
                )
                repos.limits.add(limit)
                created.append(limit)
        self._changes.changed()
        return created

    def find_limit(self, limit_id: str) -> Limit | None:
        with self._store.transaction() as repos:
            return repos.limits.get(limit_id)

    def get_limit(self, limit_id: str) -> Limit:
        limit = self.find_limit(limit_id)
        if limit is None:
            raise NotFound(f"Could not find limit for {limit_id}.")
        return limit

    def list_limits(
        self,
        *,
        service_id: str | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
    ) -> list[Limit]:
        with self._store.transaction() as repos:
            return repos.limits.find(
                service_id=service_id,
                region_id=region_id,
                resource_name=resource_name,
                project_id=project_id,
                domain_id=domain_id,
            )

    def update_limit(self, limit_id: str, changes: dict[str, Any]) -> Limit:
        """Change `resource_limit` and/or `description`: nothing else of a limit changes."""
        with self._store.transaction() as repos:
            current = repos.limits.get(limit_id)
            if current is None:
                raise NotFound(f"Could not find limit for {limit_id}.")
            updated = dataclasses.replace(current, **changes)
            repos.limits.update(updated)
        self._changes.changed()
        return updated

    def delete_limit(self, limit_id: str) -> None:
        with self._store.transaction() as repos:
            if repos.limits.get(limit_id) is None:
                raise NotFound(f"Could not find limit for {limit_id}.")
            repos.limits.delete(limit_id)
        self._changes.changed()

    # enforcement, for the other services
    def effective_limit(
        self,
        service_type: str,
        resource_name: str,
        project_id: str,
        region_id: str | None = None,
    ) -> int | None:
        """The limit of `resource_name` that applies to `project_id`, or None when no service
        of type `service_type` registered one.

        Candidates are the registrations of the catalog's services of that type for the
        resource in `region_id` and in no region; a registration for the region beats the
        region-less one. The project's own limit on a candidate comes first, the candidate's
        default after it. -1 means unlimited. Cached per identity generation, so a cached
        answer costs no SQL and any identity write (limits, catalog, projects) refreshes it.
        """
        key = f"{service_type}\n{resource_name}\n{project_id}\n{region_id or ''}"
        cached = self._effective.get(key)
        if cached is not None:
            return None if cached == _NO_LIMIT else int(cached)
        found = self._resolve(service_type, resource_name, project_id, region_id)
        self._effective.set(key, _NO_LIMIT if found is None else found)
        return found

    def _resolve(
        self, service_type: str, resource_name: str, project_id: str, region_id: str | None
    ) -> int | None:
        with self._store.transaction() as repos:
            service_ids = [s.id for s in repos.catalog.list_services(type=service_type)]
            if not service_ids:
                return None
            registrations = [
                r
                for r in repos.limits.find_registered(
                    service_ids=service_ids, resource_name=resource_name
                )
                if r.region_id is None or r.region_id == region_id
            ]
            if not registrations:
                return None
            # The region's own registration first; the service id only makes it deterministic.
            registrations.sort(key=lambda r: (r.region_id is None, r.service_id))
            overrides = {
                limit.registered_limit_id: limit.resource_limit
                for limit in repos.limits.find(
                    project_id=project_id, registered_limit_ids=[r.id for r in registrations]
                )
            }
        for registered in registrations:
            if registered.id in overrides:
                return overrides[registered.id]
        return registrations[0].default_limit


def _registration_key(registered: RegisteredLimit) -> tuple[str, str | None, str]:
    return registered.service_id, registered.region_id, registered.resource_name


def _duplicate(kind: str) -> Conflict:
    return Conflict(f"Conflict occurred attempting to store {kind} - Duplicate entry.")


def _require_registered(repos: IdentityRepositories, registered_limit_id: str) -> RegisteredLimit:
    registered = repos.limits.get_registered(registered_limit_id)
    if registered is None:
        raise NotFound(f"Could not find registered limit for {registered_limit_id}.")
    return registered


def _refuse_if_referenced(repos: IdentityRepositories, registered: RegisteredLimit) -> None:
    if repos.limits.find(registered_limit_ids=[registered.id]):
        raise Forbidden(
            f"Unable to update or delete registered limit {registered.id} because there are "
            f"project limits associated with it."
        )


def _require_catalog(repos: IdentityRepositories, service_id: str, region_id: str | None) -> None:
    """Unknown references are a 400 in Keystone (ValidationError), not a 404."""
    if repos.catalog.get_service(service_id) is None:
        raise BadRequest(f"Invalid input for field 'service_id': no service {service_id}.")
    if region_id is not None and repos.catalog.get_region(region_id) is None:
        raise BadRequest(f"Invalid input for field 'region_id': no region {region_id}.")


def _require_owner(
    repos: IdentityRepositories, project_id: str | None, domain_id: str | None
) -> None:
    if project_id is not None and repos.projects.get(project_id) is None:
        raise BadRequest(f"Invalid input for field 'project_id': no project {project_id}.")
    if domain_id is not None and repos.domains.get(domain_id) is None:
        raise BadRequest(f"Invalid input for field 'domain_id': no domain {domain_id}.")


def registrations_using(
    repos: IdentityRepositories, *, service_id: str | None = None, region_id: str | None = None
) -> list[RegisteredLimit]:
    """The registered limits of a service or in a region, which the catalog must keep."""
    return repos.limits.find_registered(
        service_ids=None if service_id is None else [service_id], region_id=region_id
    )
