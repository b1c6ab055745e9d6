"""`/v3/{project_id}/group_snapshots` (3.14): snapshots of a whole group, and their
reset_status action (3.19)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.microversion import Version
from vistack.common.web import JSONBody
from vistack.volume.api import group_views
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.microversion import Microversion

router = APIRouter()
JsonBody = Annotated[Any, Body()]
SINCE = "3.14"


def _list(
    request: Request, services: Services, context: Context, version: Version, *, detail: bool
) -> Response:
    group_views.require(version, SINCE)
    found, more = services.groups.snapshots.list_group_snapshots(
        context, dict(request.query_params)
    )
    project = services.groups.snapshots.sees_project(context)
    items = [
        group_views.group_snapshot(s, version, project=project)
        if detail
        else group_views.group_snapshot_summary(s)
        for s in found
    ]
    return JSONBody(group_views.page(request, "group_snapshots", items, found, more))


@router.get("/v3/group_snapshots")
def list_group_snapshots(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, version, detail=False)


@router.get("/v3/group_snapshots/detail")
def list_group_snapshots_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, version, detail=True)


@router.post("/v3/group_snapshots")
def create_group_snapshot(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    created = services.groups.snapshots.create(context, body)
    view = group_views.group_snapshot_summary(created)
    return JSONBody({"group_snapshot": view}, status_code=202)


@router.get("/v3/group_snapshots/{ident}")
def show_group_snapshot(
    ident: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    found = services.groups.snapshots.get(context, ident)
    project = services.groups.snapshots.sees_project(context)
    return JSONBody({"group_snapshot": group_views.group_snapshot(found, version, project=project)})


@router.delete("/v3/group_snapshots/{ident}")
def delete_group_snapshot(
    ident: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    services.groups.snapshots.delete(context, ident)
    return Response(status_code=202)


@router.post("/v3/group_snapshots/{ident}/action")
def group_snapshot_action(
    ident: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    if not isinstance(body, dict) or "reset_status" not in body:
        raise BadRequest("There is no such action: the group snapshots' action is reset_status.")
    group_views.require(version, "3.19")
    services.groups.snapshots.reset_status(context, ident, body)
    return Response(status_code=202)
