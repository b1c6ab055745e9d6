"""`/v2.0/subnetpools` (extensions subnet_allocation, default-subnetpools,
subnetpool-prefix-ops). The rules are the domain's (domain/subnetpools.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.0/subnetpools"


@router.get(PATH)
def list_subnetpools(request: Request, services: Services, context: Context) -> Response:
    items = services.networks.subnetpools.list_pools(context)
    url = service_url(request, "v2.0", "subnetpools")
    return JSONBody(query.apply(items, request.query_params.multi_items(), "subnetpools", url))


@router.post(PATH)
def create_subnetpool(body: JsonBody, services: Services, context: Context) -> Response:
    pool = services.networks.subnetpools.create_pool(context, body)
    return JSONBody({"subnetpool": pool}, status_code=201)


@router.get(PATH + "/{pool_id}")
def show_subnetpool(
    pool_id: str, request: Request, services: Services, context: Context
) -> Response:
    pool = services.networks.subnetpools.get_pool(context, pool_id)
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    if fields:
        pool = {k: v for k, v in pool.items() if k in fields}
    return JSONBody({"subnetpool": pool})


@router.put(PATH + "/{pool_id}")
def update_subnetpool(
    pool_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody(
        {"subnetpool": services.networks.subnetpools.update_pool(context, pool_id, body)}
    )


@router.put(PATH + "/{pool_id}/add_prefixes")
def add_prefixes(pool_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    return JSONBody(
        {"prefixes": services.networks.subnetpools.add_prefixes(context, pool_id, body)}
    )


@router.put(PATH + "/{pool_id}/remove_prefixes")
def remove_prefixes(pool_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    prefixes = services.networks.subnetpools.remove_prefixes(context, pool_id, body)
    return JSONBody({"prefixes": prefixes})


@router.delete(PATH + "/{pool_id}")
def delete_subnetpool(pool_id: str, services: Services, context: Context) -> Response:
    services.networks.subnetpools.delete_pool(context, pool_id)
    return Response(status_code=204)
