"""`/v2.1/os-aggregates`: host aggregates as Nova 2.1 shows them (integer ids, no uuid; the
zone both as `availability_zone` and in `metadata`). Nova answers 200 to every call, creates and
deletes included, and a create without `hosts` and `metadata`: kept, as clients expect it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.services import nova_time
from vistack.compute.domain.aggregates import Aggregate

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/os-aggregates"


def aggregate_view(aggregate: Aggregate) -> dict[str, Any]:
    return {
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


@router.get(PATH)
def list_aggregates(services: Services, context: Context) -> Response:
    found = services.aggregates.list_aggregates(context)
    return JSONBody({"aggregates": [aggregate_view(a) for a in found]})


@router.post(PATH)
def create_aggregate(body: JsonBody, services: Services, context: Context) -> Response:
    view = aggregate_view(services.aggregates.create(context, body))
    del view["hosts"], view["metadata"]  # Nova's create answer has neither
    return JSONBody({"aggregate": view})


@router.get(PATH + "/{aggregate_id}")
def show_aggregate(aggregate_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"aggregate": aggregate_view(services.aggregates.show(context, aggregate_id))})


@router.put(PATH + "/{aggregate_id}")
def update_aggregate(
    aggregate_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    aggregate = services.aggregates.update(context, aggregate_id, body)
    return JSONBody({"aggregate": aggregate_view(aggregate)})


@router.delete(PATH + "/{aggregate_id}")
def delete_aggregate(aggregate_id: str, services: Services, context: Context) -> Response:
    services.aggregates.delete(context, aggregate_id)
    return Response(status_code=200)


@router.post(PATH + "/{aggregate_id}/action")
def aggregate_action(
    aggregate_id: str, body: JsonBody, services: Services, context: Context
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
    return JSONBody({"aggregate": aggregate_view(aggregate)})
