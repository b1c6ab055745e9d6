"""The server actions (`POST /v2.1/servers/{id}/action`) by name: each feature module
registers its own handlers here, so the dispatcher stays one small function and a new action
never edits another's code.

A handler gets one `ActionCall` (the services, the caller, the server, the action's name and
argument, the microversion) and answers a `Response`, or None for Nova's usual empty 202.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from vistack.common.context import RequestContext
from vistack.compute.api.deps import ComputeServices
from vistack.compute.api.microversion import Version


@dataclass(frozen=True)
class ActionCall:
    """One action request: `argument` is the value under the action's name in the body."""

    services: ComputeServices
    context: RequestContext
    server_id: str
    name: str
    argument: Any
    version: Version
    #: The HTTP request, for answers that link to resources (a server view, a Location).
    request: Request | None = None


ActionHandler = Callable[[ActionCall], Response | None]

#: Every action served, by its name in the request body.
ACTIONS: dict[str, ActionHandler] = {}


def action(*names: str) -> Callable[[ActionHandler], ActionHandler]:
    """Register the decorated handler under each of `names` (once: a second is a bug)."""

    def register(handler: ActionHandler) -> ActionHandler:
        for name in names:
            if name in ACTIONS:
                raise RuntimeError(f"the server action {name} is registered twice")
            ACTIONS[name] = handler
        return handler

    return register
