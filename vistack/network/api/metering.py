"""`/v2.0/metering/metering-labels` and `/v2.0/metering/metering-label-rules` (edge backend;
extensions `metering` and `metering_source_and_destination_fields`). The rules are the
domain's (domain/metering.py); in `dvs` mode `no_metering_router` answers these paths with a
404 instead, there being no router to meter.

Labels and rules cannot be updated (Neutron's attributes are all create-only), so there is no
PUT: the path answers 405.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query
from vistack.network.domain.errors import NeutronNotFound

router = APIRouter()
JsonBody = Annotated[Any, Body()]
LABELS = "/v2.0/metering/metering-labels"
RULES = "/v2.0/metering/metering-label-rules"
NO_METERING = (
    "The dvs network backend has no L3 and so nothing to meter: metering labels and rules "
    "are not available and nothing was created (they come with the edge backend)."
)


def _fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    return {k: v for k, v in item.items() if k in fields} if fields else item


@router.get(LABELS)
def list_metering_labels(request: Request, services: Services, context: Context) -> Response:
    items = services.networks.metering.list_labels(context)
    url = service_url(request, "v2.0", "metering", "metering-labels")
    params = request.query_params.multi_items()
    return JSONBody(query.apply(items, params, "metering_labels", url))


@router.post(LABELS)
def create_metering_label(body: JsonBody, services: Services, context: Context) -> Response:
    label = services.networks.metering.create_label(context, body)
    return JSONBody({"metering_label": label}, status_code=201)


@router.get(LABELS + "/{label_id}")
def show_metering_label(
    label_id: str, request: Request, services: Services, context: Context
) -> Response:
    label = services.networks.metering.get_label(context, label_id)
    return JSONBody({"metering_label": _fields(request, label)})


@router.delete(LABELS + "/{label_id}")
def delete_metering_label(label_id: str, services: Services, context: Context) -> Response:
    services.networks.metering.delete_label(context, label_id)
    return Response(status_code=204)


@router.get(RULES)
def list_metering_label_rules(request: Request, services: Services, context: Context) -> Response:
    items = services.networks.metering.list_rules(context)
    url = service_url(request, "v2.0", "metering", "metering-label-rules")
    params = request.query_params.multi_items()
    return JSONBody(query.apply(items, params, "metering_label_rules", url))


@router.post(RULES)
def create_metering_label_rule(body: JsonBody, services: Services, context: Context) -> Response:
    rule = services.networks.metering.create_rule(context, body)
    return JSONBody({"metering_label_rule": rule}, status_code=201)


@router.get(RULES + "/{rule_id}")
def show_metering_label_rule(
    rule_id: str, request: Request, services: Services, context: Context
) -> Response:
    rule = services.networks.metering.get_rule(context, rule_id)
    return JSONBody({"metering_label_rule": _fields(request, rule)})


@router.delete(RULES + "/{rule_id}")
def delete_metering_label_rule(rule_id: str, services: Services, context: Context) -> Response:
    services.networks.metering.delete_rule(context, rule_id)
    return Response(status_code=204)


_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
#: Mounted instead of `router` in `dvs` mode (see app.py).
no_metering_router = APIRouter()


@no_metering_router.api_route("/v2.0/metering/{rest:path}", methods=_METHODS)
def no_metering(_context: Context) -> Response:
    raise NeutronNotFound(NO_METERING, "HTTPNotFound")
