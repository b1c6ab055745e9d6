"""`/v3/{project_id}/volumes`: create, list (summary and detail), show, update, delete, and
the volume's metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.volume.api import microversion, views
from vistack.volume.api.deps import Context, Services, VolumeServices
from vistack.volume.domain import etags, nova_images, requests, schemas
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
    if views.version_of(request) >= (3, 53):
        schemas.check_volume_body(body, create=True)
    if views.version_of(request) < (3, 13) and isinstance(body, dict):
        fields = body.get("volume")
        if isinstance(fields, dict):
            fields.pop("group_id", None)  # Cinder reads a volume's group from 3.13 only
    fields = body.get("volume") if isinstance(body, dict) else None
    version = request.scope.get(microversion.SCOPE_KEY, microversion.MIN_VERSION)
    if isinstance(fields, dict) and fields.get("backup_id") and tuple(version) < (3, 47):
        raise BadRequest("Creating a volume from a backup (backup_id) needs microversion 3.47.")
    image_ref = (
        fields.get("imageRef") or fields.get("image_id") if isinstance(fields, dict) else None
    )
    if isinstance(image_ref, str) and tuple(version) >= (3, 46) and isinstance(fields, dict):
        snapshot_id = nova_images.root_snapshot(services.volumes.images, context, image_ref)
        if snapshot_id is not None:  # Nova's image of a volume-backed server: its snapshot
            fields.pop("imageRef", None)
            fields.pop("image_id", None)
            fields["snapshot_id"] = snapshot_id
    volume = services.volumes.create(context, body)
    view = render(request, services, context, volume, extended=False)
    return JSONBody({"volume": view}, status_code=202)


def _list(
    request: Request, services: VolumeServices, context: RequestContext, detail: bool
) -> Response:
    query = dict(request.query_params)
    version = views.version_of(request)
    found = services.volumes.list_volumes_counted(context, query, version)
    if detail:
        shown = [render(request, services, context, v) for v in found.items]
    else:
        shown = [views.volume_summary(request, v) for v in found.items]
    body: dict[str, Any] = {"volumes": shown}
    next_links = views.next_links(request, "volumes", found.items, found.more)
    if next_links:
        body["volumes_links"] = next_links
    if views.with_count(request):
        body["count"] = found.count
    return JSONBody(body)


@router.get("/v3/volumes")
def list_volumes(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=False)


@router.get("/v3/volumes/detail")
def list_volumes_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=True)


@router.get("/v3/volumes/{volume_id}")
def show_volume(request: Request, volume_id: str, services: Services, context: Context) -> Response:
    volume = services.volumes.get(context, volume_id)
    return JSONBody({"volume": render(request, services, context, volume)})


@router.put("/v3/volumes/{volume_id}")
def update_volume(
    request: Request, volume_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    if views.version_of(request) >= (3, 53):
        schemas.check_volume_body(body, create=False)
    volume = services.volumes.update(context, volume_id, body)
    return JSONBody({"volume": render(request, services, context, volume, extended=False)})


@router.delete("/v3/volumes/{volume_id}")
def delete_volume(
    request: Request, volume_id: str, services: Services, context: Context
) -> Response:
    cascade = requests.boolean("cascade", request.query_params.get("cascade", "false"))
    # 3.23: `force` deletes whatever the status (an administrator's); before it is not read.
    raw_force = request.query_params.get("force", "false")
    force = views.version_of(request) >= (3, 23) and requests.boolean("force", raw_force)
    services.volumes.delete(context, volume_id, cascade=cascade, force=force)
    return Response(status_code=202)


# -- metadata ------------------------------------------------------------------------------------


def _if_match(request: Request) -> tuple[str, ...] | None:
    """3.15's `If-Match` on metadata updates (ignored before 3.15, as Cinder does)."""
    if views.version_of(request) < (3, 15):
        return None
    return etags.parse_if_match(request.headers.get("if-match"))


@router.get("/v3/volumes/{volume_id}/metadata")
def show_metadata(
    request: Request, volume_id: str, services: Services, context: Context
) -> Response:
    items = services.volumes.metadata(context, volume_id)
    response = JSONBody({"metadata": items})
    if views.version_of(request) >= (3, 15):
        response.headers["ETag"] = etags.etag(items)
    return response


@router.post("/v3/volumes/{volume_id}/metadata")
def add_metadata(volume_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    items = services.volumes.set_metadata(context, volume_id, body, replace=False)
    return JSONBody({"metadata": items})


@router.put("/v3/volumes/{volume_id}/metadata")
def replace_metadata(
    request: Request, volume_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    if_match = _if_match(request)
    items = services.volumes.set_metadata(context, volume_id, body, replace=True, if_match=if_match)
    return JSONBody({"metadata": items})


@router.get("/v3/volumes/{volume_id}/metadata/{key}")
def show_metadata_item(volume_id: str, key: str, services: Services, context: Context) -> Response:
    return JSONBody({"meta": {key: services.volumes.metadata_item(context, volume_id, key)}})


@router.put("/v3/volumes/{volume_id}/metadata/{key}")
def set_metadata_item(
    request: Request,
    volume_id: str,
    key: str,
    body: JsonBody,
    services: Services,
    context: Context,
) -> Response:
    if_match = _if_match(request)
    items = services.volumes.set_metadata_item(context, volume_id, key, body, if_match)
    return JSONBody({"meta": items})


@router.delete("/v3/volumes/{volume_id}/metadata/{key}")
def delete_metadata_item(
    volume_id: str, key: str, services: Services, context: Context
) -> Response:
    services.volumes.delete_metadata_item(context, volume_id, key)
    return Response(status_code=200)
