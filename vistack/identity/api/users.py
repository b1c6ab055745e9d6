"""`/v3/users`, self-service password change, a user's groups and projects."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody, anonymous_context
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links, query_bool
from vistack.identity.api.schemas import PasswordChange, Strict, UserCreate, UserUpdate
from vistack.identity.domain.models import DEFAULT_DOMAIN_ID, User

router = APIRouter()


class UserCreateRequest(Strict):
    user: UserCreate


class UserUpdateRequest(Strict):
    user: UserUpdate


class PasswordChangeRequest(Strict):
    user: PasswordChange


@router.post("/v3/users", status_code=201)
async def create_user(
    request: Request, body: UserCreateRequest, services: Services, context: Context
) -> Response:
    spec = body.user
    domain_id = spec.domain_id or context.user_domain_id or DEFAULT_DOMAIN_ID
    authorize(services, "create_user", context, user__domain_id=domain_id)
    user = User(
        id="",
        name=spec.name,
        domain_id=domain_id,
        enabled=spec.enabled,
        email=spec.email,
        description=spec.description,
        default_project_id=spec.default_project_id,
        options=spec.options or {},
        extra={"project_id": spec.project_id} if spec.project_id else {},
    )
    created = await run_in_threadpool(services.identities.create_user, user, spec.password)
    return JSONBody({"user": views.user_view(request, created)}, status_code=201)


@router.get("/v3/users")
def list_users(
    request: Request,
    services: Services,
    context: Context,
    domain_id: str | None = None,
    name: str | None = None,
    enabled: str | None = None,
) -> Response:
    authorize(services, "list_users", context, domain_id=domain_id)
    users = services.identities.list_users(
        domain_id=domain_id, name=name, enabled=query_bool(enabled)
    )
    return JSONBody(
        {"users": [views.user_view(request, u) for u in users], "links": collection_links(request)}
    )


@router.get("/v3/users/{user_id}")
def get_user(request: Request, user_id: str, services: Services, context: Context) -> Response:
    user = services.identities.get_user(user_id)
    authorize(services, "get_user", context, user__id=user.id, user__domain_id=user.domain_id)
    return JSONBody({"user": views.user_view(request, user)})


@router.patch("/v3/users/{user_id}")
async def update_user(
    request: Request, user_id: str, body: UserUpdateRequest, services: Services, context: Context
) -> Response:
    user = services.identities.get_user(user_id)
    authorize(services, "update_user", context, user__id=user.id, user__domain_id=user.domain_id)
    changes = body.user.model_dump(exclude_unset=True, exclude={"password", "id"})
    if body.user.id is not None and body.user.id != user_id:
        raise BadRequest("The user id in the body does not match the one in the URL.")
    if "project_id" in changes:
        changes["extra"] = {**user.extra, "project_id": changes.pop("project_id")}
    updated = await run_in_threadpool(
        services.identities.update_user, user_id, changes, body.user.password
    )
    return JSONBody({"user": views.user_view(request, updated)})


@router.delete("/v3/users/{user_id}", status_code=204)
def delete_user(user_id: str, services: Services, context: Context) -> Response:
    user = services.identities.get_user(user_id)
    authorize(services, "delete_user", context, user__id=user.id, user__domain_id=user.domain_id)
    services.identities.delete_user(user_id)
    return Response(status_code=204)


@router.post("/v3/users/{user_id}/password", status_code=204)
async def change_password(
    request: Request, user_id: str, body: PasswordChangeRequest, services: Services
) -> Response:
    # No token needed: proving the original password is the authorisation, which lets a user
    # whose password expired set a new one (Keystone behaves the same).
    anonymous_context(request)
    await run_in_threadpool(
        services.identities.change_password,
        user_id,
        body.user.original_password,
        body.user.password,
    )
    return Response(status_code=204)


@router.get("/v3/users/{user_id}/groups")
def list_user_groups(
    request: Request, user_id: str, services: Services, context: Context
) -> Response:
    user = services.identities.get_user(user_id)
    authorize(
        services, "list_groups_for_user", context, user__id=user.id, user__domain_id=user.domain_id
    )
    groups = services.identities.list_groups_for_user(user_id)
    return JSONBody(
        {
            "groups": [views.group_view(request, g) for g in groups],
            "links": collection_links(request),
        }
    )


@router.get("/v3/users/{user_id}/projects")
def list_user_projects(
    request: Request,
    user_id: str,
    services: Services,
    context: Context,
    enabled: str | None = None,
    name: str | None = None,
) -> Response:
    user = services.identities.get_user(user_id)
    authorize(
        services, "list_user_projects", context, user__id=user.id, user__domain_id=user.domain_id
    )
    projects = services.assignments.projects_of_user(user_id)
    wanted = query_bool(enabled)
    projects = [
        p
        for p in projects
        if (wanted is None or p.enabled == wanted) and (name is None or p.name == name)
    ]
    return JSONBody(
        {
            "projects": [views.project_view(request, p) for p in projects],
            "links": collection_links(request),
        }
    )
