"""`POST /v2.1/servers/{id}/action`: dispatches to the handlers registered by name in
`action_registry` (each feature's `actions_*` module). An action vSphere cannot do is still
registered, by its feature's module, and answers its own documented fault; an unknown name
is Nova's 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.compute.api import (
    actions_admin,  # noqa: F401  (registers its actions)
    actions_images,  # noqa: F401  (registers its actions)
    actions_migrate,  # noqa: F401  (registers its actions)
    actions_network_proxy,  # noqa: F401  (registers its actions)
    actions_power,  # noqa: F401  (registers its actions)
    actions_rebuild,  # noqa: F401  (registers its actions)
    actions_rescue,  # noqa: F401  (registers its actions)
    actions_resize,  # noqa: F401  (registers its actions)
    actions_security,  # noqa: F401  (registers its actions)
    actions_shelve,  # noqa: F401  (registers its actions)
    actions_suspend,  # noqa: F401  (registers its actions)
    consoles,  # noqa: F401  (registers its actions)
)
from vistack.compute.api.action_registry import ACTIONS, ActionCall
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion

router = APIRouter()
JsonBody = Annotated[Any, Body()]


@router.post("/v2.1/servers/{server_id}/action")
def server_action(
    server_id: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
    request: Request,
) -> Response:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise BadRequest("The action body must be an object with exactly one action.")
    ((name, argument),) = body.items()
    handler = ACTIONS.get(name)
    if handler is not None:
        call = ActionCall(services, context, server_id, name, argument, version, request)
        answer = handler(call)
        return answer if answer is not None else Response(status_code=202)
    raise BadRequest(f"There is no such action: {name}")
