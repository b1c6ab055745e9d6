"""`/v3/{project_id}/groups` (3.13): generic volume groups and their actions (delete,
reset_status 3.20, create-from-src 3.14, the replication actions 3.38)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.microversion import Version
from vistack.common.web import JSONBody
from vistack.volume.api import group_views
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.microversion import Microversion
from vistack.volume.domain import requests
from vistack.volume.domain.groups import REPLICATION_ACTIONS

router = APIRouter()
JsonBody = Annotated[Any, Body()]
SINCE = "3.13"


def _list(
    request: Request, services: Services, context: Context, version: Version, *, detail: bool
) -> Response:
    group_views.require(version, SINCE)
    query = dict(request.query_params)
    list_volume = requests.boolean("list_volume", query.pop("list_volume", "false"))
    groups, more = services.groups.groups.list_groups(context, query)
    project = services.groups.groups.sees_project(context)
    items = [
        group_views.group(g, version, list_volume=list_volume, project=project)
        if detail
        else group_views.group_summary(g)
        for g in groups
    ]
    return JSONBody(group_views.page(request, "groups", items, groups, more))


@router.get("/v3/groups")
def list_groups(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, version, detail=False)


@router.get("/v3/groups/detail")
def list_groups_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, version, detail=True)


@router.post("/v3/groups")
def create_group(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    created = services.groups.groups.create(context, body)
    return JSONBody({"group": group_views.group_summary(created)}, status_code=202)


@router.post("/v3/groups/action")
def create_group_from_source(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, "3.14")
    if not isinstance(body, dict) or "create-from-src" not in body:
        raise BadRequest("There is no such action: the groups' action is create-from-src.")
    created = services.groups.sources.create(context, body)
    return JSONBody({"group": group_views.group_summary(created)}, status_code=202)


@router.get("/v3/groups/{group_id}")
def show_group(
    request: Request, group_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    found = services.groups.groups.get(context, group_id)
    list_volume = requests.boolean("list_volume", request.query_params.get("list_volume", "false"))
    view = group_views.group(
        found,
        version,
        list_volume=list_volume,
        project=services.groups.groups.sees_project(context),
    )
    return JSONBody({"group": view})


@router.put("/v3/groups/{group_id}")
def update_group(
    group_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    services.groups.groups.update(context, group_id, body)
    return Response(status_code=202)


@router.post("/v3/groups/{group_id}/action")
def group_action(
    group_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    name = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    groups = services.groups.groups
    if name == "delete":
        groups.delete(context, group_id, body)
    elif name == "reset_status":
        group_views.require(version, "3.20")
        groups.reset_status(context, group_id, body)
    elif name in REPLICATION_ACTIONS:
        group_views.require(version, "3.38")
        groups.replication(context, group_id, str(name))
    else:
        raise BadRequest(
            "There is no such action: name one of delete, reset_status, "
            f"{', '.join(REPLICATION_ACTIONS)}."
        )
    return Response(status_code=202)
