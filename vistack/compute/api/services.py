"""`/v2.1/os-services`: the `nova-compute` of each cluster and this controller's scheduler and
conductor; before 2.53 services are named by (host, binary) in the body and by number in paths."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.clusters import ServiceState

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def nova_time(value: datetime | None) -> str | None:
    """Nova's timestamps in these APIs: `2012-10-29T13:42:02.000000` (no zone)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def service_view(state: ServiceState) -> dict[str, Any]:
    return {
        "id": state.number,
        "binary": state.binary,
        "host": state.host,
        "zone": state.zone,
        "status": "disabled" if state.disabled else "enabled",
        "state": "up" if state.up else "down",
        "updated_at": nova_time(state.updated_at),
        "disabled_reason": state.disabled_reason,
    }


@router.get("/v2.1/os-services")
def list_services(request: Request, services: Services, context: Context) -> Response:
    params = request.query_params
    found = services.clusters.services(
        context, binary=params.get("binary"), host=params.get("host")
    )
    return JSONBody({"services": [service_view(s) for s in found]})


@router.put("/v2.1/os-services/{action}")
def update_service(action: str, body: JsonBody, services: Services, context: Context) -> Response:
    state = services.clusters.update_service(context, action, body)
    view: dict[str, Any] = {
        "host": state.host,
        "binary": state.binary,
        "status": "disabled" if state.disabled else "enabled",
    }
    if state.disabled_reason:
        view["disabled_reason"] = state.disabled_reason
    return JSONBody({"service": view})


@router.delete("/v2.1/os-services/{service_id}")
def delete_service(service_id: str, services: Services, context: Context) -> Response:
    services.clusters.delete_service(context, service_id)
    return Response(status_code=204)
