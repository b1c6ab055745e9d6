"""`addSecurityGroup` / `removeSecurityGroup` and `GET /servers/{id}/os-security-groups`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.server_security_groups import group_name_of
from vistack.compute.domain.subresources import required

router = APIRouter()


@action("addSecurityGroup", "removeSecurityGroup")
def change_group(call: ActionCall) -> Response | None:
    groups = required(call.services.subresources).security_groups
    # The server first (404), then the body, as Nova's controller reads them.
    name = group_name_of(call.argument, call.name)
    if call.name == "addSecurityGroup":
        groups.add(call.context, call.server_id, name)
    else:
        groups.remove(call.context, call.server_id, name)
    return None


@router.get("/v2.1/servers/{server_id}/os-security-groups")
def server_security_groups(server_id: str, services: Services, context: Context) -> Response:
    shown = required(services.subresources).security_groups.list_groups(context, server_id)
    return JSONBody({"security_groups": shown})
