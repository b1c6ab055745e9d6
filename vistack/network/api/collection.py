"""The routes every Neutron collection has (list, show, create, update, delete), written once.

Each API module registers its collections here with the domain calls behind them, on its own
router: app.py mounts the routers in an order that keeps specific paths (`/v2.0/metering/...`,
`/v2.0/routers/{id}/add_router_interface`) ahead of the generic `/{resource}/{id}/tags` ones.
The domain calls block (database, vCenter), so each handler runs them on a worker thread of its
lane (`vistack.common.lanes`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import VistackError
from vistack.common.lanes import WorkLane
from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, NetworkServices, Services
from vistack.network.domain import query
from vistack.network.domain.errors import NeutronBadRequest, NeutronNotFound
from vistack.network.domain.revisions import revision_constraint
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)
#: Calls that wait on vCenter: FastAPI's shared pool of worker threads.
SHARED_POOL = WorkLane(None)
JsonBody = Annotated[Any, Body()]


def list_response(
    request: Request, collection: str, items: list[dict[str, Any]], path: str | None = None
) -> Response:
    """A list as Neutron renders it: filtered, sorted and paged by the request's parameters,
    its page links under `path` (the collection's URL path, by default its name)."""
    url = service_url(request, "v2.0", path or collection)
    return JSONBody(query.apply(items, request.query_params.multi_items(), collection, url))


def select_fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    """The attributes the request's `fields` parameters name (all of them without any)."""
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    return {k: v for k, v in item.items() if k in fields} if fields else item


def add_collection(
    router: APIRouter,
    collection: str,
    lister: Callable[[NetworkService, RequestContext], list[dict[str, Any]]],
    getter: Callable[[NetworkService, RequestContext, str], dict[str, Any]],
    creator: Callable[[NetworkService, RequestContext, Any], dict[str, Any]] | None,
    updater: Callable[[NetworkService, RequestContext, str, Any], dict[str, Any]] | None,
    deleter: Callable[[NetworkService, RequestContext, str], None],
    *,
    member: str | None = None,
    path: str | None = None,
    paged: Callable[[NetworkService, RequestContext, query.ListRequest], list[dict[str, Any]]]
    | None = None,
    bulk: bool = True,
    if_match: bool = True,
    database_only: bool = True,
) -> None:
    """Routes of one collection on `router`. `collection` is the list's body key
    (`security_groups`) and `member` an item's (by default `collection` less its final s);
    the URL path under /v2.0 is `path`, by default `collection` with hyphens (as Neutron's
    `/v2.0/security-groups`). Without a `creator` or `updater` there is no POST or PUT (the
    path answers 405, or the module adds its own). `paged`, if given, lists in the database,
    given the request's filters, sort and page (see `query.run`). `bulk` accepts Neutron's
    `{collection: [...]}` create; `if_match` honours `If-Match: revision_number=N` on update
    and delete. Collections whose domain keeps no revisions turn it off: there the header is
    ignored, not parsed (a malformed one is no 400). `database_only`: the calls touch nothing
    but the database, so they run in the database lane; a collection whose calls wait on
    vCenter says False and runs on the shared pool (see `vistack.common.lanes`)."""
    item_key = member or collection[:-1]
    url_path = path or collection.replace("_", "-")

    def list_now(request: Request, services: Services, context: Context) -> Response:
        if paged is None:
            return list_response(request, collection, lister(services.networks, context), url_path)
        url = service_url(request, "v2.0", url_path)
        asked = query.ListRequest(tuple(request.query_params.multi_items()), url)
        items = paged(services.networks, context, asked)
        return JSONBody(query.apply(items, asked.params, collection, url))

    def show_now(item_id: str, request: Request, services: Services, context: Context) -> Response:
        item = getter(services.networks, context, item_id)
        return JSONBody({item_key: select_fields(request, item)})

    def create_now(body: JsonBody, services: Services, context: Context) -> Response:
        assert creator is not None
        if bulk and isinstance(body, dict) and collection in body and len(body) == 1:
            return JSONBody(
                {collection: _bulk(services.networks, context, body[collection])},
                status_code=201,
            )
        return JSONBody({item_key: creator(services.networks, context, body)}, status_code=201)

    def _bulk(service: NetworkService, context: RequestContext, items: Any) -> list[dict[str, Any]]:
        """Neutron's bulk create: all or nothing, so a failure undoes the ones made before."""
        assert creator is not None
        if not isinstance(items, list) or not items:
            raise NeutronBadRequest(f"Bulk create needs a non-empty list of {collection}.")
        made: list[dict[str, Any]] = []
        try:
            for item in items:
                made.append(creator(service, context, {item_key: item}))
        except Exception:
            for done in reversed(made):
                try:
                    deleter(service, context, done["id"])
                except VistackError:
                    LOG.exception(
                        "could not undo %s %s of a failed bulk create", item_key, done["id"]
                    )
            raise
        return made

    def header(request: Request) -> str | None:
        return request.headers.get("if-match") if if_match else None

    def update_now(
        item_id: str, body: JsonBody, request: Request, services: Services, context: Context
    ) -> Response:
        assert updater is not None
        with revision_constraint(header(request)):
            return JSONBody({item_key: updater(services.networks, context, item_id, body)})

    def delete_now(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        with revision_constraint(header(request)):
            deleter(services.networks, context, item_id)
        return Response(status_code=204)

    def lane(services: NetworkServices) -> WorkLane:
        return services.database_lane if database_only else SHARED_POOL

    # The handlers: each runs its `*_now` on a worker thread of the collection's lane.
    async def list_items(request: Request, services: Services, context: Context) -> Response:
        return await lane(services).run(list_now, request, services, context)

    async def show_item(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        return await lane(services).run(show_now, item_id, request, services, context)

    async def create_item(body: JsonBody, services: Services, context: Context) -> Response:
        return await lane(services).run(create_now, body, services, context)

    async def update_item(
        item_id: str, body: JsonBody, request: Request, services: Services, context: Context
    ) -> Response:
        return await lane(services).run(update_now, item_id, body, request, services, context)

    async def delete_item(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        return await lane(services).run(delete_now, item_id, request, services, context)

    base = f"/v2.0/{url_path}"
    item = base + "/{item_id}"
    router.add_api_route(base, list_items, methods=["GET"], name=f"list_{collection}")
    if creator is not None:
        router.add_api_route(base, create_item, methods=["POST"], name=f"create_{item_key}")
    router.add_api_route(item, show_item, methods=["GET"], name=f"show_{item_key}")
    if updater is not None:
        router.add_api_route(item, update_item, methods=["PUT"], name=f"update_{item_key}")
    router.add_api_route(item, delete_item, methods=["DELETE"], name=f"delete_{item_key}")


def add_tag_routes(router: APIRouter, path: str, collection_of: Callable[[Request], str]) -> None:
    """Neutron's tag API (standard-attr-tag) under `path` (`/v2.0/routers/{item_id}`, or the
    generic `/v2.0/{resource}/{item_id}`): `collection_of` names the request's collection, or
    answers 404 for one without tags. It is asked where the handlers always asked it, so an
    unknown collection and a bad body fail in the same order as before."""
    tags_path = path + "/tags"

    def require(
        services: Services, context: Context, collection: str, item_id: str, tag: str
    ) -> None:
        if not services.networks.has_tag(context, collection, item_id, tag):
            raise NeutronNotFound(
                f"Tag {tag} could not be found for {collection} {item_id}.", "TagNotFound"
            )

    def list_tags(item_id: str, request: Request, services: Services, context: Context) -> Response:
        return JSONBody({"tags": services.networks.tags(context, collection_of(request), item_id)})

    def replace_tags(
        item_id: str, body: JsonBody, request: Request, services: Services, context: Context
    ) -> Response:
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            raise NeutronBadRequest("Invalid tags body: expected {'tags': [...]}.")
        new = services.networks.change_tags(
            context, collection_of(request), item_id, lambda _old: list(tags)
        )
        return JSONBody({"tags": new})

    def clear_tags(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        services.networks.change_tags(context, collection_of(request), item_id, lambda _old: [])
        return Response(status_code=204)

    def check_tag(
        item_id: str, tag: str, request: Request, services: Services, context: Context
    ) -> Response:
        require(services, context, collection_of(request), item_id, tag)
        return Response(status_code=204)

    def add_tag(
        item_id: str, tag: str, request: Request, services: Services, context: Context
    ) -> Response:
        services.networks.change_tags(
            context, collection_of(request), item_id, lambda old: [*old, tag]
        )
        return Response(status_code=201)

    def remove_tag(
        item_id: str, tag: str, request: Request, services: Services, context: Context
    ) -> Response:
        collection = collection_of(request)
        require(services, context, collection, item_id, tag)
        services.networks.change_tags(
            context, collection, item_id, lambda old: [t for t in old if t != tag]
        )
        return Response(status_code=204)

    name = path.split("/")[2].strip("{}")
    router.add_api_route(tags_path, list_tags, methods=["GET"], name=f"list_{name}_tags")
    router.add_api_route(tags_path, replace_tags, methods=["PUT"], name=f"replace_{name}_tags")
    router.add_api_route(tags_path, clear_tags, methods=["DELETE"], name=f"clear_{name}_tags")
    tag_path = tags_path + "/{tag}"
    router.add_api_route(tag_path, check_tag, methods=["GET"], name=f"check_{name}_tag")
    router.add_api_route(tag_path, add_tag, methods=["PUT"], name=f"add_{name}_tag")
    router.add_api_route(tag_path, remove_tag, methods=["DELETE"], name=f"remove_{name}_tag")
