"""rescue (answers 200 with the rescue system's adminPass) and unrescue (202)."""

from __future__ import annotations

from fastapi import Response

from vistack.common.web import JSONBody
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.actions_images import need


@action("rescue")
def rescue(call: ActionCall) -> Response | None:
    rescues = need(call.services.disk).rescues
    password = rescues.rescue(call.context, call.server_id, call.argument, call.version.at_least)
    return JSONBody({"adminPass": password}, status_code=200)


@action("unrescue")
def unrescue(call: ActionCall) -> Response | None:
    need(call.services.disk).rescues.unrescue(call.context, call.server_id)
    return None
