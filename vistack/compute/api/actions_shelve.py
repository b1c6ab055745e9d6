"""shelve, shelveOffload and unshelve (2.77: `{"unshelve": {"availability_zone": ...}}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response

from vistack.common.errors import BadRequest
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.actions_images import need
from vistack.compute.domain.shelve import UNSET


@action("shelve")
def shelve(call: ActionCall) -> Response | None:
    need(call.services.disk).shelving.shelve(call.context, call.server_id)
    return None


@action("shelveOffload")
def shelve_offload(call: ActionCall) -> Response | None:
    need(call.services.disk).shelving.shelve_offload(call.context, call.server_id)
    return None


@action("unshelve")
def unshelve(call: ActionCall) -> Response | None:
    zone: Any = UNSET
    argument = call.argument
    if argument is not None:
        if not call.version.at_least("2.77"):
            raise BadRequest("Invalid input for field/attribute unshelve. Value must be null.")
        if not isinstance(argument, Mapping) or set(argument) - {"availability_zone"}:
            raise BadRequest(
                "Invalid input for field/attribute unshelve: only availability_zone is allowed."
            )
        if "availability_zone" in argument:
            zone = argument["availability_zone"]
            if zone is not None and (not isinstance(zone, str) or not zone):
                raise BadRequest("Invalid input for field/attribute availability_zone.")
            if zone is None and not call.version.at_least("2.91"):
                raise BadRequest("availability_zone may be null only from microversion 2.91.")
    need(call.services.disk).shelving.unshelve(call.context, call.server_id, zone)
    return None
