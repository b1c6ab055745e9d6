"""`/v2.0/rbac-policies`: share networks with projects (`access_as_shared`) or make them
external for them (`access_as_external`). The rules are the domain's (domain/rbac.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.0/rbac-policies"


def _fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    return {k: v for k, v in item.items() if k in fields} if fields else item


@router.get(PATH)
def list_rbac_policies(request: Request, services: Services, context: Context) -> Response:
    items = services.networks.rbac.list_policies(context)
    url = service_url(request, "v2.0", "rbac-policies")
    return JSONBody(query.apply(items, request.query_params.multi_items(), "rbac_policies", url))


@router.post(PATH)
def create_rbac_policy(body: JsonBody, services: Services, context: Context) -> Response:
    policy = services.networks.rbac.create_policy(context, body)
    return JSONBody({"rbac_policy": policy}, status_code=201)


@router.get(PATH + "/{policy_id}")
def show_rbac_policy(
    policy_id: str, request: Request, services: Services, context: Context
) -> Response:
    policy = services.networks.rbac.get_policy(context, policy_id)
    return JSONBody({"rbac_policy": _fields(request, policy)})


@router.put(PATH + "/{policy_id}")
def update_rbac_policy(
    policy_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    policy = services.networks.rbac.update_policy(context, policy_id, body)
    return JSONBody({"rbac_policy": policy})


@router.delete(PATH + "/{policy_id}")
def delete_rbac_policy(policy_id: str, services: Services, context: Context) -> Response:
    services.networks.rbac.delete_policy(context, policy_id)
    return Response(status_code=204)
