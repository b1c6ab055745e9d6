"""Remote consoles: the `os-get*Console` actions (2.1 to 2.5) and
`POST /v2.1/servers/{id}/remote-consoles` (2.6; the `mks` protocol from 2.8); and the
console log, `os-getConsoleOutput`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion
from vistack.compute.domain.consoles import PROTOCOL_TYPES
from vistack.compute.domain.subresources import required

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: The legacy actions: their protocol and the types each accepts.
LEGACY = {
    "os-getVNCConsole": ("vnc", ("novnc", "xvpvnc")),
    "os-getSPICEConsole": ("spice", ("spice-html5",)),
    "os-getRDPConsole": ("rdp", ("rdp-html5",)),
    "os-getSerialConsole": ("serial", ("serial",)),
}
NOT_FOUND = "The resource could not be found."
CONSOLE_LENGTH = re.compile(r"-?[0-9]+")


def _one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRequest(
            f"Invalid input for field/attribute {name}. Value: {value}. "
            f"{value!r} is not one of {list(allowed)}"
        )
    return str(value)


@action(*LEGACY)
def legacy_console(call: ActionCall) -> Response | None:
    if call.version.at_least("2.6"):
        raise NotFound(NOT_FOUND)  # replaced by remote-consoles at 2.6, as in Nova
    protocol, types = LEGACY[call.name]
    argument = call.argument
    if not isinstance(argument, Mapping) or "type" not in argument:
        raise BadRequest(f"Invalid input for field/attribute {call.name}. 'type' is required")
    extra = set(argument) - {"type"}
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, extra)))} "
            "were unexpected)"
        )
    console_type = _one_of(argument["type"], "type", types)
    consoles = required(call.services.subresources).consoles
    url = consoles.console_url(call.context, call.server_id, protocol, console_type)
    return JSONBody({"console": {"type": console_type, "url": url}})


@router.post("/v2.1/servers/{server_id}/remote-consoles")
def remote_console(
    server_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    if not version.at_least("2.6"):
        raise NotFound(NOT_FOUND)
    if not isinstance(body, Mapping) or not isinstance(body.get("remote_console"), Mapping):
        raise BadRequest(
            "Invalid input for field/attribute remote_console. 'remote_console' is required"
        )
    asked = body["remote_console"]
    extra = set(body) - {"remote_console"} | set(asked) - {"protocol", "type"}
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, extra)))} "
            "were unexpected)"
        )
    protocols = tuple(p for p in PROTOCOL_TYPES if p != "mks" or version.at_least("2.8"))
    types = tuple(t for p in protocols for t in PROTOCOL_TYPES[p])
    protocol = _one_of(asked.get("protocol"), "protocol", protocols)
    console_type = _one_of(asked.get("type"), "type", types)
    consoles = required(services.subresources).consoles
    url = consoles.console_url(context, server_id, protocol, console_type)
    return JSONBody({"remote_console": {"protocol": protocol, "type": console_type, "url": url}})


def _console_length(argument: Any) -> int | None:
    """`length` of an `os-getConsoleOutput` body, checked as Nova's schema checks it: an
    integer or a string of digits, at least -1 (unlimited), or null."""
    if argument is None:
        argument = {}
    if not isinstance(argument, Mapping):
        raise BadRequest("Invalid input for field/attribute os-getConsoleOutput.")
    extra = set(argument) - {"length"}
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, extra)))} "
            "were unexpected)"
        )
    length = argument.get("length")
    if length is None:
        return None
    valid = isinstance(length, int) and not isinstance(length, bool)
    if isinstance(length, str) and CONSOLE_LENGTH.fullmatch(length):
        length, valid = int(length), True
    if not valid or int(length) < -1:
        raise BadRequest(
            f"Invalid input for field/attribute length. Value: {length}. The length of the "
            "console log is a whole number of lines, at least -1 (-1 or null: all of it)."
        )
    return int(length)


@action("os-getConsoleOutput")
def console_output(call: ActionCall) -> Response:
    length = _console_length(call.argument)
    reader = required(call.services.subresources).console_output
    return JSONBody({"output": reader.output(call.context, call.server_id, length)})
