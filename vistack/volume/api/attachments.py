"""`/v3/{project_id}/attachments` (3.27): create, list (summary and detail), show, update
with a connector, delete, and `os-complete` (3.44); the attach mode from 3.54. The rules are
`domain/attachment_service.py`'s."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.volume.api import gates
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.views import timestamp
from vistack.volume.domain import attachment_service
from vistack.volume.domain.attachment_service import VolumeAttachment

router = APIRouter()
JsonBody = Annotated[Any, Body()]

ATTACHMENTS = (3, 27)
COMPLETE = (3, 44)
MODE = (3, 54)


def summary(item: VolumeAttachment) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "instance": item.instance,
        "volume_id": item.volume_id,
    }


def detail(item: VolumeAttachment) -> dict[str, Any]:
    # A record lives while attached; the detach deletes it, so `detached_at` has no value.
    return {
        **summary(item),
        "attached_at": timestamp(item.attached_at),
        "detached_at": None,
        "attach_mode": item.attach_mode,
        "connection_info": item.connection_info,
    }


@router.post("/v3/attachments")
def create_attachment(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    gates.require(request, ATTACHMENTS)
    asked = attachment_service.create_request(body, with_mode=gates.at_least(request, MODE))
    created = services.attachment_api.create(context, asked)
    return JSONBody({"attachment": detail(created)})


def _list(request: Request, services: Services, context: Context, full: bool) -> Response:
    gates.require(request, ATTACHMENTS)
    found, _more = services.attachment_api.list_attachments(context, dict(request.query_params))
    # Cinder's attachment lists carry no `attachments_links`: clients page with the last id.
    return JSONBody({"attachments": [detail(a) if full else summary(a) for a in found]})


@router.get("/v3/attachments")
def list_attachments(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, full=False)


@router.get("/v3/attachments/detail")
def list_attachments_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, full=True)


@router.get("/v3/attachments/{attachment_id}")
def show_attachment(
    request: Request, attachment_id: str, services: Services, context: Context
) -> Response:
    gates.require(request, ATTACHMENTS)
    return JSONBody({"attachment": detail(services.attachment_api.get(context, attachment_id))})


@router.put("/v3/attachments/{attachment_id}")
def update_attachment(
    request: Request, attachment_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    gates.require(request, ATTACHMENTS)
    connector = attachment_service.update_request(body)
    updated = services.attachment_api.update(context, attachment_id, connector)
    return JSONBody({"attachment": detail(updated)})


@router.delete("/v3/attachments/{attachment_id}")
def delete_attachment(
    request: Request, attachment_id: str, services: Services, context: Context
) -> Response:
    gates.require(request, ATTACHMENTS)
    remaining = services.attachment_api.delete(context, attachment_id)
    return JSONBody({"attachments": [summary(a) for a in remaining]})


@router.post("/v3/attachments/{attachment_id}/action")
def attachment_action(
    request: Request, attachment_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    gates.require(request, ATTACHMENTS)
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        raise BadRequest(
            "Malformed request body: an attachment action is exactly one of: os-complete."
        )
    gates.require(request, COMPLETE)
    services.attachment_api.complete(context, attachment_id)
    return Response(status_code=204)
