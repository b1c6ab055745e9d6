"""`GET /v2.0/availability_zones`: the zones the edge agents report (edge mode only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query

router = APIRouter()


@router.get("/v2.0/availability_zones")
def list_availability_zones(request: Request, services: Services, context: Context) -> Response:
    zones = services.networks.zones.list_zones(context)
    url = service_url(request, "v2.0", "availability_zones")
    params = request.query_params.multi_items()
    return JSONBody(query.apply(zones, params, "availability_zones", url))
