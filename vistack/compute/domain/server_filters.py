"""The server list's attribute filters beyond name, status, image, flavor, IP and tags:
`user_id`, `key_name`, `vm_state`, `task_state`, `power_state`, `config_drive`,
`availability_zone`, `progress`, `created_at`, `launched_at`, `terminated_at`, and for
administrators `hostname`, `uuid`, `description`; `reservation_id` (the servers of one
create) for everyone at every version, as Nova's own short list of member filters has it.

Nova lets administrators use every one at any microversion and, from 2.83, members too for the
first eleven (before 2.83 Nova drops them silently from a member's request). Nova matches
`user_id`, `vm_state`, `task_state` and `uuid` exactly and the rest as regular expressions on
the value's text (what `_regex_instance_filter` does in its database); so does this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime

from vistack.common.errors import BadRequest
from vistack.compute.domain.models import Server
from vistack.compute.domain.states import status_of

#: The filters a member may use from 2.83 (an administrator at any version).
MEMBER_FILTERS_2_83 = (
    "availability_zone",
    "config_drive",
    "key_name",
    "created_at",
    "launched_at",
    "terminated_at",
    "power_state",
    "task_state",
    "vm_state",
    "progress",
    "user_id",
)
#: Filters only administrators may use.
ADMIN_FILTERS = ("hostname", "uuid", "description")
#: Filters everyone may use at every version.
ALWAYS = ("reservation_id",)
EXACT = frozenset(("user_id", "vm_state", "task_state", "uuid", "reservation_id"))


def wanted(
    params: Mapping[str, str], *, admin: bool, since_2_83: bool
) -> tuple[tuple[str, str], ...]:
    """The attribute filters of a list request the caller may use, in a stable order."""
    names: tuple[str, ...] = ALWAYS + (MEMBER_FILTERS_2_83 if admin or since_2_83 else ())
    if admin:
        names = names + ADMIN_FILTERS
    return tuple((name, params[name]) for name in names if name in params)


def _stamp(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ") if moment is not None else ""


def _text(server: Server, name: str, zone_of: Callable[[str], str]) -> str:
    """The server's value for filter `name` as Nova's database would render it."""
    values: dict[str, Callable[[], str | None]] = {
        "availability_zone": lambda: (
            zone_of(server.cluster) if server.cluster else server.availability_zone
        ),
        "config_drive": lambda: "True" if server.config_drive else "",
        "key_name": lambda: server.key_name,
        "created_at": lambda: _stamp(server.created_at),
        "launched_at": lambda: _stamp(server.launched_at),
        "terminated_at": lambda: _stamp(server.terminated_at),
        "power_state": lambda: str(server.power_state),
        "task_state": lambda: server.task_state,
        "vm_state": lambda: server.vm_state,
        "progress": lambda: _progress(server),
        "user_id": lambda: server.user_id,
        "hostname": lambda: server.hostname,
        "uuid": lambda: server.id,
        "reservation_id": lambda: str(server.system_metadata.get("reservation_id") or ""),
        "description": lambda: server.description,
    }
    return values[name]() or ""


def _progress(server: Server) -> str:
    status = status_of(server.vm_state, server.task_state)
    return "100" if status == "ACTIVE" else "0" if status == "BUILD" else ""


def matches(
    server: Server, filters: tuple[tuple[str, str], ...], zone_of: Callable[[str], str]
) -> bool:
    """Whether the server passes every filter.

    :raises BadRequest: a filter value that is not a valid regular expression.
    """
    for name, value in filters:
        text = _text(server, name, zone_of)
        if name in EXACT:
            if text != value:
                return False
            continue
        if name == "config_drive":
            wanted_drive = value.lower() in ("true", "1", "yes", "on", "t", "y")
            if bool(text) != wanted_drive:
                return False
            continue
        try:
            if re.search(value, text) is None:
                return False
        except re.error:
            raise BadRequest(f"Invalid filter value for {name}: {value!r}.") from None
    return True
