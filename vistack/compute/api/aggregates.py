"""`/v2.1/os-aggregates`: host aggregates as Nova shows them (integer ids; from 2.41 a `uuid`
too; the zone both as `availability_zone` and in `metadata`). Nova answers 200 to every call,
creates and deletes included, and a create without `hosts` and `metadata`: kept, as clients
expect it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import BadRequest, NotFound, NotImplementedByBackend
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.services import nova_time
from vistack.compute.domain.aggregates import Aggregate

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/os-aggregates"


#: The namespace of the aggregates' uuids (see `aggregate_uuid`).
AGGREGATE_NAMESPACE = uuid.UUID("6c3b1f4e-8a1d-5d0e-9a51-0f4b7e2c9d11")


def aggregate_uuid(aggregate: Aggregate) -> str:
    """2.41's `uuid`: derived from the aggregate's id and creation time, so it is stable for
    the aggregate's life and never repeats for a later aggregate that reuses the integer id."""
    created = aggregate.created_at.isoformat() if aggregate.created_at else ""
    return str(uuid.uuid5(AGGREGATE_NAMESPACE, f"{aggregate.id}/{created}"))


def aggregate_view(aggregate: Aggregate, version: Version | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": aggregate.id,
        "name": aggregate.name,
        "availability_zone": aggregate.availability_zone,
        "hosts": list(aggregate.hosts),
        "metadata": dict(aggregate.metadata),
        "created_at": nova_time(aggregate.created_at),
        "updated_at": nova_time(aggregate.updated_at),
        "deleted": False,
        "deleted_at": None,
    }
    if version is not None and version.at_least("2.41"):
        view["uuid"] = aggregate_uuid(aggregate)
    return view


@router.get(PATH)
def list_aggregates(services: Services, context: Context, version: Microversion) -> Response:
    found = services.aggregates.list_aggregates(context)
    return JSONBody({"aggregates": [aggregate_view(a, version) for a in found]})


@router.post(PATH)
def create_aggregate(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    view = aggregate_view(services.aggregates.create(context, body), version)
    del view["hosts"], view["metadata"]  # Nova's create answer has neither
    return JSONBody({"aggregate": view})


@router.get(PATH + "/{aggregate_id}")
def show_aggregate(
    aggregate_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    aggregate = services.aggregates.show(context, aggregate_id)
    return JSONBody({"aggregate": aggregate_view(aggregate, version)})


@router.put(PATH + "/{aggregate_id}")
def update_aggregate(
    aggregate_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    aggregate = services.aggregates.update(context, aggregate_id, body)
    return JSONBody({"aggregate": aggregate_view(aggregate, version)})


@router.delete(PATH + "/{aggregate_id}")
def delete_aggregate(aggregate_id: str, services: Services, context: Context) -> Response:
    services.aggregates.delete(context, aggregate_id)
    return Response(status_code=200)


@router.post(PATH + "/{aggregate_id}/images")
def cache_images(
    aggregate_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    """2.81: pre-cache images on the aggregate's clusters (202; the copies run after)."""
    if not version.at_least("2.81"):
        raise NotFound("The resource could not be found.")
    if services.precache is None:
        raise NotImplementedByBackend("Images are cached in vCenter, which this cloud lacks.")
    services.precache.request(context, aggregate_id, body)
    return Response(status_code=202)


@router.post(PATH + "/{aggregate_id}/action")
def aggregate_action(
    aggregate_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    """`add_host`, `remove_host` or `set_metadata`; the domain checks the argument."""
    if not isinstance(body, Mapping) or len(body) != 1:
        raise BadRequest(
            "The action body must be an object with exactly one action: add_host, remove_host "
            "or set_metadata."
        )
    (name,) = body
    aggregates = services.aggregates
    if name == "add_host":
        aggregate = aggregates.add_host(context, aggregate_id, body)
    elif name == "remove_host":
        aggregate = aggregates.remove_host(context, aggregate_id, body)
    elif name == "set_metadata":
        aggregate = aggregates.set_metadata(context, aggregate_id, body)
    else:
        raise BadRequest(f"There is no such action: {name}")
    return JSONBody({"aggregate": aggregate_view(aggregate, version)})
