"""`/v3/{project_id}/volumes`: create, list (summary and detail), show, update, delete, and
the volume's metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services, VolumeServices
from vistack.volume.domain import requests
from vistack.volume.domain.models import Volume

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def render(
    request: Request,
    services: VolumeServices,
    context: RequestContext,
    volume: Volume,
    *,
    extended: bool = True,
) -> dict[str, Any]:
    admin = services.sees_host(context)
    return views.volume(request, volume, admin=admin, host=services.backend.host, extended=extended)


@router.post("/v3/volumes")
def create_volume(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    volume = services.volumes.create(context, body)
    view = render(request, services, context, volume, extended=False)
    return JSONBody({"volume": view}, status_code=202)


@router.get("/v3/volumes")
def list_volumes(request: Request, services: Services, context: Context) -> Response:
    volumes, more = services.volumes.list_volumes(context, dict(request.query_params))
    body: dict[str, Any] = {"volumes": [views.volume_summary(request, v) for v in volumes]}
    next_links = views.next_links(request, "volumes", volumes, more)
    if next_links:
        body["volumes_links"] = next_links
    return JSONBody(body)


@router.get("/v3/volumes/detail")
def list_volumes_detail(request: Request, services: Services, context: Context) -> Response:
    volumes, more = services.volumes.list_volumes(context, dict(request.query_params))
    body: dict[str, Any] = {"volumes": [render(request, services, context, v) for v in volumes]}
    next_links = views.next_links(request, "volumes", volumes, more)
    if next_links:
        body["volumes_links"] = next_links
    return JSONBody(body)


@router.get("/v3/volumes/{volume_id}")
def show_volume(request: Request, volume_id: str, services: Services, context: Context) -> Response:
    volume = services.volumes.get(context, volume_id)
    return JSONBody({"volume": render(request, services, context, volume)})


@router.put("/v3/volumes/{volume_id}")
def update_volume(
    request: Request, volume_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    volume = services.volumes.update(context, volume_id, body)
    return JSONBody({"volume": render(request, services, context, volume, extended=False)})


@router.delete("/v3/volumes/{volume_id}")
def delete_volume(
    request: Request, volume_id: str, services: Services, context: Context
) -> Response:
    cascade = requests.boolean("cascade", request.query_params.get("cascade", "false"))
    force = requests.boolean("force", request.query_params.get("force", "false"))
    services.volumes.delete(context, volume_id, cascade=cascade, force=force)
    return Response(status_code=202)


# -- metadata ------------------------------------------------------------------------------------


@router.get("/v3/volumes/{volume_id}/metadata")
def show_metadata(volume_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"metadata": services.volumes.metadata(context, volume_id)})


@router.post("/v3/volumes/{volume_id}/metadata")
def add_metadata(volume_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    items = services.volumes.set_metadata(context, volume_id, body, replace=False)
    return JSONBody({"metadata": items})


@router.put("/v3/volumes/{volume_id}/metadata")
def replace_metadata(
    volume_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    items = services.volumes.set_metadata(context, volume_id, body, replace=True)
    return JSONBody({"metadata": items})


@router.get("/v3/volumes/{volume_id}/metadata/{key}")
def show_metadata_item(volume_id: str, key: str, services: Services, context: Context) -> Response:
    return JSONBody({"meta": {key: services.volumes.metadata_item(context, volume_id, key)}})


@router.put("/v3/volumes/{volume_id}/metadata/{key}")
def set_metadata_item(
    volume_id: str, key: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody({"meta": services.volumes.set_metadata_item(context, volume_id, key, body)})


@router.delete("/v3/volumes/{volume_id}/metadata/{key}")
def delete_metadata_item(
    volume_id: str, key: str, services: Services, context: Context
) -> Response:
    services.volumes.delete_metadata_item(context, volume_id, key)
    return Response(status_code=200)
