"""`/v3/{project_id}/snapshots`: volume snapshots, their metadata and administrator actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _list(request: Request, services: Services, context: Context, *, detail: bool) -> Response:
    snapshots, more = services.snapshots.list_snapshots(context, dict(request.query_params))
    body: dict[str, Any] = {"snapshots": [views.snapshot(s, extended=detail) for s in snapshots]}
    next_links = views.next_links(request, "snapshots", snapshots, more)
    if next_links:
        body["snapshots_links"] = next_links
    return JSONBody(body)


@router.get("/v3/snapshots")
def list_snapshots(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=False)


@router.get("/v3/snapshots/detail")
def list_snapshots_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=True)


@router.post("/v3/snapshots")
def create_snapshot(body: JsonBody, services: Services, context: Context) -> Response:
    snapshot = services.snapshots.create(context, body)
    return JSONBody({"snapshot": views.snapshot(snapshot, extended=False)}, status_code=202)


@router.get("/v3/snapshots/{snapshot_id}")
def show_snapshot(snapshot_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"snapshot": views.snapshot(services.snapshots.get(context, snapshot_id))})


@router.put("/v3/snapshots/{snapshot_id}")
def update_snapshot(
    snapshot_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    snapshot = services.snapshots.update(context, snapshot_id, body)
    return JSONBody({"snapshot": views.snapshot(snapshot, extended=False)})


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
    else:
        raise BadRequest(
            "There is no such action: name os-reset_status, os-force_delete or "
            "os-update_snapshot_status."
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
