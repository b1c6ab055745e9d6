"""`/v2/metadefs/*` and `/v2/schemas/metadefs/*`: the metadata definitions catalogue.

The JSON shapes are Glance's: optional attributes that are unset are left out rather than sent
as null (glanceclient validates each body against the published schema, where they are
strings), and links are paths relative to the service root.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.image.api.deps import Context, Services
from vistack.image.api.images import json_body
from vistack.image.api.views import timestamp
from vistack.image.domain.metadefs import (
    CHILD_SORT_KEYS,
    NAMESPACE_SORT_KEYS,
    Association,
    MetadefObject,
    Namespace,
    NamespaceContents,
    NamespaceQuery,
    Page,
    PropertyDefinition,
    ResourceType,
    Tag,
)
from vistack.image.metadefs.schemas import SCHEMAS, VISIBILITIES

router = APIRouter()

ROOT = "/v2/metadefs/namespaces"
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


# -- views -----------------------------------------------------------------------------------


def _stamps(item: Namespace | Association | MetadefObject | Tag | ResourceType) -> dict[str, str]:
    return {"created_at": timestamp(item.created_at), "updated_at": timestamp(item.updated_at)}


def _set(view: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Add the values that are set; Glance leaves unset optional attributes out."""
    view.update({k: v for k, v in values.items() if v is not None})
    return view


def association_view(association: Association) -> dict[str, Any]:
    view = _set(
        {"name": association.name},
        prefix=association.prefix,
        properties_target=association.properties_target,
    )
    return {**view, **_stamps(association)}


def tag_view(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, **_stamps(tag)}


def object_view(namespace: str, item: MetadefObject, *, links: bool = True) -> dict[str, Any]:
    view = _set({"name": item.name}, description=item.description)
    view.update(required=list(item.required), properties=item.properties, **_stamps(item))
    if links:
        view.update(
            self=f"{ROOT}/{namespace}/objects/{item.name}",
            schema="/v2/schemas/metadefs/object",
        )
    return view


def property_view(item: PropertyDefinition) -> dict[str, Any]:
    return {"name": item.name, **item.schema}


def namespace_view(
    namespace: Namespace, contents: NamespaceContents | None = None
) -> dict[str, Any]:
    view = _set(
        {"namespace": namespace.namespace},
        display_name=namespace.display_name,
        description=namespace.description,
    )
    view.update(visibility=namespace.visibility, protected=namespace.protected)
    _set(view, owner=namespace.owner)
    if namespace.associations:
        view["resource_type_associations"] = [association_view(a) for a in namespace.associations]
    if contents is not None:
        if contents.properties:
            view["properties"] = {p.name: p.schema for p in contents.properties}
        if contents.objects:
            view["objects"] = [
                object_view(namespace.namespace, o, links=False) for o in contents.objects
            ]
        if contents.tags:
            view["tags"] = [tag_view(t) for t in contents.tags]
    view.update(
        _stamps(namespace),
        self=f"{ROOT}/{namespace.namespace}",
        schema="/v2/schemas/metadefs/namespace",
    )
    return view


# -- query parameters --------------------------------------------------------------------------


def _page(request: Request, sort_keys: frozenset[str]) -> Page:
    params = request.query_params
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in sort_keys:
        raise BadRequest(
            f"Invalid sort key: {sort_key}. It must be one of: {', '.join(sorted(sort_keys))}."
        )
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}. It must be asc or desc.")
    raw = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest(f"Invalid limit: {raw!r} is not an integer.") from None
        if limit < 0:
            raise BadRequest("Invalid limit: it must not be negative.")
    return Page(sort_key, sort_dir, min(limit, MAX_LIMIT), params.get("marker"))


def _namespace_query(request: Request) -> NamespaceQuery:
    params = request.query_params
    visibility = params.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadRequest(f"Invalid visibility: {visibility}. It must be public or private.")
    resource_types = tuple(
        name.strip()
        for value in params.getlist("resource_types")
        for name in value.split(",")
        if name.strip()
    )
    return NamespaceQuery(_page(request, NAMESPACE_SORT_KEYS), visibility, resource_types)


# -- namespaces --------------------------------------------------------------------------------


@router.get("/v2/metadefs/namespaces")
def list_namespaces(request: Request, services: Services, context: Context) -> Response:
    query = _namespace_query(request)
    namespaces = services.metadefs.list_namespaces(context, query)
    body: dict[str, Any] = {
        "namespaces": [namespace_view(n) for n in namespaces],
        "first": ROOT,
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if namespaces and len(namespaces) == query.page.limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", namespaces[-1].namespace))
        body["next"] = f"{ROOT}?{urlencode(params)}"
    return JSONBody(body)


@router.post("/v2/metadefs/namespaces", status_code=201)
async def create_namespace(request: Request, services: Services, context: Context) -> Response:
    body = await json_body(request)
    contents = await run_in_threadpool(services.metadefs.create_namespace, context, body)
    return JSONBody(namespace_view(contents.namespace, contents), status_code=201)


@router.get("/v2/metadefs/namespaces/{namespace}")
def show_namespace(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    resource_type = request.query_params.get("resource_type")
    contents = services.metadefs.show_namespace(context, namespace, resource_type)
    return JSONBody(namespace_view(contents.namespace, contents))


@router.put("/v2/metadefs/namespaces/{namespace}")
async def update_namespace(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    contents = await run_in_threadpool(services.metadefs.update_namespace, context, namespace, body)
    return JSONBody(namespace_view(contents.namespace, contents))


@router.delete("/v2/metadefs/namespaces/{namespace}", status_code=204)
def delete_namespace(namespace: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_namespace(context, namespace)
    return Response(status_code=204)


# -- objects -----------------------------------------------------------------------------------


@router.get("/v2/metadefs/namespaces/{namespace}/objects")
def list_objects(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    objects = services.metadefs.list_objects(context, namespace, _page(request, CHILD_SORT_KEYS))
    return JSONBody(
        {
            "objects": [object_view(namespace, o) for o in objects],
            "schema": "/v2/schemas/metadefs/objects",
        }
    )


@router.post("/v2/metadefs/namespaces/{namespace}/objects", status_code=201)
async def create_object(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    item = await run_in_threadpool(services.metadefs.create_object, context, namespace, body)
    return JSONBody(object_view(namespace, item), status_code=201)


@router.delete("/v2/metadefs/namespaces/{namespace}/objects", status_code=204)
def delete_objects(namespace: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_objects(context, namespace)
    return Response(status_code=204)


@router.get("/v2/metadefs/namespaces/{namespace}/objects/{name}")
def show_object(namespace: str, name: str, services: Services, context: Context) -> Response:
    return JSONBody(object_view(namespace, services.metadefs.get_object(context, namespace, name)))


@router.put("/v2/metadefs/namespaces/{namespace}/objects/{name}")
async def update_object(
    namespace: str, name: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    item = await run_in_threadpool(services.metadefs.update_object, context, namespace, name, body)
    return JSONBody(object_view(namespace, item))


@router.delete("/v2/metadefs/namespaces/{namespace}/objects/{name}", status_code=204)
def delete_object(namespace: str, name: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_object(context, namespace, name)
    return Response(status_code=204)


# -- properties --------------------------------------------------------------------------------


@router.get("/v2/metadefs/namespaces/{namespace}/properties")
def list_properties(namespace: str, services: Services, context: Context) -> Response:
    properties = services.metadefs.list_properties(context, namespace)
    return JSONBody({"properties": {p.name: p.schema for p in properties}})


@router.post("/v2/metadefs/namespaces/{namespace}/properties", status_code=201)
async def create_property(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    item = await run_in_threadpool(services.metadefs.create_property, context, namespace, body)
    return JSONBody(property_view(item), status_code=201)


@router.delete("/v2/metadefs/namespaces/{namespace}/properties", status_code=204)
def delete_properties(namespace: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_properties(context, namespace)
    return Response(status_code=204)


@router.get("/v2/metadefs/namespaces/{namespace}/properties/{name}")
def show_property(
    namespace: str, name: str, request: Request, services: Services, context: Context
) -> Response:
    resource_type = request.query_params.get("resource_type")
    item = services.metadefs.get_property(context, namespace, name, resource_type)
    return JSONBody(property_view(item))


@router.put("/v2/metadefs/namespaces/{namespace}/properties/{name}")
async def update_property(
    namespace: str, name: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    item = await run_in_threadpool(
        services.metadefs.update_property, context, namespace, name, body
    )
    return JSONBody(property_view(item))


@router.delete("/v2/metadefs/namespaces/{namespace}/properties/{name}", status_code=204)
def delete_property(namespace: str, name: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_property(context, namespace, name)
    return Response(status_code=204)


# -- tags --------------------------------------------------------------------------------------


@router.get("/v2/metadefs/namespaces/{namespace}/tags")
def list_tags(namespace: str, request: Request, services: Services, context: Context) -> Response:
    tags = services.metadefs.list_tags(context, namespace, _page(request, CHILD_SORT_KEYS))
    return JSONBody({"tags": [tag_view(t) for t in tags]})


@router.post("/v2/metadefs/namespaces/{namespace}/tags", status_code=201)
async def create_tags(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    append = request.headers.get("x-openstack-append", "").strip().lower() in TRUE
    tags = await run_in_threadpool(
        lambda: services.metadefs.create_tags(context, namespace, body, append=append)
    )
    return JSONBody({"tags": [tag_view(t) for t in tags]}, status_code=201)


@router.delete("/v2/metadefs/namespaces/{namespace}/tags", status_code=204)
def delete_tags(namespace: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_tags(context, namespace)
    return Response(status_code=204)


@router.post("/v2/metadefs/namespaces/{namespace}/tags/{name}", status_code=201)
def create_tag(namespace: str, name: str, services: Services, context: Context) -> Response:
    return JSONBody(tag_view(services.metadefs.create_tag(context, namespace, name)), 201)


@router.get("/v2/metadefs/namespaces/{namespace}/tags/{name}")
def show_tag(namespace: str, name: str, services: Services, context: Context) -> Response:
    return JSONBody(tag_view(services.metadefs.get_tag(context, namespace, name)))


@router.put("/v2/metadefs/namespaces/{namespace}/tags/{name}")
async def rename_tag(
    namespace: str, name: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    tag = await run_in_threadpool(services.metadefs.rename_tag, context, namespace, name, body)
    return JSONBody(tag_view(tag))


@router.delete("/v2/metadefs/namespaces/{namespace}/tags/{name}", status_code=204)
def delete_tag(namespace: str, name: str, services: Services, context: Context) -> Response:
    services.metadefs.delete_tag(context, namespace, name)
    return Response(status_code=204)


# -- resource types ----------------------------------------------------------------------------


@router.get("/v2/metadefs/resource_types")
def list_resource_types(services: Services, context: Context) -> Response:
    types = services.metadefs.list_resource_types(context)
    return JSONBody({"resource_types": [{"name": t.name, **_stamps(t)} for t in types]})


@router.get("/v2/metadefs/namespaces/{namespace}/resource_types")
def list_associations(namespace: str, services: Services, context: Context) -> Response:
    associations = services.metadefs.list_associations(context, namespace)
    return JSONBody({"resource_type_associations": [association_view(a) for a in associations]})


@router.post("/v2/metadefs/namespaces/{namespace}/resource_types", status_code=201)
async def associate(
    namespace: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    association = await run_in_threadpool(services.metadefs.associate, context, namespace, body)
    return JSONBody(association_view(association), status_code=201)


@router.delete("/v2/metadefs/namespaces/{namespace}/resource_types/{name}", status_code=204)
def dissociate(namespace: str, name: str, services: Services, context: Context) -> Response:
    services.metadefs.dissociate(context, namespace, name)
    return Response(status_code=204)


# -- schemas -----------------------------------------------------------------------------------


@router.get("/v2/schemas/metadefs/{name}")
def metadef_schema(name: str, context: Context) -> Response:
    del context  # authenticated, like every Glance call
    document = SCHEMAS.get(name)
    if document is None:
        raise NotFound(f"No metadata definitions schema named {name}.")
    return JSONBody(document())
