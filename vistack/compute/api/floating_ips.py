"""`/v2.1/os-floating-ips` and `/v2.1/os-floating-ip-pools` (2.1 to 2.35): Nova's proxies to
Neutron's floating IPs (see `domain/floating_ip_proxy.py`). From 2.36 Nova answers 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/os-floating-ips"


def _before_2_36(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


@router.get("/v2.1/os-floating-ip-pools")
def list_pools(services: Services, context: Context, version: Microversion) -> Response:
    _before_2_36(version)
    pools = services.floating_ip_proxy.pools(context)
    return JSONBody({"floating_ip_pools": [{"name": p.get("name") or p["id"]} for p in pools]})


@router.get(PATH)
def list_floating_ips(services: Services, context: Context, version: Microversion) -> Response:
    _before_2_36(version)
    return JSONBody({"floating_ips": services.floating_ip_proxy.list_ips(context)})


@router.get(PATH + "/{fip_id}")
def show_floating_ip(
    fip_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    return JSONBody({"floating_ip": services.floating_ip_proxy.get(context, fip_id)})


@router.post(PATH)
def allocate_floating_ip(
    services: Services, context: Context, version: Microversion, body: JsonBody = None
) -> Response:
    _before_2_36(version)
    return JSONBody({"floating_ip": services.floating_ip_proxy.allocate(context, body)})


@router.delete(PATH + "/{fip_id}")
def release_floating_ip(
    fip_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    services.floating_ip_proxy.release(context, fip_id)
    return Response(status_code=202)
