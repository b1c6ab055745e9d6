"""`/v3/projects` and project tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import (
    Context,
    IdentityServices,
    Services,
    authorize,
    collection_links,
    query_bool,
)
from vistack.identity.api.schemas import ProjectCreate, ProjectUpdate, Strict
from vistack.identity.domain.models import Project

router = APIRouter()


class ProjectCreateRequest(Strict):
    project: ProjectCreate


class ProjectUpdateRequest(Strict):
    project: ProjectUpdate


class TagsRequest(Strict):
    tags: list[str]


def _target(
    services: IdentityServices, rule: str, context: RequestContext, project: Project
) -> None:
    authorize(services, rule, context, project__id=project.id, project__domain_id=project.domain_id)


@router.post("/v3/projects", status_code=201)
def create_project(
    request: Request, body: ProjectCreateRequest, services: Services, context: Context
) -> Response:
    spec = body.project
    if spec.is_domain:
        raise BadRequest("Projects acting as domains are not supported; create a domain.")
    domain_id = spec.domain_id or (
        None if spec.parent_id else context.user_domain_id or context.project_domain_id
    )
    authorize(services, "create_project", context, project__domain_id=domain_id)
    project = services.resources.create_project(
        spec.name, domain_id, spec.parent_id, spec.description or "", spec.enabled, spec.tags
    )
    return JSONBody({"project": views.project_view(request, project)}, status_code=201)


@router.get("/v3/projects")
async def list_projects(
    request: Request,
    services: Services,
    context: Context,
    domain_id: str | None = None,
    name: str | None = None,
    parent_id: str | None = None,
    enabled: str | None = None,
    tags: str | None = None,
    # Keystone spells these with hyphens: ?tags-any=a,b&not-tags=c&not-tags-any=d
    tags_any: Annotated[str | None, Query(alias="tags-any")] = None,
    not_tags: Annotated[str | None, Query(alias="not-tags")] = None,
    not_tags_any: Annotated[str | None, Query(alias="not-tags-any")] = None,
    is_domain: str | None = None,
) -> Response:
    authorize(services, "list_projects", context, domain_id=domain_id)
    if query_bool(is_domain):
        return JSONBody({"projects": [], "links": collection_links(request)})
    filters = {
        "domain_id": domain_id,
        "name": name,
        "parent_id": None if parent_id == domain_id else parent_id,
        "enabled": query_bool(enabled),
    }
    # From memory on the event loop when the list is cached for this identity generation.
    projects = services.resources.cached_projects(**filters)
    if projects is None:
        projects = await run_in_threadpool(lambda: services.resources.list_projects(**filters))
    projects = [p for p in projects if _tags_match(p, tags, tags_any, not_tags, not_tags_any)]
    return JSONBody(
        {
            "projects": [views.project_view(request, p) for p in projects],
            "links": collection_links(request),
        }
    )


def _tags_match(
    project: Project,
    all_of: str | None,
    any_of: str | None,
    none_of: str | None,
    not_any_of: str | None,
) -> bool:
    tags = set(project.tags)
    if all_of and not set(all_of.split(",")) <= tags:
        return False
    if any_of and not set(any_of.split(",")) & tags:
        return False
    if none_of and set(none_of.split(",")) <= tags:
        return False
    return not (not_any_of and set(not_any_of.split(",")) & tags)


@router.get("/v3/projects/{project_id}")
def get_project(
    request: Request,
    project_id: str,
    services: Services,
    context: Context,
    parents_as_ids: str | None = None,
    subtree_as_ids: str | None = None,
) -> Response:
    project = services.resources.get_project(project_id)
    _target(services, "get_project", context, project)
    body = views.project_view(request, project)
    if parents_as_ids is not None:
        body["parents"] = _nest(services.resources.ancestor_ids(project_id))
    if subtree_as_ids is not None:
        body["subtree"] = _subtree(services, project_id)
    return JSONBody({"project": body})


def _nest(ancestors: list[str]) -> dict[str, object] | None:
    nested: dict[str, object] | None = None
    for ancestor in reversed(ancestors):
        nested = {ancestor: nested}
    return nested


def _subtree(services: IdentityServices, project_id: str) -> dict[str, object] | None:
    children = services.resources.list_projects(parent_id=project_id)
    if not children:
        return None
    return {child.id: _subtree(services, child.id) for child in children}


@router.patch("/v3/projects/{project_id}")
def update_project(
    request: Request,
    project_id: str,
    body: ProjectUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    _target(services, "update_project", context, services.resources.get_project(project_id))
    changes = body.project.model_dump(exclude_unset=True, exclude={"options", "is_domain"})
    if changes.get("description") is None:
        changes.pop("description", None)
    project = services.resources.update_project(project_id, changes)
    return JSONBody({"project": views.project_view(request, project)})


@router.delete("/v3/projects/{project_id}", status_code=204)
def delete_project(project_id: str, services: Services, context: Context) -> Response:
    _target(services, "delete_project", context, services.resources.get_project(project_id))
    services.resources.delete_project(project_id)
    return Response(status_code=204)


@router.get("/v3/projects/{project_id}/tags")
def list_tags(project_id: str, services: Services, context: Context) -> Response:
    project = services.resources.get_project(project_id)
    _target(services, "get_project", context, project)
    return JSONBody({"tags": list(project.tags)})


@router.put("/v3/projects/{project_id}/tags")
def replace_tags(
    project_id: str, body: TagsRequest, services: Services, context: Context
) -> Response:
    _target(services, "update_project", context, services.resources.get_project(project_id))
    project = services.resources.set_project_tags(project_id, body.tags)
    return JSONBody({"tags": list(project.tags)})


@router.delete("/v3/projects/{project_id}/tags", status_code=204)
def clear_tags(project_id: str, services: Services, context: Context) -> Response:
    _target(services, "update_project", context, services.resources.get_project(project_id))
    services.resources.set_project_tags(project_id, [])
    return Response(status_code=204)


@router.get("/v3/projects/{project_id}/tags/{tag}", status_code=204)
@router.head("/v3/projects/{project_id}/tags/{tag}", status_code=204)
def check_tag(project_id: str, tag: str, services: Services, context: Context) -> Response:
    project = services.resources.get_project(project_id)
    _target(services, "get_project", context, project)
    if tag not in project.tags:
        raise NotFound(f"Tag {tag} not found on project {project_id}.")
    return Response(status_code=204)


@router.put("/v3/projects/{project_id}/tags/{tag}", status_code=201)
def add_tag(
    request: Request, project_id: str, tag: str, services: Services, context: Context
) -> Response:
    project = services.resources.get_project(project_id)
    _target(services, "update_project", context, project)
    services.resources.set_project_tags(project_id, [*project.tags, tag])
    return Response(status_code=201, headers={"Location": str(request.url)})


@router.delete("/v3/projects/{project_id}/tags/{tag}", status_code=204)
def remove_tag(project_id: str, tag: str, services: Services, context: Context) -> Response:
    project = services.resources.get_project(project_id)
    _target(services, "update_project", context, project)
    if tag not in project.tags:
        raise NotFound(f"Tag {tag} not found on project {project_id}.")
    services.resources.set_project_tags(project_id, [t for t in project.tags if t != tag])
    return Response(status_code=204)
