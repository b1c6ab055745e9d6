"""Cinder's list filters, by microversion: which query keys filter a volume or snapshot list,
how each compares, and which a non-administrator may use.

- 3.2: `bootable` takes only a boolean (before, anything but false meant bootable);
- 3.4: `glance_metadata` filters volumes on their image metadata;
- 3.10: `group_id` filters volumes on their generic group;
- 3.22: `metadata` filters snapshots;
- 3.31/3.33: the filters a non-administrator may use are `RESOURCE_FILTERS` (others are a 400,
  listed by `GET /resource_filters`); before, unknown keys are dropped, as Cinder does;
- 3.34: `key~=value` matches a part of the value, ignoring case;
- 3.60: `created_at`/`updated_at` take `op:ISO-time` comparisons (gt, gte, lt, lte, eq, neq);
- 3.65: `consumes_quota` filters on whether a resource counts against quota.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from vistack.common.errors import BadRequest
from vistack.volume.domain import requests

Version = tuple[int, int]
T = TypeVar("T")

#: Cinder's default `resource_query_filters` (3.33's `GET /resource_filters` answers them):
#: what a non-administrator may filter each resource on, from 3.31.
RESOURCE_FILTERS: dict[str, tuple[str, ...]] = {
    "volume": (
        "name",
        "status",
        "metadata",
        "bootable",
        "migration_status",
        "availability_zone",
        "group_id",
        "size",
        "created_at",
        "updated_at",
        "consumes_quota",
    ),
    "backup": ("name", "status", "volume_id"),
    "snapshot": ("name", "status", "volume_id", "metadata", "availability_zone", "consumes_quota"),
    "group": ("name",),
    "group_snapshot": ("name", "status", "group_id"),
    "attachment": ("volume_id", "status", "instance_id", "attach_status"),
    "message": ("resource_uuid", "resource_type", "event_id", "request_id", "message_level"),
    "pool": ("name", "volume_type"),
    "volume_type": ("is_public", "extra_specs"),
}

#: Before 3.31, what a non-administrator's volume list keeps (Cinder drops the rest).
LEGACY_VOLUME_FILTERS = (
    "name",
    "display_name",
    "status",
    "metadata",
    "availability_zone",
    "bootable",
    "group_id",
    "volume_type",
)
LEGACY_SNAPSHOT_FILTERS = ("name", "display_name", "status", "volume_id", "metadata")

#: Query keys that page, sort or scope a list rather than filter it.
NOT_FILTERS = frozenset(
    {
        "sort",
        "sort_key",
        "sort_dir",
        "limit",
        "marker",
        "offset",
        "all_tenants",
        "project_id",
        "with_count",
    }
)

TIME_KEYS = ("created_at", "updated_at")
TIME_OPERATORS: dict[str, Callable[[datetime, datetime], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Filter:
    """One condition: `key` compared by `how` (eq, like, time, subset, bool) with `value`."""

    key: str
    how: str
    value: Any


def parse(
    query: Mapping[str, str], resource: str, version: Version, *, admin: bool
) -> list[Filter]:
    """The filters of a list request.

    :raises BadRequest: from 3.31 a filter a non-administrator may not use, or a bad value.
    """
    wanted = {k: v for k, v in query.items() if k not in NOT_FILTERS}
    legacy = LEGACY_VOLUME_FILTERS if resource == "volume" else LEGACY_SNAPSHOT_FILTERS
    if version < (3, 4):
        wanted.pop("glance_metadata", None)
    if resource == "volume" and version < (3, 10):
        wanted.pop("group_id", None)  # the group filter is 3.10's
    if resource == "snapshot" and version < (3, 22):
        wanted.pop("metadata", None)
    if version < (3, 65):
        wanted.pop("consumes_quota", None)
    if version < (3, 34):
        wanted = {k: v for k, v in wanted.items() if not k.endswith("~")}
    if version >= (3, 31):
        if not admin:
            allowed = RESOURCE_FILTERS[resource]
            refused = sorted(k for k in wanted if _plain(k) not in allowed)
            if refused:
                raise BadRequest(
                    f"Invalid filters {','.join(refused)} are found in query options; "
                    f"{resource} lists filter on {', '.join(allowed)} (GET /resource_filters)."
                )
    elif not admin:
        wanted = {k: v for k, v in wanted.items() if k in legacy}
    elif version < (3, 60):
        # Without 3.60's comparisons the time keys are not filters.
        wanted = {k: v for k, v in wanted.items() if k not in TIME_KEYS}
    out = []
    for key, raw in wanted.items():
        if raw == "":
            continue
        out.append(_filter(key, raw, version))
    return out


def matches(filters: list[Filter], item: T, value: Callable[[T, str], Any]) -> bool:
    """Whether `item`, whose field `key` is `value(item, key)`, meets every filter."""
    return all(_meets(f, value(item, f.key)) for f in filters)


def _plain(key: str) -> str:
    key = key[:-1] if key.endswith("~") else key
    return "name" if key == "display_name" else key


def _filter(key: str, raw: str, version: Version) -> Filter:
    plain = _plain(key)
    if key.endswith("~"):
        return Filter(plain, "like", raw.lower())
    if plain == "bootable":
        if version >= (3, 2):
            return Filter(plain, "eq", requests.boolean("bootable", raw))
        return Filter(plain, "eq", raw not in ("false", "False"))
    if plain == "consumes_quota":
        return Filter(plain, "eq", requests.boolean("consumes_quota", raw))
    if plain in ("metadata", "glance_metadata"):
        return Filter(plain, "subset", mapping(plain, raw))
    if plain in TIME_KEYS:
        if version < (3, 60):
            return Filter(plain, "eq", _time(plain, raw))
        return Filter(plain, "time", _comparisons(plain, raw))
    if plain == "size":
        return Filter(plain, "eq", _integer(plain, raw))
    return Filter(plain, "eq", raw)


def _meets(item: Filter, actual: Any) -> bool:
    if item.how == "like":
        return actual is not None and item.value in str(actual).lower()
    if item.how == "subset":
        present = actual or {}
        return all(str(present.get(k)) == str(v) for k, v in item.value.items())
    if item.how == "time":
        if actual is None:
            return False
        return all(TIME_OPERATORS[op](actual, when) for op, when in item.value)
    if isinstance(actual, frozenset):  # a field with several spellings (a type's id, name)
        return item.value in actual
    return bool(actual == item.value)


def mapping(key: str, raw: str) -> dict[str, Any]:
    """Cinder's clients send dict filters as JSON or as a Python literal (`{'k': 'v'}`)."""
    for parse_one in (json.loads, ast.literal_eval):
        try:
            value = parse_one(raw)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, dict):
            return value
    raise BadRequest(f'Invalid input received: {key} must be a dict, as {{"key": "value"}}.')


def _integer(key: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid input received: {key} must be an integer.") from None


def _time(key: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"Invalid input received: {key} {raw!r} is not an ISO 8601 time "
            "(as 2026-01-31T12:00:00)."
        ) from None
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


def _comparisons(key: str, raw: str) -> tuple[tuple[str, datetime], ...]:
    """`gt:2026-01-01T00:00:00,lte:2026-02-01T00:00:00`; a bare time means eq."""
    out = []
    for part in raw.split(","):
        op, sep, when = part.partition(":")
        if not sep or op not in TIME_OPERATORS:
            op, when = "eq", part  # a bare time (its own colons are not an operator's)
        out.append((op, _time(key, when)))
    return tuple(out)
