"""Suspend and resume (`SuspendVM_Task`, and a power-on that resumes), and pause / unpause
refused by name: vSphere has no pause, and suspend is its equivalent."""

from __future__ import annotations

from fastapi import Response

from vistack.compute.api.action_registry import ActionCall, action


@action("suspend", "resume")
def suspend(call: ActionCall) -> Response | None:
    call.services.suspend.act(call.context, call.server_id, call.name)
    return None


@action("pause", "unpause")
def pause(call: ActionCall) -> Response | None:
    call.services.suspend.refuse_pause(call.context, call.server_id, call.name)
    return None
