"""`POST /v2.1/servers/{id}/action`: dispatches to the handlers registered by name in
`action_registry` (each feature's `actions_*` module), and refuses by name, in Nova's fault
format, the actions this cloud does not perform (yet)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest, NotImplementedByBackend
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

#: Nova actions not served yet: refused with 501 rather than accepted and ignored.
NOT_YET: frozenset[str] = frozenset()
#: Actions vSphere itself cannot do.
UNSUPPORTED = {
    "os-getConsoleOutput": "vSphere VMs have no serial console log to read; use a remote console.",
}


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
    if name in UNSUPPORTED:
        services.servers.get(context, server_id)  # 404 first, as Nova checks the server
        raise NotImplementedByBackend(UNSUPPORTED[name])
    if name in NOT_YET:
        services.servers.get(context, server_id)
        raise NotImplementedByBackend(
            f"The server action {name} is not available in this cloud yet."
        )
    raise BadRequest(f"There is no such action: {name}")
