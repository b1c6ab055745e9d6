"""Regions, services and endpoints, and the catalog a token carries."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vistack.common.cache import Cache
from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.identity.domain.changes import ChangeTracker, GenerationCache
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.limits import registrations_using
from vistack.identity.domain.models import Endpoint, Region, Service
from vistack.identity.domain.ports import IdentityStore

INTERFACES = ("public", "internal", "admin")


@dataclass(frozen=True)
class CatalogEntry:
    service: Service
    endpoints: tuple[Endpoint, ...]


def substitute_url(url: str, values: dict[str, str]) -> str | None:
    """Fill `$(project_id)s` / `%(project_id)s` templates; None when a value is missing."""
    filled = url.replace("$(", "%(")
    try:
        return filled % values if "%(" in filled else filled
    except (KeyError, ValueError, TypeError):
        return None


class CatalogService:
    def __init__(self, store: IdentityStore, changes: ChangeTracker, cache: Cache) -> None:
        self._store = store
        self._changes = changes
        self._catalogs = GenerationCache(cache, changes, "catalog")

    # regions
    def get_region(self, region_id: str) -> Region:
        with self._store.transaction() as repos:
            region = repos.catalog.get_region(region_id)
        if region is None:
            raise NotFound(f"Could not find region: {region_id}.")
        return region

    def list_regions(self, parent_region_id: str | None = None) -> list[Region]:
        with self._store.transaction() as repos:
            return repos.catalog.list_regions(parent_region_id)

    def create_region(
        self, region_id: str | None, description: str = "", parent_region_id: str | None = None
    ) -> Region:
        region = Region(region_id or new_id(), description, parent_region_id)
        with self._store.transaction() as repos:
            if repos.catalog.get_region(region.id) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store region - Duplicate ID, {region.id}."
                )
            if parent_region_id and repos.catalog.get_region(parent_region_id) is None:
                raise NotFound(f"Could not find region: {parent_region_id}.")
            repos.catalog.put_region(region)
        self._changes.changed()
        return region

    def update_region(self, region_id: str, changes: dict[str, Any]) -> Region:
        with self._store.transaction() as repos:
            region = repos.catalog.get_region(region_id)
            if region is None:
                raise NotFound(f"Could not find region: {region_id}.")
            updated = dataclasses.replace(region, **changes)
            parent = updated.parent_region_id
            if parent is not None:
                if parent == region_id:
                    raise BadRequest("A region cannot be its own parent.")
                if repos.catalog.get_region(parent) is None:
                    raise NotFound(f"Could not find region: {parent}.")
            repos.catalog.put_region(updated)
        self._changes.changed()
        return updated

    def delete_region(self, region_id: str) -> None:
        with self._store.transaction() as repos:
            if repos.catalog.get_region(region_id) is None:
                raise NotFound(f"Could not find region: {region_id}.")
            if repos.catalog.list_regions(parent_region_id=region_id):
                raise Conflict(f"Region {region_id} still has child regions.")
            if repos.catalog.list_endpoints(region_id=region_id):
                # Keystone's RegionDeletionError: never leave endpoints in a missing region.
                raise Forbidden(
                    f"Unable to delete region {region_id} because it has associated endpoints."
                )
            if registrations_using(repos, region_id=region_id):
                raise Conflict(f"Region {region_id} is still used by registered limits.")
            repos.catalog.delete_region(region_id)
        self._changes.changed()

    # services
    def get_service(self, service_id: str) -> Service:
        with self._store.transaction() as repos:
            service = repos.catalog.get_service(service_id)
        if service is None:
            raise NotFound(f"Could not find service: {service_id}.")
        return service

    def list_services(self, type: str | None = None, name: str | None = None) -> list[Service]:
        with self._store.transaction() as repos:
            return repos.catalog.list_services(type, name)

    def create_service(
        self, type: str, name: str = "", description: str = "", enabled: bool = True
    ) -> Service:
        service = Service(new_id(), type, name, description, enabled)
        with self._store.transaction() as repos:
            repos.catalog.put_service(service)
        self._changes.changed()
        return service

    def update_service(self, service_id: str, changes: dict[str, Any]) -> Service:
        updated = dataclasses.replace(self.get_service(service_id), **changes)
        with self._store.transaction() as repos:
            repos.catalog.put_service(updated)
        self._changes.changed()
        return updated

    def delete_service(self, service_id: str) -> None:
        """:raises Conflict: registered limits use it (Keystone refuses too)."""
        self.get_service(service_id)
        with self._store.transaction() as repos:
            if registrations_using(repos, service_id=service_id):
                raise Conflict(f"Service {service_id} is still used by registered limits.")
            repos.catalog.delete_service(service_id)
        self._changes.changed()

    # endpoints
    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        with self._store.transaction() as repos:
            endpoint = repos.catalog.get_endpoint(endpoint_id)
        if endpoint is None:
            raise NotFound(f"Could not find endpoint: {endpoint_id}.")
        return endpoint

    def list_endpoints(self, **filters: Any) -> list[Endpoint]:
        with self._store.transaction() as repos:
            return repos.catalog.list_endpoints(**filters)

    def create_endpoint(
        self,
        service_id: str,
        interface: str,
        url: str,
        region_id: str | None = None,
        enabled: bool = True,
    ) -> Endpoint:
        endpoint = Endpoint(new_id(), service_id, interface, url, region_id, enabled)
        self._check_endpoint(endpoint)
        with self._store.transaction() as repos:
            if repos.catalog.get_service(service_id) is None:
                raise NotFound(f"Could not find service: {service_id}.")
            if region_id and repos.catalog.get_region(region_id) is None:
                # Keystone creates a region an endpoint names; registering a new site's
                # endpoints must not need a separate call.
                repos.catalog.put_region(Region(region_id))
            repos.catalog.put_endpoint(endpoint)
        self._changes.changed()
        return endpoint

    def update_endpoint(self, endpoint_id: str, changes: dict[str, Any]) -> Endpoint:
        updated = dataclasses.replace(self.get_endpoint(endpoint_id), **changes)
        self._check_endpoint(updated)
        with self._store.transaction() as repos:
            if repos.catalog.get_service(updated.service_id) is None:
                raise NotFound(f"Could not find service: {updated.service_id}.")
            if updated.region_id and repos.catalog.get_region(updated.region_id) is None:
                repos.catalog.put_region(Region(updated.region_id))
            repos.catalog.put_endpoint(updated)
        self._changes.changed()
        return updated

    def delete_endpoint(self, endpoint_id: str) -> None:
        self.get_endpoint(endpoint_id)
        with self._store.transaction() as repos:
            repos.catalog.delete_endpoint(endpoint_id)
        self._changes.changed()

    @staticmethod
    def _check_endpoint(endpoint: Endpoint) -> None:
        if endpoint.interface not in INTERFACES:
            raise BadRequest(
                f"Invalid interface {endpoint.interface!r}: expected one of "
                f"{', '.join(INTERFACES)}."
            )
        if not endpoint.url.startswith(("http://", "https://")):
            raise BadRequest(f"Invalid endpoint URL {endpoint.url!r}: it must be http(s).")

    def cached_catalog(self, project_id: str | None) -> list[CatalogEntry] | None:
        """The catalog for `project_id` if it is cached for this generation, else None."""
        cached: list[CatalogEntry] | None = self._catalogs.get(str(project_id))
        return cached

    def catalog_for_project(self, project_id: str | None) -> list[CatalogEntry]:
        """The catalog a token scoped to `project_id` carries, cached per identity generation."""
        cached = self.cached_catalog(project_id)
        if cached is None:
            cached = self.catalog({"project_id": project_id} if project_id else {})
            self._catalogs.set(str(project_id), cached)
        return cached

    def catalog(self, values: dict[str, str]) -> list[CatalogEntry]:
        """Enabled services with their enabled endpoints, templates filled from `values`."""
        with self._store.transaction() as repos:
            services = [s for s in repos.catalog.list_services() if s.enabled]
            endpoints = repos.catalog.list_endpoints()
        entries: list[CatalogEntry] = []
        for service in services:
            filled: list[Endpoint] = []
            for endpoint in endpoints:
                if endpoint.service_id != service.id or not endpoint.enabled:
                    continue
                url = substitute_url(endpoint.url, values)
                if url is not None:
                    filled.append(dataclasses.replace(endpoint, url=url))
            entries.append(CatalogEntry(service, tuple(filled)))
        return entries
