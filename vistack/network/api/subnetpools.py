"""`/v2.0/subnetpools` (extensions subnet_allocation, default-subnetpools,
subnetpool-prefix-ops). The rules are the domain's (domain/subnetpools.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.network.api.collection import JsonBody, add_collection
from vistack.network.api.deps import Context, Services

router = APIRouter()
PATH = "/v2.0/subnetpools"


add_collection(
    router,
    "subnetpools",
    lambda service, context: service.subnetpools.list_pools(context),
    lambda service, context, item_id: service.subnetpools.get_pool(context, item_id),
    lambda service, context, body: service.subnetpools.create_pool(context, body),
    lambda service, context, item_id, body: service.subnetpools.update_pool(context, item_id, body),
    lambda service, context, item_id: service.subnetpools.delete_pool(context, item_id),
    bulk=False,
    if_match=False,
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
