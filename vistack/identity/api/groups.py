"""`/v3/groups` and group membership."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import GroupCreate, GroupUpdate, Strict
from vistack.identity.domain.models import DEFAULT_DOMAIN_ID

router = APIRouter()


class GroupCreateRequest(Strict):
    group: GroupCreate


class GroupUpdateRequest(Strict):
    group: GroupUpdate


@router.post("/v3/groups", status_code=201)
def create_group(
    request: Request, body: GroupCreateRequest, services: Services, context: Context
) -> Response:
    spec = body.group
    domain_id = spec.domain_id or context.user_domain_id or DEFAULT_DOMAIN_ID
    authorize(services, "create_group", context, group__domain_id=domain_id)
    group = services.identities.create_group(
        spec.name,
        domain_id,
        spec.description or "",
        extra={"project_id": spec.project_id} if spec.project_id else {},
    )
    return JSONBody({"group": views.group_view(request, group)}, status_code=201)


@router.get("/v3/groups")
def list_groups(
    request: Request,
    services: Services,
    context: Context,
    domain_id: str | None = None,
    name: str | None = None,
) -> Response:
    authorize(services, "list_groups", context, domain_id=domain_id)
    groups = services.identities.list_groups(domain_id=domain_id, name=name)
    return JSONBody(
        {
            "groups": [views.group_view(request, g) for g in groups],
            "links": collection_links(request),
        }
    )


@router.get("/v3/groups/{group_id}")
def get_group(request: Request, group_id: str, services: Services, context: Context) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "get_group", context, group__domain_id=group.domain_id)
    return JSONBody({"group": views.group_view(request, group)})


@router.patch("/v3/groups/{group_id}")
def update_group(
    request: Request, group_id: str, body: GroupUpdateRequest, services: Services, context: Context
) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "update_group", context, group__domain_id=group.domain_id)
    changes = body.group.model_dump(exclude_unset=True)
    if changes.get("description") is None:
        changes.pop("description", None)
    if "project_id" in changes:
        changes["extra"] = {**group.extra, "project_id": changes.pop("project_id")}
    updated = services.identities.update_group(group_id, changes)
    return JSONBody({"group": views.group_view(request, updated)})


@router.delete("/v3/groups/{group_id}", status_code=204)
def delete_group(group_id: str, services: Services, context: Context) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "delete_group", context, group__domain_id=group.domain_id)
    services.identities.delete_group(group_id)
    return Response(status_code=204)


@router.get("/v3/groups/{group_id}/users")
def list_group_users(
    request: Request, group_id: str, services: Services, context: Context
) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "list_users_in_group", context, group__domain_id=group.domain_id)
    users = services.identities.list_users_in_group(group_id)
    return JSONBody(
        {"users": [views.user_view(request, u) for u in users], "links": collection_links(request)}
    )


@router.put("/v3/groups/{group_id}/users/{user_id}", status_code=204)
def add_user(group_id: str, user_id: str, services: Services, context: Context) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "add_user_to_group", context, group__domain_id=group.domain_id)
    services.identities.add_user_to_group(group_id, user_id)
    return Response(status_code=204)


@router.head("/v3/groups/{group_id}/users/{user_id}", status_code=204)
@router.get("/v3/groups/{group_id}/users/{user_id}", status_code=204)
def check_user(group_id: str, user_id: str, services: Services, context: Context) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "check_user_in_group", context, group__domain_id=group.domain_id)
    services.identities.check_user_in_group(group_id, user_id)
    return Response(status_code=204)


@router.delete("/v3/groups/{group_id}/users/{user_id}", status_code=204)
def remove_user(group_id: str, user_id: str, services: Services, context: Context) -> Response:
    group = services.identities.get_group(group_id)
    authorize(services, "remove_user_from_group", context, group__domain_id=group.domain_id)
    services.identities.remove_user_from_group(group_id, user_id)
    return Response(status_code=204)
