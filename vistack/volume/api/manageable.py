"""`/v3/{project_id}/manageable_volumes` and `manageable_snapshots` (3.8: the backend's
disks, summary and detail), `POST /v3/{project_id}/os-volume-manage` and
`os-snapshot-manage` (adopt one). See `domain/manage.py` and `domain/manage_snapshots.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services, VolumeServices
from vistack.volume.api.volumes import render
from vistack.volume.domain.manage import Manageable
from vistack.volume.domain.manage_snapshots import ManageableSnapshot, SnapshotManage

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _entry(item: Manageable, *, detail: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "reference": {"source-name": item.name},
        "size": item.size_gb,
        "safe_to_manage": item.reason_not_safe is None,
    }
    if detail:
        entry["reason_not_safe"] = item.reason_not_safe
        entry["cinder_id"] = item.cinder_id
        entry["extra_info"] = {"path": item.path, "pool": item.datastore}
    return entry


def _list(request: Request, services: Services, context: Context, *, detail: bool) -> Response:
    if views.version_of(request) < (3, 8):
        raise NotFound("The resource could not be found: manageable_volumes is microversion 3.8.")
    found, more = services.manage.manageable(context, dict(request.query_params))
    body: dict[str, Any] = {"manageable-volumes": [_entry(i, detail=detail) for i in found]}
    next_links = views.next_links(request, "manageable_volumes", found, more)
    if next_links:
        body["manageable-volumes_links"] = next_links
    return JSONBody(body)


@router.get("/v3/manageable_volumes")
def list_manageable(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=False)


@router.get("/v3/manageable_volumes/detail")
def list_manageable_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=True)


@router.post("/v3/os-volume-manage")
def manage_volume(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    volume = services.manage.manage(context, body)
    return JSONBody({"volume": render(request, services, context, volume)}, status_code=202)


# -- snapshots -----------------------------------------------------------------------------------


def snapshot_manage(services: VolumeServices) -> SnapshotManage:
    return SnapshotManage(services.volumes, services.manage)


def _snapshot_entry(item: ManageableSnapshot, *, detail: bool) -> dict[str, Any]:
    source = {"source-name": item.source_name} if item.source_name else None
    entry: dict[str, Any] = {
        "reference": {"source-name": item.name},
        "size": item.size_gb,
        "safe_to_manage": item.reason_not_safe is None,
        "source_reference": source,
    }
    if detail:
        entry["reason_not_safe"] = item.reason_not_safe
        entry["cinder_id"] = item.cinder_id
        entry["extra_info"] = {"path": item.path, "pool": item.datastore}
    return entry


def _list_snapshots(
    request: Request, services: Services, context: Context, *, detail: bool
) -> Response:
    if views.version_of(request) < (3, 8):
        raise NotFound("The resource could not be found: manageable_snapshots is microversion 3.8.")
    found, more = snapshot_manage(services).manageable(context, dict(request.query_params))
    body: dict[str, Any] = {
        "manageable-snapshots": [_snapshot_entry(i, detail=detail) for i in found]
    }
    next_links = views.next_links(request, "manageable_snapshots", found, more)
    if next_links:
        body["manageable-snapshots_links"] = next_links
    return JSONBody(body)


@router.get("/v3/manageable_snapshots")
def list_manageable_snapshots(request: Request, services: Services, context: Context) -> Response:
    return _list_snapshots(request, services, context, detail=False)


@router.get("/v3/manageable_snapshots/detail")
def list_manageable_snapshots_detail(
    request: Request, services: Services, context: Context
) -> Response:
    return _list_snapshots(request, services, context, detail=True)


@router.post("/v3/os-snapshot-manage")
def manage_snapshot(body: JsonBody, services: Services, context: Context) -> Response:
    snapshot = snapshot_manage(services).manage(context, body)
    # Cinder answers `os-snapshot-manage` with its base snapshot view at every microversion:
    # no extended attributes (progress, project) and none of the later fields; GET has them.
    return JSONBody({"snapshot": views.snapshot(snapshot, extended=False)}, status_code=202)
