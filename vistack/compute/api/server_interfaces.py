"""`/v2.1/servers/{id}/os-interface`: a server's ports (list, show, attach, detach)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion
from vistack.compute.domain.interface_request import parse_attach
from vistack.compute.domain.subresources import required

router = APIRouter()
OptionalBody = Annotated[Any, Body()]


def attachment_view(port: dict[str, Any], tag: str | None, *, show_tag: bool) -> dict[str, Any]:
    """Nova's `interfaceAttachment`; `tag` from 2.70."""
    view: dict[str, Any] = {
        "net_id": port["network_id"],
        "port_id": port["id"],
        "mac_addr": port["mac_address"],
        "port_state": port["status"],
        "fixed_ips": [
            {"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]}
            for f in port.get("fixed_ips", [])
        ],
    }
    if show_tag:
        view["tag"] = tag
    return view


@router.get("/v2.1/servers/{server_id}/os-interface")
def list_interfaces(
    server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    interfaces = required(services.subresources).interfaces
    ports = interfaces.list_interfaces(context, server_id)
    show_tag = version.at_least("2.70")
    tags = interfaces.tags(server_id) if show_tag else {}
    views = [attachment_view(p, tags.get(p["id"]), show_tag=show_tag) for p in ports]
    return JSONBody({"interfaceAttachments": views})


@router.get("/v2.1/servers/{server_id}/os-interface/{port_id}")
def show_interface(
    server_id: str, port_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    interfaces = required(services.subresources).interfaces
    port = interfaces.get_interface(context, server_id, port_id)
    show_tag = version.at_least("2.70")
    tag = interfaces.tags(server_id).get(port_id) if show_tag else None
    return JSONBody({"interfaceAttachment": attachment_view(port, tag, show_tag=show_tag)})


@router.post("/v2.1/servers/{server_id}/os-interface")
def attach_interface(
    server_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: OptionalBody = None,
) -> Response:
    interfaces = required(services.subresources).interfaces
    asked = parse_attach(body, tags=version.at_least("2.49"))
    port = interfaces.attach(context, server_id, asked)
    show_tag = version.at_least("2.70")
    view = attachment_view(port, asked.tag, show_tag=show_tag)
    return JSONBody({"interfaceAttachment": view})


@router.delete("/v2.1/servers/{server_id}/os-interface/{port_id}")
def detach_interface(
    server_id: str, port_id: str, services: Services, context: Context
) -> Response:
    required(services.subresources).interfaces.detach(context, server_id, port_id)
    return Response(status_code=202)
