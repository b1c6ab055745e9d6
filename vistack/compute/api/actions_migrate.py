"""Migration actions: `migrate` (cold, to VERIFY_RESIZE) and `os-migrateLive` (vMotion), with
the request shapes of each microversion (2.25 drops `disk_over_commit` and allows
`block_migration: "auto"`, 2.30 adds `force`, 2.34 makes the checks asynchronous, 2.56 lets
`migrate` name a host, 2.68 drops `force`).

`block_migration` is accepted and has nothing to change: a vSphere cluster's datastores are
shared by its hosts, and a move between clusters needs the target to see the datastore.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response

from vistack.common.errors import BadRequest
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.actions_resize import moves_of
from vistack.compute.domain.moves import LiveRequest

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def boolean(name: str, value: Any, *, auto: bool = False) -> bool | None:
    """Nova's `parameter_types.boolean` (True, False and their usual spellings); "auto" too
    when `auto` (then None).

    :raises BadRequest: anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE and value in (lowered, lowered.upper(), lowered.capitalize()):
            return True
        if lowered in _FALSE and value in (lowered, lowered.upper(), lowered.capitalize()):
            return False
        if auto and value == "auto":
            return None
    raise BadRequest(
        f"Invalid input for field/attribute {name}. Value: {value}. "
        f"{value!r} is not one of the boolean values"
    )


def _object(name: str, argument: Any) -> Mapping[str, Any]:
    if not isinstance(argument, Mapping):
        raise BadRequest(
            f"Invalid input for field/attribute {name}. Value: {argument}. "
            f"{argument!r} is not of type 'object'"
        )
    return argument


def _only(argument: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k in argument if k not in allowed)
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")


def _host(argument: Mapping[str, Any]) -> str | None:
    host = argument.get("host")
    if host is not None and (not isinstance(host, str) or not 1 <= len(host) <= 255):
        raise BadRequest(
            f"Invalid input for field/attribute host. Value: {host}. "
            "It must be a string of 1 to 255 characters or null."
        )
    return host


@action("migrate")
def migrate(call: ActionCall) -> Response | None:
    host = None
    if call.version.at_least("2.56") and call.argument is not None:
        argument = _object("migrate", call.argument)
        _only(argument, ("host",))
        host = _host(argument)
    moves_of(call).migrate(call.context, call.server_id, host)
    return None


@action("os-migrateLive")
def migrate_live(call: ActionCall) -> Response | None:
    version = call.version
    argument = _object("os-migrateLive", call.argument)
    required = ["block_migration", "host"]
    allowed = ["block_migration", "host"]
    if not version.at_least("2.25"):
        required.append("disk_over_commit")
        allowed.append("disk_over_commit")
    if version.at_least("2.30") and not version.at_least("2.68"):
        allowed.append("force")
    _only(argument, tuple(allowed))
    for name in required:
        if name not in argument:
            raise BadRequest(
                f"Invalid input for field/attribute os-migrateLive. Value: {dict(argument)}. "
                f"'{name}' is a required property"
            )
    boolean("block_migration", argument["block_migration"], auto=version.at_least("2.25"))
    if "disk_over_commit" in argument:
        boolean("disk_over_commit", argument["disk_over_commit"])
    host = _host(argument)
    force = False
    if "force" in argument:
        force = bool(boolean("force", argument["force"]))
        if force and not host:
            raise BadRequest("Can't force to a non-provided destination")
    asked = LiveRequest(host=host, force=force, asynchronous=version.at_least("2.34"))
    moves_of(call).live_migrate(call.context, call.server_id, asked)
    return None
