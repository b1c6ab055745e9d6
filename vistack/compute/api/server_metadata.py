"""`/v2.1/servers/{id}/metadata[/{key}]` and `/v2.1/servers/{id}/ips[/{network}]`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/servers/{server_id}/metadata"


@router.get(PATH)
def list_metadata(server_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"metadata": services.metadata.list_items(context, server_id)})


@router.post(PATH)
def merge_metadata(
    server_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody({"metadata": services.metadata.merge(context, server_id, body)})


@router.put(PATH)
def replace_metadata(
    server_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody({"metadata": services.metadata.replace(context, server_id, body)})


@router.get(PATH + "/{key}")
def show_item(server_id: str, key: str, services: Services, context: Context) -> Response:
    return JSONBody({"meta": services.metadata.show(context, server_id, key)})


@router.put(PATH + "/{key}")
def set_item(
    server_id: str, key: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody({"meta": services.metadata.set_one(context, server_id, key, body)})


@router.delete(PATH + "/{key}")
def delete_item(server_id: str, key: str, services: Services, context: Context) -> Response:
    services.metadata.delete_one(context, server_id, key)
    return Response(status_code=204)


@router.get("/v2.1/servers/{server_id}/ips")
def list_ips(server_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"addresses": services.metadata.addresses(context, server_id)})


@router.get("/v2.1/servers/{server_id}/ips/{network}")
def show_ips(server_id: str, network: str, services: Services, context: Context) -> Response:
    addresses = services.metadata.addresses(context, server_id)
    if network not in addresses:
        raise NotFound("There is no such network")  # Nova's words
    return JSONBody({network: addresses[network]})
