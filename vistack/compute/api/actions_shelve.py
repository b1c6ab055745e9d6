"""shelve, shelveOffload and unshelve (2.77: `{"unshelve": {"availability_zone": ...}}`; 2.91:
`availability_zone` null to unpin, `host` to choose the cluster)."""

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
    """`{"unshelve": null}`; from 2.77 `{"availability_zone": "az"}` (required until 2.90);
    from 2.91 `availability_zone` may be null (unpin) and `host` names a cluster, both
    optional."""
    zone: Any = UNSET
    host: str | None = None
    argument = call.argument
    if argument is not None:
        if not call.version.at_least("2.77"):
            raise BadRequest("Invalid input for field/attribute unshelve. Value must be null.")
        v291 = call.version.at_least("2.91")
        allowed = {"availability_zone", "host"} if v291 else {"availability_zone"}
        if not isinstance(argument, Mapping) or set(argument) - allowed:
            raise BadRequest(
                "Invalid input for field/attribute unshelve: only "
                + ("availability_zone and host are" if v291 else "availability_zone is")
                + " allowed."
            )
        if not v291 and "availability_zone" not in argument:
            raise BadRequest(
                "Invalid input for field/attribute unshelve. 'availability_zone' is a required "
                "property"
            )
        if "availability_zone" in argument:
            zone = argument["availability_zone"]
            if zone is not None and (not isinstance(zone, str) or not zone):
                raise BadRequest("Invalid input for field/attribute availability_zone.")
            if zone is None and not v291:
                raise BadRequest("availability_zone may be null only from microversion 2.91.")
        if "host" in argument:
            host = argument["host"]
            if not isinstance(host, str) or not 1 <= len(host) <= 255:
                raise BadRequest(
                    "Invalid input for field/attribute host: a compute host name, 1 to 255 "
                    "characters."
                )
    need(call.services.disk).shelving.unshelve(call.context, call.server_id, zone, host=host)
    return None
