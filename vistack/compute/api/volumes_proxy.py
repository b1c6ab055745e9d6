"""`os-volumes`, `os-snapshots` (Nova's proxies to Cinder, 404 from 2.36 as Nova's are) and
`os-volumes_boot` (the old name of a server create, at every microversion)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.servers import create_server
from vistack.compute.domain.volumes_proxy import VolumeProxy

router = APIRouter()
JsonBody = Annotated[Any, Body()]
VOLUMES = "/v2.1/os-volumes"
SNAPSHOTS = "/v2.1/os-snapshots"


def _proxy(services: Services, version: Version) -> VolumeProxy:
    """The proxy at `version`: gone (404) from 2.36."""
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")
    if services.volume_proxy is None:
        raise RuntimeError("ComputeServices was built without its volume proxy")
    return services.volume_proxy


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


@router.get(VOLUMES)
def list_volumes(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found = _proxy(services, version).list_volumes(context, _query(request), detail=False)
    return JSONBody({"volumes": found})


@router.get(VOLUMES + "/detail")
def list_volumes_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found = _proxy(services, version).list_volumes(context, _query(request), detail=True)
    return JSONBody({"volumes": found})


@router.get(VOLUMES + "/{volume_id}")
def show_volume(
    volume_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    return JSONBody({"volume": _proxy(services, version).get_volume(context, volume_id)})


@router.post(VOLUMES)
def create_volume(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    return JSONBody({"volume": _proxy(services, version).create_volume(context, body)})


@router.delete(VOLUMES + "/{volume_id}")
def delete_volume(
    volume_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _proxy(services, version).delete_volume(context, volume_id)
    return Response(status_code=202)


@router.get(SNAPSHOTS)
def list_snapshots(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found = _proxy(services, version).list_snapshots(context, _query(request), detail=False)
    return JSONBody({"snapshots": found})


@router.get(SNAPSHOTS + "/detail")
def list_snapshots_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found = _proxy(services, version).list_snapshots(context, _query(request), detail=True)
    return JSONBody({"snapshots": found})


@router.get(SNAPSHOTS + "/{snapshot_id}")
def show_snapshot(
    snapshot_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    return JSONBody({"snapshot": _proxy(services, version).get_snapshot(context, snapshot_id)})


@router.post(SNAPSHOTS)
def create_snapshot(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    return JSONBody({"snapshot": _proxy(services, version).create_snapshot(context, body)})


@router.delete(SNAPSHOTS + "/{snapshot_id}")
def delete_snapshot(
    snapshot_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _proxy(services, version).delete_snapshot(context, snapshot_id)
    return Response(status_code=202)


@router.post("/v2.1/os-volumes_boot")
def boot_from_volume(
    request: Request, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    """Nova's `os-volumes_boot`: a server create by its old name (block device mappings and
    all)."""
    return create_server(request, body, services, context, version)
