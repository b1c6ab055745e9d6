"""The rules volume types and group types share, stated once for both kinds.

Cinder's two type APIs read a create or update body the same way (a name, a description,
`is_public`), guard the default type the same way (never renamed), list the same way (the
administrator's `is_public` filter, Cinder's sort and page parameters) and handle one spec by
key the same way. Only the words of the messages (`TypeKind`) and the tables differ, so the
services (`types.py`, `group_types.py`) keep their tables and call these for the rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from vistack.common.clock import utcnow
from vistack.common.errors import BadRequest, NotFound
from vistack.volume.db.store import Collision
from vistack.volume.domain import listing, requests

MAX_NAME = 255
#: The columns a type list sorts by (Cinder's: those of its type tables).
SORT_KEYS = ("id", "name", "description", "is_public", "created_at", "updated_at")


class TypeRow(Protocol):
    """What the rules touch of a volume type or group type row."""

    id: str
    name: str
    description: str | None
    is_public: bool
    created_at: datetime
    updated_at: datetime | None


R = TypeVar("R", bound=TypeRow)


@dataclass(frozen=True)
class TypeKind:
    """The words one kind's messages use: `title` as Cinder writes it in its conflict and
    missing-spec messages ("Volume Type"), `spec` for one spec ("extra spec") and `specs`
    for the missing-spec message ("extra specs")."""

    title: str
    spec: str
    specs: str
    #: The body keys of the public flag, the first one present wins.
    public_keys: tuple[str, ...] = ("is_public",)

    @property
    def label(self) -> str:
        """ "volume type", for the middle of a sentence."""
        return self.title.lower()

    def name(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            raise BadRequest(
                f"{self.label.capitalize()} name must be a non-blank string of at most "
                f"{MAX_NAME} characters."
            )
        return value.strip()

    def description(self, value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
            raise BadRequest(
                f"{self.label.capitalize()} description must be a string of at most "
                f"{MAX_NAME} characters."
            )
        return value

    def conflict(self, name: object) -> str:
        return f"{self.title} {name} already exists."


VOLUME_TYPE = TypeKind(
    "Volume Type",
    "extra spec",
    "extra specs",
    public_keys=("os-volume-type-access:is_public", "is_public"),
)
GROUP_TYPE = TypeKind("Group Type", "group spec", "specs")


def new_type_values(kind: TypeKind, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new type row from a create body's fields: a fresh id, the checked
    name and description, `is_public` (default true) and the creation time.

    :raises BadRequest: a blank or long name, a long description, a non-boolean flag.
    """
    key = next((k for k in kind.public_keys if k in fields), kind.public_keys[-1])
    return {
        "id": str(uuid.uuid4()),
        "name": kind.name(fields.get("name")),
        "description": kind.description(fields.get("description")),
        "is_public": requests.boolean(key, fields.get(key, True)),
        "created_at": utcnow(),
    }


def update_type(
    kind: TypeKind,
    row: TypeRow,
    fields: Mapping[str, Any],
    *,
    default_name: str,
    named: Callable[[str], TypeRow | None],
) -> None:
    """Apply an update body's name, description and `is_public` to `row`.

    :raises BadRequest: none of the three given, a bad value, or a rename of the default type.
    :raises Collision: another type has the new name (the caller answers Cinder's 409).
    """
    if not {"name", "description", "is_public"} & set(fields):
        raise BadRequest(f"Specify {kind.label} name, description, is_public or a combination.")
    if "name" in fields:
        name = kind.name(fields["name"])
        if row.name == default_name and name != row.name:
            raise BadRequest(f"The default {kind.label} cannot be renamed.")
        other = named(name)
        if other is not None and other.id != row.id:
            raise Collision(name)
        row.name = name
    if "description" in fields:
        row.description = kind.description(fields["description"])
    if "is_public" in fields:
        row.is_public = requests.boolean("is_public", fields["is_public"])
    row.updated_at = utcnow()


def is_public_filter(raw: str | None) -> bool | None:
    """An administrator's `is_public` list filter (Cinder's `_parse_is_public`): absent is
    the public types only, `none` every type, a boolean the public or the private ones.

    :raises BadRequest: anything else.
    """
    if raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    try:
        return requests.boolean("is_public", raw)
    except BadRequest:
        raise BadRequest(f"Invalid is_public filter [{raw}]: use true, false or none.") from None


def public_filter(admin: bool, query: Mapping[str, str]) -> bool | None:
    """Which types a list shows by their flag: an administrator's `is_public` filter, and for
    everyone else the public ones whatever they ask (Cinder's rule for both kinds)."""
    return is_public_filter(query.get("is_public")) if admin else True


def page_types(rows: Sequence[R], query: Mapping[str, str]) -> list[R]:
    """The rows sorted (`sort`, or `sort_key`/`sort_dir`; newest first by default) and cut
    (`limit`, `marker`, `offset`) as Cinder's type lists are; no next link (Cinder gives
    none for types).

    :raises BadRequest: an unknown sort key or direction, a bad limit or offset.
    :raises NotFound: the marker is no type of the list.
    """
    params = listing.parse_params(query, SORT_KEYS)
    cut, _more = listing.page(rows, params, getattr, lambda row: row.id)
    return cut


def one_spec(kind: TypeKind, body: Any, key: str) -> None:
    """A PUT of one spec: the body holds exactly that key.

    :raises BadRequest: another shape, or a key other than the URI's.
    """
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest(f"Request body must hold exactly one {kind.spec}.")
    if key not in body:
        raise BadRequest("Request body and URI mismatch")


def spec_value(kind: TypeKind, specs: Mapping[str, str], type_id: str, key: str) -> str:
    """:raises NotFound: the type has no spec `key`."""
    if key not in specs:
        raise NotFound(missing_spec(kind, type_id, key))
    return specs[key]


def missing_spec(kind: TypeKind, type_id: str, key: str) -> str:
    return f"{kind.title} {type_id} has no {kind.specs} with key {key}."
