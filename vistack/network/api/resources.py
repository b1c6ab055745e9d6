"""Networks, subnets, ports, security groups and rules: CRUD routes per collection, and tags.

Handlers only parse and render: the domain decides (policy, validation, IPAM) and hands back
resources as Neutron renders them; `query.apply` then filters, sorts and pages the list.
Handlers are plain `def`s so FastAPI runs them on worker threads (they do blocking I/O).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import VistackError
from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query
from vistack.network.domain.errors import NeutronBadRequest, NeutronNotFound
from vistack.network.domain.revisions import revision_constraint
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)
router = APIRouter()
JsonBody = Annotated[Any, Body()]
TAGGABLE = ("networks", "subnets", "ports", "security-groups", "subnetpools")


def _list(
    request: Request, collection: str, items: list[dict[str, Any]], path: str | None = None
) -> Response:
    url = service_url(request, "v2.0", path or collection)
    return JSONBody(query.apply(items, request.query_params.multi_items(), collection, url))


def _add_collection(
    collection: str,
    lister: Callable[[NetworkService, RequestContext], list[dict[str, Any]]],
    getter: Callable[[NetworkService, RequestContext, str], dict[str, Any]],
    creator: Callable[[NetworkService, RequestContext, Any], dict[str, Any]],
    updater: Callable[[NetworkService, RequestContext, str, Any], dict[str, Any]] | None,
    deleter: Callable[[NetworkService, RequestContext, str], None],
    paged: Callable[[NetworkService, RequestContext, query.ListRequest], list[dict[str, Any]]]
    | None = None,
) -> None:
    """Routes of one collection: `collection` is the body key (`security_groups`), its URL
    path has hyphens instead (`/v2.0/security-groups`), as Neutron's. `paged`, if given, lists
    in the database, given the request's filters, sort and page (see `query.run`)."""
    member = collection[:-1]
    url_path = collection.replace("_", "-")

    def list_items(request: Request, services: Services, context: Context) -> Response:
        if paged is None:
            return _list(request, collection, lister(services.networks, context), url_path)
        url = service_url(request, "v2.0", url_path)
        asked = query.ListRequest(tuple(request.query_params.multi_items()), url)
        items = paged(services.networks, context, asked)
        return JSONBody(query.apply(items, asked.params, collection, url))

    def show_item(item_id: str, request: Request, services: Services, context: Context) -> Response:
        item = getter(services.networks, context, item_id)
        fields = [
            f for _, v in request.query_params.multi_items() if _ == "fields" for f in v.split(",")
        ]
        if fields:
            item = {k: v for k, v in item.items() if k in fields}
        return JSONBody({member: item})

    def create_item(body: JsonBody, services: Services, context: Context) -> Response:
        if isinstance(body, dict) and collection in body and len(body) == 1:
            return JSONBody(
                {collection: _bulk(services.networks, context, body[collection])},
                status_code=201,
            )
        return JSONBody({member: creator(services.networks, context, body)}, status_code=201)

    def _bulk(service: NetworkService, context: RequestContext, items: Any) -> list[dict[str, Any]]:
        """Neutron's bulk create: all or nothing, so a failure undoes the ones made before."""
        if not isinstance(items, list) or not items:
            raise NeutronBadRequest(f"Bulk create needs a non-empty list of {collection}.")
        made: list[dict[str, Any]] = []
        try:
            for item in items:
                made.append(creator(service, context, {member: item}))
        except Exception:
            for done in reversed(made):
                try:
                    deleter(service, context, done["id"])
                except VistackError:
                    LOG.exception(
                        "could not undo %s %s of a failed bulk create", member, done["id"]
                    )
            raise
        return made

    def update_item(
        item_id: str, body: JsonBody, request: Request, services: Services, context: Context
    ) -> Response:
        assert updater is not None
        with revision_constraint(request.headers.get("if-match")):
            return JSONBody({member: updater(services.networks, context, item_id, body)})

    def delete_item(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        with revision_constraint(request.headers.get("if-match")):
            deleter(services.networks, context, item_id)
        return Response(status_code=204)

    path = f"/v2.0/{url_path}"
    router.add_api_route(path, list_items, methods=["GET"], name=f"list_{collection}")
    router.add_api_route(path, create_item, methods=["POST"], name=f"create_{member}")
    router.add_api_route(path + "/{item_id}", show_item, methods=["GET"], name=f"show_{member}")
    if updater is not None:
        router.add_api_route(
            path + "/{item_id}", update_item, methods=["PUT"], name=f"update_{member}"
        )
    router.add_api_route(
        path + "/{item_id}", delete_item, methods=["DELETE"], name=f"delete_{member}"
    )


_add_collection(
    "networks",
    NetworkService.list_networks,
    NetworkService.get_network,
    NetworkService.create_network,
    NetworkService.update_network,
    NetworkService.delete_network,
    paged=NetworkService.list_networks,
)
_add_collection(
    "subnets",
    NetworkService.list_subnets,
    NetworkService.get_subnet,
    NetworkService.create_subnet,
    NetworkService.update_subnet,
    NetworkService.delete_subnet,
    paged=NetworkService.list_subnets,
)
_add_collection(
    "ports",
    NetworkService.list_ports,
    NetworkService.get_port,
    NetworkService.create_port,
    NetworkService.update_port,
    NetworkService.delete_port,
    paged=NetworkService.list_ports,
)

_add_collection(
    "security_groups",
    lambda service, context: service.security.list_groups(context),
    lambda service, context, item_id: service.security.get_group(context, item_id),
    lambda service, context, body: service.security.create_group(context, body),
    lambda service, context, item_id, body: service.security.update_group(context, item_id, body),
    lambda service, context, item_id: service.security.delete_group(context, item_id),
    paged=lambda service, context, asked: service.security.list_groups(context, asked),
)
_add_collection(
    "security_group_rules",
    lambda service, context: service.security.list_rules(context),
    lambda service, context, item_id: service.security.get_rule(context, item_id),
    lambda service, context, body: service.security.create_rule(context, body),
    None,
    lambda service, context, item_id: service.security.delete_rule(context, item_id),
    paged=lambda service, context, asked: service.security.list_rules(context, asked),
)


def _collection(resource: str) -> str:
    if resource not in TAGGABLE:
        raise NeutronNotFound("The resource could not be found.")
    return resource


@router.get("/v2.0/{resource}/{item_id}/tags")
def list_tags(resource: str, item_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"tags": services.networks.tags(context, _collection(resource), item_id)})


@router.put("/v2.0/{resource}/{item_id}/tags")
def replace_tags(
    resource: str, item_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, list):
        raise NeutronBadRequest("Invalid tags body: expected {'tags': [...]}.")
    new = services.networks.change_tags(
        context, _collection(resource), item_id, lambda _old: list(tags)
    )
    return JSONBody({"tags": new})


@router.delete("/v2.0/{resource}/{item_id}/tags")
def clear_tags(resource: str, item_id: str, services: Services, context: Context) -> Response:
    services.networks.change_tags(context, _collection(resource), item_id, lambda _old: [])
    return Response(status_code=204)


@router.get("/v2.0/{resource}/{item_id}/tags/{tag}")
def check_tag(
    resource: str, item_id: str, tag: str, services: Services, context: Context
) -> Response:
    if not services.networks.has_tag(context, _collection(resource), item_id, tag):
        raise NeutronNotFound(
            f"Tag {tag} could not be found for {resource} {item_id}.", "TagNotFound"
        )
    return Response(status_code=204)


@router.put("/v2.0/{resource}/{item_id}/tags/{tag}")
def add_tag(
    resource: str, item_id: str, tag: str, services: Services, context: Context
) -> Response:
    services.networks.change_tags(context, _collection(resource), item_id, lambda old: [*old, tag])
    return Response(status_code=201)


@router.delete("/v2.0/{resource}/{item_id}/tags/{tag}")
def remove_tag(
    resource: str, item_id: str, tag: str, services: Services, context: Context
) -> Response:
    if not services.networks.has_tag(context, _collection(resource), item_id, tag):
        raise NeutronNotFound(
            f"Tag {tag} could not be found for {resource} {item_id}.", "TagNotFound"
        )
    services.networks.change_tags(
        context, _collection(resource), item_id, lambda old: [t for t in old if t != tag]
    )
    return Response(status_code=204)
