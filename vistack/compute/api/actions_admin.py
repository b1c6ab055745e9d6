"""The small server actions: os-resetState, injectNetworkInfo, resetNetwork (gone), restore,
forceDelete, evacuate, changePassword and trigger_crash_dump (2.17)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Response

from vistack.common.errors import BadRequest, NotFound, VistackError
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.domain.subresources import required


class Gone(VistackError):
    """410: an action Nova removed (its fault body is `computeFault`, as Nova's)."""

    status = HTTPStatus.GONE


@action("os-resetState")
def reset_state(call: ActionCall) -> Response | None:
    admin = required(call.services.subresources).admin
    admin.reset_state(call.context, call.server_id, call.argument)
    return None


@action("injectNetworkInfo")
def inject_network_info(call: ActionCall) -> Response | None:
    required(call.services.subresources).admin.inject_network_info(call.context, call.server_id)
    return None


@action("resetNetwork")
def reset_network(call: ActionCall) -> Response | None:
    # Removed from Nova in 23.0.0 (Wallaby) with the Xen driver it worked for.
    raise Gone("This resource is no longer available. No forwarding address is given.")


@action("restore")
def restore(call: ActionCall) -> Response | None:
    required(call.services.subresources).admin.restore(call.context, call.server_id)
    return None


@action("forceDelete")
def force_delete(call: ActionCall) -> Response | None:
    required(call.services.subresources).admin.authorize_force_delete(call.context, call.server_id)
    call.services.servers.delete(call.context, call.server_id)
    return None


@action("evacuate")
def evacuate(call: ActionCall) -> Response | None:
    admin = required(call.services.subresources).admin
    admin.evacuate(call.context, call.server_id, call.argument, call.version)
    return None


@action("changePassword")
def change_password(call: ActionCall) -> Response | None:
    admin = required(call.services.subresources).admin
    admin.change_password(call.context, call.server_id, call.argument)
    return None


@action("trigger_crash_dump")
def trigger_crash_dump(call: ActionCall) -> Response | None:
    if not call.version.at_least("2.17"):
        raise NotFound("The resource could not be found.")
    if call.argument is not None:
        raise BadRequest("Invalid input for field/attribute trigger_crash_dump. It must be null.")
    required(call.services.subresources).admin.trigger_crash_dump(call.context, call.server_id)
    return None
