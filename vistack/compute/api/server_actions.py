"""`POST /v2.1/servers/{id}/action`: the actions this cloud performs, and a clear refusal of the
ones it does not (yet), by name, in Nova's fault format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import BadRequest, NotImplementedByBackend
from vistack.compute.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Nova actions not served yet: refused with 501 rather than accepted and ignored.
NOT_YET = frozenset(
    {
        "pause",
        "unpause",
        "suspend",
        "resume",
        "resize",
        "confirmResize",
        "revertResize",
        "rebuild",
        "createImage",
        "shelve",
        "shelveOffload",
        "unshelve",
        "rescue",
        "unrescue",
        "migrate",
        "os-migrateLive",
        "os-resetState",
        "forceDelete",
        "restore",
        "changePassword",
        "addSecurityGroup",
        "removeSecurityGroup",
        "os-getVNCConsole",
        "os-getSPICEConsole",
        "os-getSerialConsole",
        "os-getRDPConsole",
        "trigger_crash_dump",
        "evacuate",
        "createBackup",
        "injectNetworkInfo",
        "resetNetwork",
    }
)
#: Actions vSphere itself cannot do.
UNSUPPORTED = {
    "os-getConsoleOutput": "vSphere VMs have no serial console log to read; use a remote console.",
}


@router.post("/v2.1/servers/{server_id}/action")
def server_action(server_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise BadRequest("The action body must be an object with exactly one action.")
    ((name, argument),) = body.items()
    servers = services.servers
    if name == "os-start":
        servers.power(context, server_id, "start")
    elif name == "os-stop":
        servers.power(context, server_id, "stop")
    elif name == "reboot":
        kind = argument.get("type") if isinstance(argument, Mapping) else None
        if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
            raise BadRequest("Invalid input for field/attribute type. Value must be SOFT or HARD.")
        servers.power(
            context, server_id, "reboot_hard" if kind.upper() == "HARD" else "reboot_soft"
        )
    elif name in ("lock", "unlock"):
        servers.set_locked(context, server_id, locked=name == "lock")
    elif name in UNSUPPORTED:
        servers.get(context, server_id)  # 404 first, as Nova checks the server
        raise NotImplementedByBackend(UNSUPPORTED[name])
    elif name in NOT_YET:
        servers.get(context, server_id)
        raise NotImplementedByBackend(
            f"The server action {name} is not available in this cloud yet."
        )
    else:
        raise BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)
