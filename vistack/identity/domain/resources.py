"""Domains and projects: naming, hierarchy and the enable/delete rules between them."""

from __future__ import annotations

import dataclasses
from typing import Any

from vistack.common.errors import BadRequest, Conflict, Forbidden, NotFound
from vistack.identity.domain.changes import ChangeTracker, GenerationCache
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import Domain, Project
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore

MAX_TAGS = 80
MAX_TAG_LENGTH = 255


def validate_tags(tags: list[str]) -> list[str]:
    """Keystone's tag rules: at most 80, 1 to 255 characters, no '/' or ','.

    :raises BadRequest: a tag breaks a rule.
    """
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"A project may have at most {MAX_TAGS} tags.")
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_LENGTH:
            raise BadRequest("Tags must be between 1 and 255 characters long.")
        if "/" in tag or "," in tag:
            raise BadRequest(f"Tag {tag!r} is invalid: tags may not contain '/' or ','.")
    return list(dict.fromkeys(tags))


class ResourceService:
    def __init__(
        self, store: IdentityStore, changes: ChangeTracker, lists: GenerationCache | None = None
    ) -> None:
        self._store = store
        self._changes = changes
        self._lists = lists

    # domains
    def get_domain(self, domain_id: str) -> Domain:
        with self._store.transaction() as repos:
            return _require_domain(repos, domain_id)

    def list_domains(self, name: str | None = None, enabled: bool | None = None) -> list[Domain]:
        with self._store.transaction() as repos:
            return repos.domains.find(name=name, enabled=enabled)

    def create_domain(
        self, name: str, description: str = "", enabled: bool = True, domain_id: str | None = None
    ) -> Domain:
        domain = Domain(domain_id or new_id(), name, description, enabled)
        with self._store.transaction() as repos:
            if repos.domains.get_by_name(name) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store domain - Duplicate entry "
                    f"found with name {name}."
                )
            if repos.domains.get(domain.id) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store domain - Duplicate ID, {domain.id}."
                )
            repos.domains.add(domain)
        self._changes.changed()
        return domain

    def update_domain(self, domain_id: str, changes: dict[str, Any]) -> Domain:
        with self._store.transaction() as repos:
            domain = _require_domain(repos, domain_id)
            updated = dataclasses.replace(domain, **changes)
            if updated.name != domain.name and repos.domains.get_by_name(updated.name):
                raise Conflict(
                    f"Conflict occurred attempting to update domain - Duplicate entry "
                    f"found with name {updated.name}."
                )
            repos.domains.update(updated)
        self._changes.changed()
        return updated

    def delete_domain(self, domain_id: str) -> None:
        """Delete a disabled domain with everything it owns.

        :raises Forbidden: the domain is still enabled (Keystone's safety rule).
        """
        with self._store.transaction() as repos:
            domain = _require_domain(repos, domain_id)
            if domain.enabled:
                raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
            projects = repos.projects.find(domain_id=domain_id)
            # Children before parents, so no foreign key points at a deleted row.
            for project in _leaves_first(projects):
                repos.assignments.remove_for_target(project.id)
                repos.trusts.delete_for_project(project.id)
                repos.user_credentials.delete_for_project(project.id)
                repos.limits.delete_for_project(project.id)
                repos.projects.delete(project.id)
            for user in repos.users.find(domain_id=domain_id):
                repos.assignments.remove_for_actor(user.id)
                repos.trusts.delete_for_user(user.id)
                repos.users.delete(user.id)
            for group in repos.groups.find(domain_id=domain_id):
                repos.assignments.remove_for_actor(group.id)
                repos.groups.delete(group.id)
            for role in repos.roles.find(domain_id=domain_id):
                repos.roles.delete(role.id)
            repos.assignments.remove_for_target(domain_id)
            repos.limits.delete_for_domain(domain_id)
            repos.domains.delete(domain_id)
        self._changes.changed()

    # projects
    def get_project(self, project_id: str) -> Project:
        with self._store.transaction() as repos:
            return _require_project(repos, project_id)

    def list_projects(self, **filters: Any) -> list[Project]:
        with self._store.transaction() as repos:
            projects = repos.projects.find(**filters)
        if self._lists is not None:
            self._lists.set(_filters_key(filters), projects)
        return projects

    def cached_projects(self, **filters: Any) -> list[Project] | None:
        """`list_projects` from memory, or None when it needs the database."""
        if self._lists is None:
            return None
        found: list[Project] | None = self._lists.get(_filters_key(filters))
        return found

    def create_project(
        self,
        name: str,
        domain_id: str | None = None,
        parent_id: str | None = None,
        description: str = "",
        enabled: bool = True,
        tags: list[str] | None = None,
    ) -> Project:
        with self._store.transaction() as repos:
            parent = None
            if parent_id is not None and (domain_id is None or parent_id != domain_id):
                parent = repos.projects.get(parent_id)
                if parent is None:
                    raise NotFound(f"Could not find project: {parent_id}.")
                if domain_id is not None and domain_id != parent.domain_id:
                    raise BadRequest("A project must be in the same domain as its parent.")
                domain_id = parent.domain_id
                if not parent.enabled and enabled:
                    raise Forbidden("Cannot create an enabled project under a disabled parent.")
            if domain_id is None:
                raise BadRequest("A project needs a domain_id or a parent_id.")
            if repos.domains.get(domain_id) is None:
                raise NotFound(f"Could not find domain: {domain_id}.")
            if repos.projects.get_by_name(domain_id, name) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store project - it is not "
                    f"permitted to have two projects with the same name in the same "
                    f"domain : {name}."
                )
            project = Project(
                id=new_id(),
                name=name,
                domain_id=domain_id,
                parent_id=parent.id if parent else None,
                description=description,
                enabled=enabled,
                tags=tuple(validate_tags(tags or [])),
            )
            repos.projects.add(project)
        self._changes.changed()
        return project

    def update_project(self, project_id: str, changes: dict[str, Any]) -> Project:
        if "tags" in changes:
            changes["tags"] = tuple(validate_tags(list(changes["tags"])))
        with self._store.transaction() as repos:
            project = _require_project(repos, project_id)
            if "domain_id" in changes and changes.pop("domain_id") != project.domain_id:
                raise BadRequest("Update of `domain_id` is not allowed.")
            if "parent_id" in changes and changes.pop("parent_id") not in (
                project.parent_id,
                project.domain_id,
            ):
                raise Forbidden("Update of `parent_id` is not allowed.")
            updated = dataclasses.replace(project, **changes)
            if updated.name != project.name and repos.projects.get_by_name(
                project.domain_id, updated.name
            ):
                raise Conflict(
                    f"Conflict occurred attempting to store project - it is not "
                    f"permitted to have two projects with the same name in the same "
                    f"domain : {updated.name}."
                )
            if not updated.enabled and project.enabled:
                children = repos.projects.find(parent_id=project_id, enabled=True)
                if children:
                    raise Forbidden(
                        f"Cannot disable project {project_id} since its subtree "
                        f"contains enabled projects."
                    )
            if updated.enabled and not project.enabled and project.parent_id:
                parent = repos.projects.get(project.parent_id)
                if parent is not None and not parent.enabled:
                    raise Forbidden(
                        f"Cannot enable project {project_id} since it has disabled parents."
                    )
            repos.projects.update(updated)
        self._changes.changed()
        return updated

    def delete_project(self, project_id: str) -> None:
        """Delete a leaf project, its role assignments and its limits.

        :raises Forbidden: the project still has children.
        """
        with self._store.transaction() as repos:
            _require_project(repos, project_id)
            if repos.projects.children_ids(project_id):
                raise Forbidden(
                    f"Cannot delete the project {project_id} since it is not a leaf "
                    f"in the hierarchy."
                )
            repos.assignments.remove_for_target(project_id)
            repos.trusts.delete_for_project(project_id)
            repos.user_credentials.delete_for_project(project_id)
            repos.limits.delete_for_project(project_id)
            repos.projects.delete(project_id)
        self._changes.changed()

    def set_project_tags(self, project_id: str, tags: list[str]) -> Project:
        return self.update_project(project_id, {"tags": tags})

    def ancestor_ids(self, project_id: str) -> list[str]:
        """Parent, grandparent, … of `project_id`."""
        with self._store.transaction() as repos:
            return project_ancestors(repos, project_id)


def _filters_key(filters: dict[str, Any]) -> str:
    return repr(sorted(filters.items()))


def project_descendants(repos: IdentityRepositories, project_id: str) -> list[str]:
    """Every descendant of `project_id` (not itself), parents before children."""
    found: list[str] = []
    frontier = [project_id]
    while frontier:
        children = [child for pid in frontier for child in repos.projects.children_ids(pid)]
        found.extend(children)
        frontier = children
    return found


def project_ancestors(repos: IdentityRepositories, project_id: str) -> list[str]:
    ancestors: list[str] = []
    project = repos.projects.get(project_id)
    while project is not None and project.parent_id and project.parent_id not in ancestors:
        ancestors.append(project.parent_id)
        project = repos.projects.get(project.parent_id)
    return ancestors


def _require_domain(repos: IdentityRepositories, domain_id: str) -> Domain:
    domain = repos.domains.get(domain_id)
    if domain is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain


def _require_project(repos: IdentityRepositories, project_id: str) -> Project:
    project = repos.projects.get(project_id)
    if project is None:
        raise NotFound(f"Could not find project: {project_id}.")
    return project


def _leaves_first(projects: list[Project]) -> list[Project]:
    depth: dict[str, int] = {}
    by_id = {p.id: p for p in projects}

    def depth_of(project: Project) -> int:
        if project.id not in depth:
            parent = by_id.get(project.parent_id or "")
            depth[project.id] = 0 if parent is None else depth_of(parent) + 1
        return depth[project.id]

    return sorted(projects, key=depth_of, reverse=True)
