"""Power and lock actions: os-start, os-stop, reboot (soft and hard), lock and unlock."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response

from vistack.common.errors import BadRequest
from vistack.compute.api.action_registry import ActionCall, action


@action("os-start")
def start(call: ActionCall) -> Response | None:
    call.services.servers.power(call.context, call.server_id, "start")
    return None


@action("os-stop")
def stop(call: ActionCall) -> Response | None:
    call.services.servers.power(call.context, call.server_id, "stop")
    return None


@action("reboot")
def reboot(call: ActionCall) -> Response | None:
    argument = call.argument
    kind = argument.get("type") if isinstance(argument, Mapping) else None
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise BadRequest("Invalid input for field/attribute type. Value must be SOFT or HARD.")
    action_name = "reboot_hard" if kind.upper() == "HARD" else "reboot_soft"
    call.services.servers.power(call.context, call.server_id, action_name)
    return None


@action("lock", "unlock")
def lock(call: ActionCall) -> Response | None:
    """From 2.73 `lock` takes null or `{"locked_reason": ...}`; before it, and for `unlock`,
    Nova checks no body at all (clients send null or `{}`), and neither does this."""
    reason = None
    argument = call.argument
    if call.name == "lock" and call.version.at_least("2.73") and argument is not None:
        reason = argument.get("locked_reason") if isinstance(argument, dict) else None
        if (
            not isinstance(argument, dict)
            or set(argument) - {"locked_reason"}
            or not (reason is None or (isinstance(reason, str) and len(reason) <= 255))
        ):
            raise BadRequest(
                "Invalid input for field/attribute lock. It takes only locked_reason, a string "
                "of at most 255 characters."
            )
    call.services.servers.set_locked(
        call.context, call.server_id, locked=call.name == "lock", reason=reason
    )
    return None
