"""`POST /v3/{project_id}/volumes/{id}/action`: one action per request, named by the body's
only key, as Cinder dispatches them. Unknown actions are 400 (Cinder's "no such action")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotImplementedByBackend
from vistack.common.web import JSONBody
from vistack.volume.api import data_actions
from vistack.volume.api.deps import Context, Services, VolumeServices
from vistack.volume.api.microversion import Microversion

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
    "os-unmanage": lambda s, c, v, b: s.manage.unmanage(c, v),
    "os-attach": lambda s, c, v, b: s.actions.attach(c, v, b),
    "os-detach": lambda s, c, v, b: s.actions.detach(c, v, b),
    "os-begin_detaching": lambda s, c, v, b: s.actions.begin_detaching(c, v),
    "os-roll_detaching": lambda s, c, v, b: s.actions.roll_detaching(c, v),
    "os-unset_image_metadata": lambda s, c, v, b: s.actions.unset_image_metadata(c, v, b),
}

#: Actions Cinder has that this cloud does not do, and why (501, never a silent success).
UNSUPPORTED = {
    "os-initialize_connection": "Connections are made by Nova on vSphere; no connector is used.",
    "os-terminate_connection": "Connections are made by Nova on vSphere; no connector is used.",
    "os-migrate_volume_completion": (
        "Migrations here move the volume's own disk (os-migrate_volume, retype on-demand); "
        "there is never a second volume to complete one with."
    ),
}
#: Actions answered 200 with no body (the rest are 202, as Cinder answers them).
OK_200 = {"os-set_bootable", "os-unset_image_metadata"}


@router.post("/v3/volumes/{volume_id}/action")
def volume_action(
    volume_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
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
    if name == "os-extend_volume_completion" and version.at_least("3.71"):
        # Nova's report that it finished an in-use extend Cinder waited for. vCenter grows an
        # attached disk here within the extend itself, so no volume ever waits for Nova.
        volume = services.volumes.get(context, volume_id)  # 404 for one the caller cannot see
        raise BadRequest(
            f"Invalid volume: Volume {volume_id} is not waiting for an extend completion "
            f"(status {volume.status}): vCenter grows attached disks itself, so Nova never "
            "has one to report in this cloud."
        )
    if name == "os-reimage" and version.at_least("3.68"):
        services.reimage.request(context, volume_id, body)  # before 3.68: no such action
        return Response(status_code=202)
    handled = data_actions.dispatch(name, services, context, volume_id, body, version)
    if handled is not None:
        return handled
    action = ACTIONS.get(name)
    if action is None:
        raise BadRequest(f"There is no such action: {name}")
    action(services, context, volume_id, body)
    return Response(status_code=200 if name in OK_200 else 202)
