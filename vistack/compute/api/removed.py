"""The nova-network era APIs Nova removed: it answers 410 Gone for them while the microversion
still has them, and 404 after (2.36 for the network ones, 2.44 for `os-virtual-interfaces`;
cells v1, cloudpipe, certificates and agents are gone at every version). This cloud never had
them (its networks are Neutron's), so it answers as Nova does today."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Response

from vistack.common.errors import NotFound, VistackError
from vistack.compute.api.deps import Context
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
METHODS = ["GET", "POST", "PUT", "DELETE"]
#: Removed resource → the microversion from which Nova answers 404 (None: 410 at every one).
REMOVED: dict[str, str | None] = {
    "os-fixed-ips": "2.36",
    "os-floating-ips-bulk": "2.36",
    "os-floating-ip-dns": "2.36",
    "os-fping": "2.36",
    "os-security-group-default-rules": "2.36",
    "os-cells": None,
    "os-cloudpipe": None,
    "os-certificates": None,
    "os-agents": None,
}


class Gone(VistackError):
    """Nova's 410 for an API it removed (rendered as its `computeFault`)."""

    status = HTTPStatus.GONE


def _gone(version: Version, until: str | None) -> None:
    if until is not None and version.at_least(until):
        raise NotFound("The resource could not be found.")
    raise Gone("This resource is no longer available in the Nova API.")


def _register(resource: str, until: str | None) -> None:
    def answer(context: Context, version: Microversion) -> Response:
        _gone(version, until)
        return Response(status_code=410)  # not reached

    for path in (f"/v2.1/{resource}", f"/v2.1/{resource}/{{rest:path}}"):
        router.add_api_route(path, answer, methods=METHODS, name=f"removed-{resource}")


for _resource, _until in REMOVED.items():
    _register(_resource, _until)


@router.get("/v2.1/servers/{server_id}/os-virtual-interfaces")
def virtual_interfaces(server_id: str, context: Context, version: Microversion) -> Response:
    """nova-network's interfaces (Neutron's ports are `os-interface`): 410, 404 from 2.44."""
    _gone(version, "2.44")
    return Response(status_code=410)  # not reached
