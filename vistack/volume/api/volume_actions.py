"""`POST /v3/{project_id}/volumes/{id}/action`: one action per request, named by the body's
only key, as Cinder dispatches them. Unknown actions are 400 (Cinder's "no such action")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotImplementedByBackend
from vistack.common.web import JSONBody
from vistack.volume.api.deps import Context, Services, VolumeServices

router = APIRouter()
JsonBody = Annotated[Any, Body()]

Action = Callable[[VolumeServices, RequestContext, str, Any], None]

ACTIONS: dict[str, Action] = {
    "os-extend": lambda s, c, v, b: s.actions.extend(c, v, b),
    "os-set_bootable": lambda s, c, v, b: s.actions.set_bootable(c, v, b),
    "os-update_readonly_flag": lambda s, c, v, b: s.actions.update_readonly_flag(c, v, b),
    "os-reset_status": lambda s, c, v, b: s.actions.reset_status(c, v, b),
    "os-force_delete": lambda s, c, v, b: s.actions.force_delete(c, v),
    "os-force_detach": lambda s, c, v, b: s.actions.force_detach(c, v, b),
    "os-retype": lambda s, c, v, b: s.actions.retype(c, v, b),
    "os-reserve": lambda s, c, v, b: s.actions.reserve(c, v),
    "os-unreserve": lambda s, c, v, b: s.actions.unreserve(c, v),
    "os-attach": lambda s, c, v, b: s.actions.attach(c, v, b),
    "os-detach": lambda s, c, v, b: s.actions.detach(c, v, b),
    "os-begin_detaching": lambda s, c, v, b: s.actions.begin_detaching(c, v),
    "os-roll_detaching": lambda s, c, v, b: s.actions.roll_detaching(c, v),
    "os-unset_image_metadata": lambda s, c, v, b: s.actions.unset_image_metadata(c, v, b),
}

#: Actions Cinder has that this cloud does not do, and why (501, never a silent success).
UNSUPPORTED = {
    "os-migrate_volume": "Volume migration between backends is not supported.",
    "os-volume_upload_image": "Uploading a volume to an image is not supported yet.",
    "os-initialize_connection": "Connections are made by Nova on vSphere; no connector is used.",
    "os-terminate_connection": "Connections are made by Nova on vSphere; no connector is used.",
    "os-migrate_volume_completion": "Volume migration between backends is not supported.",
    "revert": "Reverting to a snapshot is microversion 3.40, which this cloud does not serve.",
}
#: Actions answered 200 with no body (the rest are 202, as Cinder answers them).
OK_200 = {"os-set_bootable", "os-unset_image_metadata"}


@router.post("/v3/volumes/{volume_id}/action")
def volume_action(volume_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: name exactly one action.")
    (name,) = body
    if name in UNSUPPORTED:
        services.volumes.get(context, volume_id)  # 404 for a volume the caller cannot see
        raise NotImplementedByBackend(UNSUPPORTED[name])
    if name == "os-set_image_metadata":
        return JSONBody({"metadata": services.actions.set_image_metadata(context, volume_id, body)})
    if name == "os-show_image_metadata":
        return JSONBody({"metadata": services.actions.image_metadata(context, volume_id)})
    action = ACTIONS.get(name)
    if action is None:
        raise BadRequest(f"There is no such action: {name}")
    action(services, context, volume_id, body)
    return Response(status_code=200 if name in OK_200 else 202)
