"""Volume transfers: `/v3/{project_id}/os-volume-transfer` (3.0) and `/volume-transfers`
(3.55, with `no_snapshots`; 3.57 adds the projects and `accepted` to the views)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.microversion import Microversion, Version
from vistack.volume.domain.transfers import Transfer

router = APIRouter()
JsonBody = Annotated[Any, Body()]
LEGACY = "os-volume-transfer"
MODERN = "volume-transfers"


def _view(
    request: Request, item: Transfer, collection: str, version: Version, *, detail: bool
) -> dict[str, Any]:
    view: dict[str, Any] = {"id": item.id, "name": item.name, "volume_id": item.volume_id}
    if detail:
        view["created_at"] = views.timestamp(item.created_at)
        if version.at_least("3.55"):
            view["no_snapshots"] = item.no_snapshots
        if version.at_least("3.57"):
            view["source_project_id"] = item.project_id
            view["destination_project_id"] = item.destination_project_id
            view["accepted"] = item.accepted
    if item.auth_key is not None:
        view["auth_key"] = item.auth_key
    view["links"] = views.links(request, item.project_id, collection, item.id)
    return view


def _modern(version: Version) -> None:
    if not version.at_least("3.55"):
        raise NotFound("The resource could not be found: /volume-transfers needs 3.55.")


def _list(
    request: Request,
    services: Services,
    context: Context,
    collection: str,
    version: Version,
    *,
    detail: bool,
) -> Response:
    found, more = services.transfers.list_transfers(context, dict(request.query_params))
    body: dict[str, Any] = {
        "transfers": [_view(request, t, collection, version, detail=detail) for t in found]
    }
    next_links = views.next_links(request, collection, found, more)
    if next_links:
        body["transfers_links"] = next_links
    return JSONBody(body)


def _create(
    request: Request,
    body: Any,
    services: Services,
    context: Context,
    collection: str,
    version: Version,
) -> Response:
    created = services.transfers.create(
        context,
        body,
        snapshots_choice=collection == MODERN,
        encrypted_allowed=version.at_least("3.70"),
    )
    return JSONBody(
        {"transfer": _view(request, created, collection, version, detail=True)}, status_code=202
    )


def _accept(
    request: Request,
    transfer_id: str,
    body: Any,
    services: Services,
    context: Context,
    collection: str,
    version: Version,
) -> Response:
    accepted = services.transfers.accept(context, transfer_id, body)
    view = _view(request, accepted, collection, version, detail=False)
    view["links"] = views.links(request, context.project_id or "", collection, accepted.id)
    return JSONBody({"transfer": view}, status_code=202)


# -- 3.0: os-volume-transfer ---------------------------------------------------------------------


@router.get(f"/v3/{LEGACY}")
def list_legacy(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, LEGACY, version, detail=False)


@router.get(f"/v3/{LEGACY}/detail")
def detail_legacy(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, LEGACY, version, detail=True)


@router.post(f"/v3/{LEGACY}")
def create_legacy(
    request: Request, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    return _create(request, body, services, context, LEGACY, version)


@router.get(f"/v3/{LEGACY}/{{transfer_id}}")
def show_legacy(
    request: Request, transfer_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    item = services.transfers.get(context, transfer_id)
    return JSONBody({"transfer": _view(request, item, LEGACY, version, detail=True)})


@router.delete(f"/v3/{LEGACY}/{{transfer_id}}")
def delete_legacy(transfer_id: str, services: Services, context: Context) -> Response:
    services.transfers.delete(context, transfer_id)
    return Response(status_code=202)


@router.post(f"/v3/{LEGACY}/{{transfer_id}}/accept")
def accept_legacy(
    request: Request,
    transfer_id: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    return _accept(request, transfer_id, body, services, context, LEGACY, version)


# -- 3.55: volume-transfers ----------------------------------------------------------------------


@router.get(f"/v3/{MODERN}")
def list_modern(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _modern(version)
    return _list(request, services, context, MODERN, version, detail=False)


@router.get(f"/v3/{MODERN}/detail")
def detail_modern(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _modern(version)
    return _list(request, services, context, MODERN, version, detail=True)


@router.post(f"/v3/{MODERN}")
def create_modern(
    request: Request, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _modern(version)
    return _create(request, body, services, context, MODERN, version)


@router.get(f"/v3/{MODERN}/{{transfer_id}}")
def show_modern(
    request: Request, transfer_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _modern(version)
    item = services.transfers.get(context, transfer_id)
    return JSONBody({"transfer": _view(request, item, MODERN, version, detail=True)})


@router.delete(f"/v3/{MODERN}/{{transfer_id}}")
def delete_modern(
    transfer_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _modern(version)
    services.transfers.delete(context, transfer_id)
    return Response(status_code=202)


@router.post(f"/v3/{MODERN}/{{transfer_id}}/accept")
def accept_modern(
    request: Request,
    transfer_id: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    _modern(version)
    return _accept(request, transfer_id, body, services, context, MODERN, version)
