"""`/v2.0/routers` and `/v2.0/floatingips` (edge backend only: app.py mounts these routes
instead of the `dvs` refusal). Handlers parse and render; the domain (domain/routers.py,
domain/floatingips.py) decides. Lists get Neutron's filters, `fields`, sorting and pages
from `query.apply`; updates and deletes honour `If-Match: revision_number=N`.

Their tag routes are here too, ahead of the generic ones of resources.py, which serve the
L2 collections only.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.network.api.collection import JsonBody, add_collection, add_tag_routes
from vistack.network.api.deps import Context, Services

router = APIRouter()
ROUTERS = "/v2.0/routers"


# ---------------------------------------------------------------- routers

add_collection(
    router,
    "routers",
    lambda service, context: service.routers.list_routers(context),
    lambda service, context, item_id: service.routers.get_router(context, item_id),
    lambda service, context, body: service.routers.create_router(context, body),
    lambda service, context, item_id, body: service.routers.update_router(context, item_id, body),
    lambda service, context, item_id: service.routers.delete_router(context, item_id),
    bulk=False,
)


@router.put(ROUTERS + "/{router_id}/add_router_interface")
def add_router_interface(
    router_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody(services.networks.routers.add_interface(context, router_id, body))


@router.put(ROUTERS + "/{router_id}/remove_router_interface")
def remove_router_interface(
    router_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody(services.networks.routers.remove_interface(context, router_id, body))


@router.put(ROUTERS + "/{router_id}/add_extraroutes")
def add_extraroutes(
    router_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    item = services.networks.routers.change_routes(context, router_id, body, add=True)
    return JSONBody({"router": item})


@router.put(ROUTERS + "/{router_id}/remove_extraroutes")
def remove_extraroutes(
    router_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    item = services.networks.routers.change_routes(context, router_id, body, add=False)
    return JSONBody({"router": item})


# ---------------------------------------------------------------- floating IPs

add_collection(
    router,
    "floatingips",
    lambda service, context: service.floatingips.list_floatingips(context),
    lambda service, context, item_id: service.floatingips.get_floatingip(context, item_id),
    lambda service, context, body: service.floatingips.create_floatingip(context, body),
    lambda service, context, item_id, body: service.floatingips.update_floatingip(
        context, item_id, body
    ),
    lambda service, context, item_id: service.floatingips.delete_floatingip(context, item_id),
    bulk=False,
)


# ---------------------------------------------------------------- tags

add_tag_routes(router, ROUTERS + "/{item_id}", lambda _request: "routers")
add_tag_routes(router, "/v2.0/floatingips/{item_id}", lambda _request: "floatingips")
