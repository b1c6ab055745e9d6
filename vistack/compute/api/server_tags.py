"""`/v2.1/servers/{id}/tags` (microversion 2.26): list, replace and clear a server's tags, and
check, add and remove one. Before 2.26 these paths do not exist (404), as in Nova."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/servers/{server_id}/tags"


def _since_2_26(version: Version) -> None:
    if not version.at_least("2.26"):
        raise NotFound("The resource could not be found.")


@router.get(PATH)
def list_tags(server_id: str, services: Services, context: Context, version: Microversion) -> Any:
    _since_2_26(version)
    return JSONBody({"tags": services.tags.index(context, server_id)})


@router.put(PATH)
def replace_tags(
    server_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Any:
    _since_2_26(version)
    return JSONBody({"tags": services.tags.replace(context, server_id, body)})


@router.delete(PATH)
def clear_tags(
    server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since_2_26(version)
    services.tags.clear(context, server_id)
    return Response(status_code=204)


@router.get(PATH + "/{tag}")
def check_tag(
    server_id: str, tag: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since_2_26(version)
    if not services.tags.has(context, server_id, tag):
        raise NotFound(f"Server {server_id} has no tag '{tag}'")
    return Response(status_code=204)


@router.put(PATH + "/{tag}")
def add_tag(
    request: Request,
    server_id: str,
    tag: str,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    _since_2_26(version)
    if not services.tags.add(context, server_id, tag):
        return Response(status_code=204)
    location = service_url(request, "v2.1", "servers", server_id, "tags", quote(tag, safe=""))
    return Response(status_code=201, headers={"Location": location})


@router.delete(PATH + "/{tag}")
def remove_tag(
    server_id: str, tag: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since_2_26(version)
    services.tags.remove(context, server_id, tag)
    return Response(status_code=204)
