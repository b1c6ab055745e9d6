"""`/v2.1/os-services`: the `nova-compute` of each cluster and this controller's scheduler and
conductor; before 2.53 services are named by (host, binary) in the body and by number in paths.
From 2.11 a service shows `forced_down` and `PUT /os-services/force-down` sets it. From 2.53 a
service is its uuid: `PUT /os-services/{uuid}` (status, reason, forced_down) replaces the four
named updates, and a delete names the uuid."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.clusters import ServiceState

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def nova_time(value: datetime | None) -> str | None:
    """Nova's timestamps in these APIs: `2012-10-29T13:42:02.000000` (no zone)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _uuid(text: str) -> str:
    """A 2.53 path id: a uuid, else Nova's 400."""
    try:
        uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"Invalid uuid {text}") from None
    return text


def service_view(state: ServiceState, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": state.uuid if version.at_least("2.53") else state.number,
        "binary": state.binary,
        "host": state.host,
        "zone": state.zone,
        "status": "disabled" if state.disabled else "enabled",
        "state": "up" if state.up else "down",
        "updated_at": nova_time(state.updated_at),
        "disabled_reason": state.disabled_reason,
    }
    if version.at_least("2.11"):
        view["forced_down"] = state.forced_down
    return view


@router.get("/v2.1/os-services")
def list_services(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    params = request.query_params
    found = services.clusters.services(
        context, binary=params.get("binary"), host=params.get("host")
    )
    return JSONBody({"services": [service_view(s, version) for s in found]})


@router.put("/v2.1/os-services/{action}")
def update_service(
    action: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    if version.at_least("2.53"):
        updated = services.clusters.update_service_v253(context, _uuid(action), body)
        return JSONBody({"service": service_view(updated, version)})
    if action == "force-down":
        if not version.at_least("2.11"):
            raise NotFound("Unknown action")
        forced = services.clusters.force_down(context, body)
        shown = {"host": forced.host, "binary": forced.binary, "forced_down": forced.forced_down}
        return JSONBody({"service": shown})
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
def delete_service(
    service_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    if version.at_least("2.53"):
        _uuid(service_id)
    elif not (service_id.isascii() and service_id.isdigit()):
        raise BadRequest("Invalid input received: id must be an integer")
    services.clusters.delete_service(context, service_id)
    return Response(status_code=204)
