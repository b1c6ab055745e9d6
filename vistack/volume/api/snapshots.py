"""`/v3/{project_id}/snapshots`: volume snapshots, their metadata and administrator actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.views import version_of
from vistack.volume.domain.manage_snapshots import SnapshotManage

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _list(request: Request, services: Services, context: Context, *, detail: bool) -> Response:
    version = version_of(request)
    found = services.snapshots.list_snapshots_counted(context, dict(request.query_params), version)
    snapshots, more = found.items, found.more
    body: dict[str, Any] = {
        "snapshots": [
            views.snapshot(s, extended=detail, version=version_of(request)) for s in snapshots
        ]
    }
    next_links = views.next_links(request, "snapshots", snapshots, more)
    if next_links:
        body["snapshots_links"] = next_links
    if views.with_count(request):
        body["count"] = found.count
    return JSONBody(body)


@router.get("/v3/snapshots")
def list_snapshots(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=False)


@router.get("/v3/snapshots/detail")
def list_snapshots_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=True)


@router.post("/v3/snapshots")
def create_snapshot(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    version = version_of(request)
    snapshot = services.snapshots.create(context, body, version=version)
    view = views.snapshot(snapshot, extended=False, version=version)
    return JSONBody({"snapshot": view}, status_code=202)


@router.get("/v3/snapshots/{snapshot_id}")
def show_snapshot(
    request: Request, snapshot_id: str, services: Services, context: Context
) -> Response:
    snapshot = services.snapshots.get(context, snapshot_id)
    return JSONBody({"snapshot": views.snapshot(snapshot, version=version_of(request))})


@router.put("/v3/snapshots/{snapshot_id}")
def update_snapshot(
    request: Request, snapshot_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    snapshot = services.snapshots.update(context, snapshot_id, body)
    view = views.snapshot(snapshot, extended=False, version=version_of(request))
    return JSONBody({"snapshot": view})


@router.delete("/v3/snapshots/{snapshot_id}")
def delete_snapshot(snapshot_id: str, services: Services, context: Context) -> Response:
    services.snapshots.delete(context, snapshot_id)
    return Response(status_code=202)


@router.post("/v3/snapshots/{snapshot_id}/action")
def snapshot_action(
    snapshot_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    if isinstance(body, dict) and "os-reset_status" in body:
        services.snapshots.reset_status(context, snapshot_id, body)
    elif isinstance(body, dict) and "os-force_delete" in body:
        services.snapshots.delete(context, snapshot_id, force=True)
    elif isinstance(body, dict) and "os-update_snapshot_status" in body:
        services.snapshots.update_status(context, snapshot_id, body)
    elif isinstance(body, dict) and "os-unmanage" in body:
        SnapshotManage(services.volumes, services.manage).unmanage(context, snapshot_id)
    else:
        raise BadRequest(
            "There is no such action: name os-reset_status, os-force_delete, "
            "os-update_snapshot_status or os-unmanage."
        )
    return Response(status_code=202)


# -- metadata ------------------------------------------------------------------------------------


@router.get("/v3/snapshots/{snapshot_id}/metadata")
def show_metadata(snapshot_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"metadata": services.snapshots.metadata(context, snapshot_id)})


@router.post("/v3/snapshots/{snapshot_id}/metadata")
def add_metadata(
    snapshot_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    items = services.snapshots.set_metadata(context, snapshot_id, body, replace=False)
    return JSONBody({"metadata": items})


@router.put("/v3/snapshots/{snapshot_id}/metadata")
def replace_metadata(
    snapshot_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    items = services.snapshots.set_metadata(context, snapshot_id, body, replace=True)
    return JSONBody({"metadata": items})


@router.get("/v3/snapshots/{snapshot_id}/metadata/{key}")
def show_metadata_item(
    snapshot_id: str, key: str, services: Services, context: Context
) -> Response:
    return JSONBody({"meta": {key: services.snapshots.metadata_item(context, snapshot_id, key)}})


@router.put("/v3/snapshots/{snapshot_id}/metadata/{key}")
def set_metadata_item(
    snapshot_id: str, key: str, body: JsonBody, services: Services, context: Context
) -> Response:
    items = services.snapshots.set_metadata_item(context, snapshot_id, key, body)
    return JSONBody({"meta": items})


@router.delete("/v3/snapshots/{snapshot_id}/metadata/{key}")
def delete_metadata_item(
    snapshot_id: str, key: str, services: Services, context: Context
) -> Response:
    services.snapshots.delete_metadata_item(context, snapshot_id, key)
    return Response(status_code=200)
