"""`/v2.1/servers/{id}/os-volume_attachments`: a server's volumes (list, show, attach, detach,
and 2.85's update of `delete_on_termination`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.block_devices import BlockDevice
from vistack.compute.domain.volume_attach import (
    VolumeAttachService,
    parse_attach,
    parse_update,
)

router = APIRouter()
OptionalBody = Annotated[Any, Body()]
BASE = "/v2.1/servers/{server_id}/os-volume_attachments"


def attachment_view(
    device: BlockDevice, version: Version, *, created: bool = False
) -> dict[str, Any]:
    """Nova's `volumeAttachment`: `tag` from 2.70, `delete_on_termination` from 2.79, and from
    2.89 `attachment_id` and `bdm_uuid` instead of `id` (an attach's answer keeps `id`)."""
    view: dict[str, Any] = {
        "device": device.device_name,
        "serverId": device.server_id,
        "volumeId": device.volume_id,
    }
    new_ids = version.at_least("2.89") and not created
    if not new_ids:
        view["id"] = device.volume_id
    if version.at_least("2.70"):
        view["tag"] = device.tag
    if version.at_least("2.79"):
        view["delete_on_termination"] = device.delete_on_termination
    if new_ids:
        view["attachment_id"] = device.attachment_id
        view["bdm_uuid"] = device.uuid
    return view


def _service(services: Services) -> VolumeAttachService:
    if services.volume_attachments is None:
        raise RuntimeError("ComputeServices was built without its volume attachments")
    return services.volume_attachments


@router.get(BASE)
def list_attachments(
    server_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    limit: int | None = None,
    offset: int = 0,
) -> Response:
    found = _service(services).list_attachments(context, server_id)
    found = found[max(offset, 0) :]
    if limit is not None:
        found = found[: max(limit, 0)]
    return JSONBody({"volumeAttachments": [attachment_view(d, version) for d in found]})


@router.get(BASE + "/{volume_id}")
def show_attachment(
    server_id: str, volume_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    found = _service(services).get_attachment(context, server_id, volume_id)
    return JSONBody({"volumeAttachment": attachment_view(found, version)})


@router.post(BASE)
def attach_volume(
    server_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: OptionalBody = None,
) -> Response:
    asked = parse_attach(body, tags=version.at_least("2.49"), delete_flag=version.at_least("2.79"))
    attached = _service(services).attach(
        context, server_id, asked, multiattach_allowed=version.at_least("2.60")
    )
    return JSONBody({"volumeAttachment": attachment_view(attached, version, created=True)})


@router.put(BASE + "/{volume_id}")
def update_attachment(
    server_id: str,
    volume_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: OptionalBody = None,
) -> Response:
    updates = version.at_least("2.85")
    asked = parse_update(body, updates=updates)
    _service(services).update(context, server_id, volume_id, asked, swap_only=not updates)
    return Response(status_code=202)


@router.delete(BASE + "/{volume_id}")
def detach_volume(server_id: str, volume_id: str, services: Services, context: Context) -> Response:
    _service(services).detach(context, server_id, volume_id)
    return Response(status_code=202)
