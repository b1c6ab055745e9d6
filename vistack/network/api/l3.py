"""`/v2.0/routers` and `/v2.0/floatingips` (edge backend only: app.py mounts these routes
instead of the `dvs` refusal). Handlers parse and render; the domain (domain/routers.py,
domain/floatingips.py) decides. Lists get Neutron's filters, `fields`, sorting and pages
from `query.apply`; updates and deletes honour `If-Match: revision_number=N`.

Their tag routes are here too, ahead of the generic ones of resources.py, which serve the
L2 collections only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query
from vistack.network.domain.errors import NeutronBadRequest, NeutronNotFound
from vistack.network.domain.revisions import revision_constraint
from vistack.network.domain.service import NetworkService

router = APIRouter()
JsonBody = Annotated[Any, Body()]
ROUTERS = "/v2.0/routers"
FLOATINGIPS = "/v2.0/floatingips"


def _list(request: Request, collection: str, items: list[dict[str, Any]]) -> Response:
    url = service_url(request, "v2.0", collection)
    return JSONBody(query.apply(items, request.query_params.multi_items(), collection, url))


def _fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    return {k: v for k, v in item.items() if k in fields} if fields else item


# ---------------------------------------------------------------- routers


@router.get(ROUTERS)
def list_routers(request: Request, services: Services, context: Context) -> Response:
    return _list(request, "routers", services.networks.routers.list_routers(context))


@router.post(ROUTERS)
def create_router(body: JsonBody, services: Services, context: Context) -> Response:
    made = services.networks.routers.create_router(context, body)
    return JSONBody({"router": made}, status_code=201)


@router.get(ROUTERS + "/{router_id}")
def show_router(router_id: str, request: Request, services: Services, context: Context) -> Response:
    item = services.networks.routers.get_router(context, router_id)
    return JSONBody({"router": _fields(request, item)})


@router.put(ROUTERS + "/{router_id}")
def update_router(
    router_id: str, body: JsonBody, request: Request, services: Services, context: Context
) -> Response:
    with revision_constraint(request.headers.get("if-match")):
        item = services.networks.routers.update_router(context, router_id, body)
    return JSONBody({"router": item})


@router.delete(ROUTERS + "/{router_id}")
def delete_router(
    router_id: str, request: Request, services: Services, context: Context
) -> Response:
    with revision_constraint(request.headers.get("if-match")):
        services.networks.routers.delete_router(context, router_id)
    return Response(status_code=204)


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


@router.get(FLOATINGIPS)
def list_floatingips(request: Request, services: Services, context: Context) -> Response:
    return _list(request, "floatingips", services.networks.floatingips.list_floatingips(context))


@router.post(FLOATINGIPS)
def create_floatingip(body: JsonBody, services: Services, context: Context) -> Response:
    made = services.networks.floatingips.create_floatingip(context, body)
    return JSONBody({"floatingip": made}, status_code=201)


@router.get(FLOATINGIPS + "/{floatingip_id}")
def show_floatingip(
    floatingip_id: str, request: Request, services: Services, context: Context
) -> Response:
    item = services.networks.floatingips.get_floatingip(context, floatingip_id)
    return JSONBody({"floatingip": _fields(request, item)})


@router.put(FLOATINGIPS + "/{floatingip_id}")
def update_floatingip(
    floatingip_id: str, body: JsonBody, request: Request, services: Services, context: Context
) -> Response:
    with revision_constraint(request.headers.get("if-match")):
        item = services.networks.floatingips.update_floatingip(context, floatingip_id, body)
    return JSONBody({"floatingip": item})


@router.delete(FLOATINGIPS + "/{floatingip_id}")
def delete_floatingip(
    floatingip_id: str, request: Request, services: Services, context: Context
) -> Response:
    with revision_constraint(request.headers.get("if-match")):
        services.networks.floatingips.delete_floatingip(context, floatingip_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- tags


def _add_tag_routes(collection: str) -> None:
    """Neutron's tag API (standard-attr-tag) on one L3 collection."""
    path = f"/v2.0/{collection}/{{item_id}}/tags"

    def change(
        service: NetworkService,
        context: RequestContext,
        item_id: str,
        how: Callable[[list[str]], list[str]],
    ) -> list[str]:
        return service.change_tags(context, collection, item_id, how)

    def missing(tag: str, item_id: str) -> NeutronNotFound:
        return NeutronNotFound(
            f"Tag {tag} could not be found for {collection} {item_id}.", "TagNotFound"
        )

    def list_tags(item_id: str, services: Services, context: Context) -> Response:
        return JSONBody({"tags": services.networks.tags(context, collection, item_id)})

    def replace_tags(
        item_id: str, body: JsonBody, services: Services, context: Context
    ) -> Response:
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            raise NeutronBadRequest("Invalid tags body: expected {'tags': [...]}.")
        return JSONBody(
            {"tags": change(services.networks, context, item_id, lambda _old: list(tags))}
        )

    def clear_tags(item_id: str, services: Services, context: Context) -> Response:
        change(services.networks, context, item_id, lambda _old: [])
        return Response(status_code=204)

    def check_tag(item_id: str, tag: str, services: Services, context: Context) -> Response:
        if not services.networks.has_tag(context, collection, item_id, tag):
            raise missing(tag, item_id)
        return Response(status_code=204)

    def add_tag(item_id: str, tag: str, services: Services, context: Context) -> Response:
        change(services.networks, context, item_id, lambda old: [*old, tag])
        return Response(status_code=201)

    def remove_tag(item_id: str, tag: str, services: Services, context: Context) -> Response:
        if not services.networks.has_tag(context, collection, item_id, tag):
            raise missing(tag, item_id)
        change(services.networks, context, item_id, lambda old: [t for t in old if t != tag])
        return Response(status_code=204)

    router.add_api_route(path, list_tags, methods=["GET"], name=f"list_{collection}_tags")
    router.add_api_route(path, replace_tags, methods=["PUT"], name=f"replace_{collection}_tags")
    router.add_api_route(path, clear_tags, methods=["DELETE"], name=f"clear_{collection}_tags")
    tag = path + "/{tag}"
    router.add_api_route(tag, check_tag, methods=["GET"], name=f"check_{collection}_tag")
    router.add_api_route(tag, add_tag, methods=["PUT"], name=f"add_{collection}_tag")
    router.add_api_route(tag, remove_tag, methods=["DELETE"], name=f"remove_{collection}_tag")


_add_tag_routes("routers")
_add_tag_routes("floatingips")
