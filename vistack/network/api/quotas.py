"""`/v2.0/quotas`: per-project limits on networks, subnets and ports, and their usage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.network.api.deps import Context, Services

router = APIRouter()


@router.get("/v2.0/quotas")
def list_quotas(services: Services, context: Context) -> Response:
    return JSONBody({"quotas": services.networks.list_quotas(context)})


@router.get("/v2.0/quotas/{project_id}/default")
@router.get("/v2.0/quotas/{project_id}/default.json")
def default_quota(project_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"quota": services.networks.default_quota(context, project_id)})


@router.get("/v2.0/quotas/{project_id}/details")
@router.get("/v2.0/quotas/{project_id}/details.json")
def quota_details(project_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"quota": services.networks.quota_details(context, project_id)})


@router.get("/v2.0/quotas/{project_id}")
def show_quota(project_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"quota": services.networks.quota(context, project_id.removesuffix(".json"))})


@router.put("/v2.0/quotas/{project_id}")
def update_quota(
    project_id: str, body: Annotated[Any, Body()], services: Services, context: Context
) -> Response:
    quota = services.networks.update_quota(context, project_id.removesuffix(".json"), body)
    return JSONBody({"quota": quota})


@router.delete("/v2.0/quotas/{project_id}")
def delete_quota(project_id: str, services: Services, context: Context) -> Response:
    services.networks.delete_quota(context, project_id.removesuffix(".json"))
    return Response(status_code=204)
