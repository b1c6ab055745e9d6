"""`/v3/{project_id}/messages` (3.3): list (filtered, sorted and paged from 3.5), show and
delete the user messages `domain/messages.py` records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.volume.api import gates
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.views import next_links, timestamp
from vistack.volume.domain.messages import Message

router = APIRouter()

MESSAGES = (3, 3)
PAGINATION = (3, 5)


def view(request: Request, message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": message.id,
        "event_id": message.event_id,
        "user_message": message.user_message,
        "message_level": message.message_level,
        "created_at": timestamp(message.created_at),
        "guaranteed_until": timestamp(message.guaranteed_until),
        "request_id": message.request_id,
        "links": [
            {
                "rel": "self",
                "href": service_url(request, "v3", message.project_id, "messages", message.id),
            },
            {
                "rel": "bookmark",
                "href": service_url(request, message.project_id, "messages", message.id),
            },
        ],
    }
    if message.resource_type:
        body["resource_type"] = message.resource_type
    if message.resource_uuid:
        body["resource_uuid"] = message.resource_uuid
    return body


@router.get("/v3/messages")
def list_messages(request: Request, services: Services, context: Context) -> Response:
    gates.require(request, MESSAGES)
    paged = gates.at_least(request, PAGINATION)
    found, more = services.messages.list_messages(context, dict(request.query_params), paged=paged)
    body: dict[str, Any] = {"messages": [view(request, m) for m in found]}
    links = next_links(request, "messages", found, more) if paged else None
    if links:
        body["messages_links"] = links
    return JSONBody(body)


@router.get("/v3/messages/{message_id}")
def show_message(
    request: Request, message_id: str, services: Services, context: Context
) -> Response:
    gates.require(request, MESSAGES)
    return JSONBody({"message": view(request, services.messages.get(context, message_id))})


@router.delete("/v3/messages/{message_id}")
def delete_message(
    request: Request, message_id: str, services: Services, context: Context
) -> Response:
    gates.require(request, MESSAGES)
    services.messages.delete(context, message_id)
    return Response(status_code=204)
