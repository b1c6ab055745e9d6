"""`/v2.1/os-hosts` (2.1 to 2.42; from 2.43 Nova answers 404 and `os-hypervisors` and
`os-services` replace it): the hosts of the services, a host's resources, enabling or disabling
one, and its power actions (refused: see `domain/hosts.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/os-hosts"


def _before_2_43(version: Version) -> None:
    if version.at_least("2.43"):
        raise NotFound("The resource could not be found.")


@router.get(PATH)
def list_hosts(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_43(version)
    hosts = services.hosts.list_hosts(context, request.query_params.get("zone"))
    return JSONBody({"hosts": hosts})


@router.get(PATH + "/{host_name}")
def show_host(
    host_name: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_43(version)
    return JSONBody({"host": services.hosts.show(context, host_name)})


@router.put(PATH + "/{host_name}")
def update_host(
    host_name: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_43(version)
    return JSONBody(services.hosts.update(context, host_name, body))


@router.get(PATH + "/{host_name}/{action}")
def host_power_action(
    host_name: str, action: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_43(version)
    if action not in ("reboot", "shutdown", "startup"):
        raise NotFound("The resource could not be found.")
    services.hosts.power(context, host_name, action)
    return Response(status_code=501)  # not reached: power() refuses
