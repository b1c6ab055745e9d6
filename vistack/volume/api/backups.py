"""`/v3/{project_id}/backups`: volume backups, their restore, their administrator actions and
their export and import, with the fields Cinder shows at each microversion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import microversion, views
from vistack.volume.api.deps import Context, Services
from vistack.volume.domain import requests
from vistack.volume.domain.backup_models import Backup

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def version_of(request: Request) -> tuple[int, int]:
    """The request's microversion (3.0 when it names none)."""
    major, minor = request.scope.get(microversion.SCOPE_KEY, microversion.MIN_VERSION)
    return int(major), int(minor)


def summary(request: Request, item: Backup) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "links": views.links(request, item.project_id, "backups", item.id),
    }


def detail(
    request: Request, item: Backup, version: tuple[int, int], *, project: bool
) -> dict[str, Any]:
    """Cinder's detailed backup; `project`: the caller may see the owning project (3.18)."""
    view: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "status": item.status,
        "size": item.size_gb,
        "object_count": item.object_count,
        "availability_zone": item.availability_zone,
        "container": item.container,
        "created_at": views.timestamp(item.created_at),
        "updated_at": views.timestamp(item.updated_at),
        "fail_reason": item.fail_reason,
        "volume_id": item.volume_id,
        "links": views.links(request, item.project_id, "backups", item.id),
        "is_incremental": item.is_incremental,
        "has_dependent_backups": item.has_dependent_backups,
        "snapshot_id": item.snapshot_id,
        "data_timestamp": views.timestamp(item.data_timestamp),
    }
    if version >= (3, 18) and project:
        view["os-backup-project-attr:project_id"] = item.project_id
    if version >= (3, 43):
        view["metadata"] = dict(item.metadata)
    if version >= (3, 56):
        view["user_id"] = item.user_id
    if version >= (3, 64):
        view["encryption_key_id"] = None  # backups of unencrypted volumes only
    return view


def _list(request: Request, services: Services, context: Context, *, full: bool) -> Response:
    query = dict(request.query_params)
    found, more, count = services.backups.list_backups(context, query)
    version = version_of(request)
    project = services.backups.sees_project(context)
    items = [
        detail(request, b, version, project=project) if full else summary(request, b) for b in found
    ]
    body: dict[str, Any] = {"backups": items}
    next_links = views.next_links(request, "backups", found, more)
    if next_links:
        body["backups_links"] = next_links
    if version >= (3, 45) and requests.boolean("with_count", query.get("with_count", "false")):
        body["count"] = count
    return JSONBody(body)


@router.get("/v3/backups")
def list_backups(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, full=False)


@router.get("/v3/backups/detail")
def list_backups_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, full=True)


@router.post("/v3/backups")
def create_backup(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    created = services.backups.create(context, body, version_of(request))
    return JSONBody({"backup": summary(request, created)}, status_code=202)


@router.post("/v3/backups/import_record")
def import_record(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    imported = services.backup_records.import_(context, body)
    return JSONBody({"backup": summary(request, imported)}, status_code=201)


@router.get("/v3/backups/{backup_id}")
def show_backup(backup_id: str, request: Request, services: Services, context: Context) -> Response:
    item = services.backups.get(context, backup_id)
    project = services.backups.sees_project(context)
    return JSONBody({"backup": detail(request, item, version_of(request), project=project)})


@router.put("/v3/backups/{backup_id}")
def update_backup(
    backup_id: str, request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    version = version_of(request)
    if version < (3, 9):
        raise NotFound("Updating a backup needs microversion 3.9 or later.")
    item = services.backups.update(context, backup_id, body, version)
    return JSONBody({"backup": summary(request, item)})


@router.delete("/v3/backups/{backup_id}")
def delete_backup(backup_id: str, services: Services, context: Context) -> Response:
    services.backups.delete(context, backup_id)
    return Response(status_code=202)


@router.post("/v3/backups/{backup_id}/action")
def backup_action(backup_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    if isinstance(body, dict) and "os-reset_status" in body:
        services.backups.reset_status(context, backup_id, body)
    elif isinstance(body, dict) and "os-force_delete" in body:
        services.backups.delete(context, backup_id, force=True)
    else:
        raise BadRequest("There is no such action: name os-reset_status or os-force_delete.")
    return Response(status_code=202)


@router.post("/v3/backups/{backup_id}/restore")
def restore_backup(
    backup_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    restore = services.backups.restore(context, backup_id, body)
    return JSONBody({"restore": restore}, status_code=202)


@router.get("/v3/backups/{backup_id}/export_record")
def export_record(backup_id: str, services: Services, context: Context) -> Response:
    record = services.backup_records.export(context, backup_id)
    return JSONBody({"backup-record": record})
