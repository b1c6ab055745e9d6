"""Resize actions: `resize` (to another flavor), `confirmResize` and `revertResize` (which
also end a cold migration), checked as Nova's schemas check them."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response

from vistack.common.errors import BadRequest, Conflict
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.domain.moves import MoveService

#: Nova's `OS-DCF:diskConfig` values (vSphere keeps the guest's partitions as they are).
DISK_CONFIGS = ("AUTO", "MANUAL")


def moves_of(call: ActionCall) -> MoveService:
    """The move service; a cloud built without one has no vCenter to move servers on."""
    moves = call.services.moves
    if moves is None:
        call.services.servers.get(call.context, call.server_id)  # 404 first, as Nova
        raise Conflict("This cloud has no vCenter to build servers on.")
    return moves


def flavor_ref(argument: object) -> str:
    """The `flavorRef` of a resize body (an id or a link), as Nova's schema checks it.

    :raises BadRequest: not an object, no or an empty `flavorRef`, a bad `OS-DCF:diskConfig`,
        or another property.
    """
    if not isinstance(argument, Mapping):
        raise BadRequest(
            f"Invalid input for field/attribute resize. Value: {argument}. "
            f"{argument!r} is not of type 'object'"
        )
    extra = sorted(k for k in argument if k not in ("flavorRef", "OS-DCF:diskConfig"))
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")
    if "flavorRef" not in argument:
        raise BadRequest(
            "Invalid input for field/attribute resize. Value: "
            f"{dict(argument)}. 'flavorRef' is a required property"
        )
    ref = argument["flavorRef"]
    if isinstance(ref, bool) or not isinstance(ref, (str, int)) or str(ref) == "":
        raise BadRequest(
            f"Invalid input for field/attribute flavorRef. Value: {ref}. "
            "It must be a non-empty string or an integer."
        )
    disk_config = argument.get("OS-DCF:diskConfig")
    if disk_config is not None and disk_config not in DISK_CONFIGS:
        raise BadRequest(
            f"Invalid input for field/attribute OS-DCF:diskConfig. Value: {disk_config}. "
            f"{disk_config!r} is not one of ['AUTO', 'MANUAL']"
        )
    return str(ref)


@action("resize")
def resize(call: ActionCall) -> Response | None:
    ref = flavor_ref(call.argument)
    moves_of(call).resize(call.context, call.server_id, ref)
    call.services.servers.set_disk_config(call.server_id, call.argument.get("OS-DCF:diskConfig"))
    return None


@action("confirmResize")
def confirm_resize(call: ActionCall) -> Response | None:
    moves_of(call).confirm(call.context, call.server_id)
    return Response(status_code=204)


@action("revertResize")
def revert_resize(call: ActionCall) -> Response | None:
    moves_of(call).revert(call.context, call.server_id)
    return None
