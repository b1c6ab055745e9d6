"""Role grants on projects, domains and the system, and `/v3/role_assignments`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

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
    v3_url,
)
from vistack.identity.domain.assignments import AssignmentFilter
from vistack.identity.domain.models import (
    SYSTEM_ALL,
    ActorKind,
    Assignment,
    Group,
    Project,
    TargetKind,
    User,
)

router = APIRouter()

TARGETS = {"projects": TargetKind.PROJECT, "domains": TargetKind.DOMAIN}
ACTORS = {"users": ActorKind.USER, "groups": ActorKind.GROUP}


def _grant(
    target: str,
    target_id: str,
    actor: str,
    actor_id: str,
    role_id: str = "",
    inherited: bool = False,
) -> Assignment:
    if target not in TARGETS or actor not in ACTORS:
        raise NotFound("The resource could not be found.")
    return Assignment(ACTORS[actor], actor_id, TARGETS[target], target_id, role_id, inherited)


def _check(
    services: IdentityServices, rule: str, context: RequestContext, grant: Assignment
) -> None:
    target_domain = grant.target_id if grant.target_kind is TargetKind.DOMAIN else None
    if grant.target_kind is TargetKind.PROJECT:
        target_domain = services.resources.get_project(grant.target_id).domain_id
    authorize(services, rule, context, domain__id=target_domain, project__id=grant.target_id)


# project/domain grants, direct and inherited (OS-INHERIT): the same operations on two paths.
GRANTS = "/v3/{target}/{target_id}/{actor}/{actor_id}/roles"
INHERITED_GRANTS = "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles"
GRANT = GRANTS + "/{role_id}"
INHERITED_GRANT = INHERITED_GRANTS + "/{role_id}/inherited_to_projects"
INHERITED_LIST = INHERITED_GRANTS + "/inherited_to_projects"


def _grant_on_path(
    request: Request, target: str, target_id: str, actor: str, actor_id: str, role_id: str = ""
) -> Assignment:
    inherited = request.url.path.endswith("/inherited_to_projects")
    return _grant(target, target_id, actor, actor_id, role_id, inherited=inherited)


Grant = Annotated[Assignment, Depends(_grant_on_path)]


@router.get(GRANTS)
@router.get(INHERITED_LIST)
def list_grants(request: Request, grant: Grant, services: Services, context: Context) -> Response:
    _check(services, "list_grants", context, grant)
    roles = services.assignments.list_grants(
        grant.actor_kind, grant.actor_id, grant.target_kind, grant.target_id, grant.inherited
    )
    return JSONBody(
        {"roles": [views.role_view(request, r) for r in roles], "links": collection_links(request)}
    )


@router.put(GRANT, status_code=204)
@router.put(INHERITED_GRANT, status_code=204)
def create_grant(grant: Grant, services: Services, context: Context) -> Response:
    _check(services, "create_grant", context, grant)
    services.assignments.grant(grant)
    return Response(status_code=204)


@router.head(GRANT, status_code=204)
@router.get(GRANT, status_code=204)
@router.head(INHERITED_GRANT, status_code=204)
@router.get(INHERITED_GRANT, status_code=204)
def check_grant(grant: Grant, services: Services, context: Context) -> Response:
    _check(services, "check_grant", context, grant)
    services.assignments.check_grant(grant)
    return Response(status_code=204)


@router.delete(GRANT, status_code=204)
@router.delete(INHERITED_GRANT, status_code=204)
def revoke_grant(grant: Grant, services: Services, context: Context) -> Response:
    _check(services, "revoke_grant", context, grant)
    services.assignments.revoke(grant)
    return Response(status_code=204)


# system grants: /v3/system/{users|groups}/{id}/roles[/{role_id}]
def _system_grant(actor: str, actor_id: str, role_id: str = "") -> Assignment:
    if actor not in ACTORS:
        raise NotFound("The resource could not be found.")
    return Assignment(ACTORS[actor], actor_id, TargetKind.SYSTEM, SYSTEM_ALL, role_id)


@router.get("/v3/system/{actor}/{actor_id}/roles")
def list_system_grants(
    request: Request, actor: str, actor_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "list_system_grants", context)
    grant = _system_grant(actor, actor_id)
    roles = services.assignments.list_grants(
        grant.actor_kind, actor_id, TargetKind.SYSTEM, SYSTEM_ALL
    )
    return JSONBody(
        {"roles": [views.role_view(request, r) for r in roles], "links": collection_links(request)}
    )


@router.put("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def create_system_grant(
    actor: str, actor_id: str, role_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "create_system_grant", context)
    services.assignments.grant(_system_grant(actor, actor_id, role_id))
    return Response(status_code=204)


@router.head("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
@router.get("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def check_system_grant(
    actor: str, actor_id: str, role_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "check_system_grant", context)
    services.assignments.check_grant(_system_grant(actor, actor_id, role_id))
    return Response(status_code=204)


@router.delete("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def revoke_system_grant(
    actor: str, actor_id: str, role_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "revoke_system_grant", context)
    services.assignments.revoke(_system_grant(actor, actor_id, role_id))
    return Response(status_code=204)


# /v3/role_assignments
@router.get("/v3/role_assignments")
def list_role_assignments(request: Request, services: Services, context: Context) -> Response:
    params = request.query_params
    query = AssignmentFilter(
        user_id=params.get("user.id"),
        group_id=params.get("group.id"),
        role_id=params.get("role.id"),
        project_id=params.get("scope.project.id"),
        domain_id=params.get("scope.domain.id"),
        system="scope.system" in params,
        inherited=True if params.get("scope.OS-INHERIT:inherited_to") else None,
        effective="effective" in params and query_bool(params.get("effective")) is not False,
        include_subtree=bool(query_bool(params.get("include_subtree"))),
    )
    if query.effective and query.group_id:
        raise BadRequest(
            "Combining effective and group filter will always result in an empty list."
        )
    if query.include_subtree and not query.project_id:
        raise BadRequest("include_subtree needs scope.project.id.")
    authorize(
        services,
        "list_role_assignments",
        context,
        user__id=query.user_id,
        project__id=query.project_id,
        domain__id=query.domain_id,
    )
    found = services.assignments.list_role_assignments(query)
    with_names = bool(query_bool(params.get("include_names")))
    names = _Names(services) if with_names else None
    return JSONBody(
        {
            "role_assignments": [_assignment_view(request, a, names) for a in found],
            "links": collection_links(request),
        }
    )


class _Names:
    """Resolves ids to names once per request for `include_names`."""

    def __init__(self, services: IdentityServices) -> None:
        self.roles = {r.id: r for r in services.assignments.list_roles()}
        self.domains = {d.id: d for d in services.resources.list_domains()}
        self._services = services
        self._cache: dict[tuple[str, str], Any] = {}

    def role(self, role_id: str) -> dict[str, Any]:
        role = self.roles.get(role_id) or self._services.assignments.get_role(role_id)
        body: dict[str, Any] = {"id": role.id, "name": role.name}
        if role.domain_id:
            body["domain"] = self.domain(role.domain_id)
        return body

    def domain(self, domain_id: str) -> dict[str, Any]:
        domain = self.domains.get(domain_id)
        return {"id": domain_id, "name": domain.name if domain else None}

    def named(self, kind: str, entity_id: str) -> dict[str, Any]:
        key = (kind, entity_id)
        if key not in self._cache:
            entity: User | Group | Project
            if kind == "user":
                entity = self._services.identities.get_user(entity_id)
            elif kind == "group":
                entity = self._services.identities.get_group(entity_id)
            else:
                entity = self._services.resources.get_project(entity_id)
            self._cache[key] = {
                "id": entity.id,
                "name": entity.name,
                "domain": self.domain(entity.domain_id),
            }
        body: dict[str, Any] = self._cache[key]
        return body


def _assignment_view(request: Request, a: Assignment, names: _Names | None) -> dict[str, Any]:
    actor_key = "user" if a.actor_kind is ActorKind.USER else "group"
    actor = names.named(actor_key, a.actor_id) if names else {"id": a.actor_id}
    if a.target_kind is TargetKind.SYSTEM:
        scope: dict[str, Any] = {"system": {"all": True}}
        link = v3_url(request, "system", f"{actor_key}s", a.actor_id, "roles", a.role_id)
    else:
        target_key = "project" if a.target_kind is TargetKind.PROJECT else "domain"
        target = (
            names.named("project", a.target_id)
            if names and target_key == "project"
            else names.domain(a.target_id)
            if names
            else {"id": a.target_id}
        )
        scope = {target_key: target}
        link = v3_url(
            request, f"{target_key}s", a.target_id, f"{actor_key}s", a.actor_id, "roles", a.role_id
        )
        if a.inherited:
            scope["OS-INHERIT:inherited_to"] = "projects"
            link = v3_url(
                request,
                "OS-INHERIT",
                f"{target_key}s",
                a.target_id,
                f"{actor_key}s",
                a.actor_id,
                "roles",
                a.role_id,
                "inherited_to_projects",
            )
    links: dict[str, str] = {"assignment": link}
    if a.via_group_id:
        links["membership"] = v3_url(request, "groups", a.via_group_id, "users", a.actor_id)
    if a.via_role_id:
        links["prior_role"] = v3_url(request, "roles", a.via_role_id)
    role = names.role(a.role_id) if names else {"id": a.role_id}
    return {actor_key: actor, "role": role, "scope": scope, "links": links}
