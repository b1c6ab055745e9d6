"""Glance's JSON-patch dialect (`application/openstack-images-v2.1-json-patch`).

Paths are one level deep (`/name`, `/os_distro`, `/tags`); `add` on an existing member replaces
it, `replace` and `remove` need the member to exist (409 otherwise, as Glance answers).
The 2.0 media type spells an operation as `{"replace": "/name", "value": ...}`; both parse
into the same `PatchOp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vistack.common.errors import BadRequest

MEDIA_TYPE_2_1 = "application/openstack-images-v2.1-json-patch"
MEDIA_TYPE_2_0 = "application/openstack-images-v2.0-json-patch"
OPERATIONS = ("add", "replace", "remove")


@dataclass(frozen=True)
class PatchOp:
    op: str
    name: str
    value: Any = None


def parse_patch(body: Any, media_type: str) -> list[PatchOp]:
    """:raises BadRequest: the document is not a list of valid operations."""
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_parse_one(item, media_type) for item in body]


def _parse_one(item: Any, media_type: str) -> PatchOp:
    if not isinstance(item, dict):
        raise BadRequest("Operations must be JSON objects.")
    if media_type == MEDIA_TYPE_2_0:
        names = [k for k in item if k in OPERATIONS]
        if len(names) != 1:
            raise BadRequest("Operation objects must contain exactly one of add, replace, remove.")
        op, path = names[0], item[names[0]]
    else:
        op, path = item.get("op"), item.get("path")
        if op not in OPERATIONS:
            raise BadRequest(
                f"Invalid operation: {op!r}. Operation must be one of {', '.join(OPERATIONS)}."
            )
    if not isinstance(path, str):
        raise BadRequest("Unable to find 'path' in JSON Schema change.")
    extra = set(item) - {"op", "path", "value", *OPERATIONS}
    if extra:
        raise BadRequest(f"Operation objects may not contain {', '.join(sorted(extra))}.")
    if op != "remove" and "value" not in item:
        raise BadRequest(f"Operation {op!r} needs a 'value'.")
    if op == "remove" and "value" in item:
        raise BadRequest("Operation 'remove' takes no 'value'.")
    return PatchOp(op, _pointer(path), item.get("value"))


def _pointer(path: str) -> str:
    """`/a~1b` → `a/b`; only single-segment pointers are meaningful on an image."""
    if not path.startswith("/"):
        raise BadRequest(f'Pointer `{path}` does not start with "/".')
    segments = path[1:].split("/")
    if len(segments) > 1 and segments[0] != "locations":
        raise BadRequest(f"Nested paths are not allowed: {path}")
    if "~" in path.replace("~0", "").replace("~1", ""):
        raise BadRequest(f'Pointer `{path}` contains "~" not part of a recognized escape.')
    name = segments[0].replace("~1", "/").replace("~0", "~")
    if not name:
        raise BadRequest("Pointer must name an attribute.")
    return name
