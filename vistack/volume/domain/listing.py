"""Sorting and paging of volume and snapshot lists, with Cinder's parameters and defaults:
`sort=key[:dir],...` (or `sort_key`/`sort_dir`), newest first by default, `limit` and
`marker` (the last id of the previous page)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vistack.common.errors import BadRequest, NotFound

T = TypeVar("T")

#: Above this, a list is cut (Cinder's `osapi_max_limit`).
MAX_LIMIT = 1000


#: Cinder's older names for sort keys.
ALIASES = {"display_name": "name", "display_description": "description"}


@dataclass(frozen=True)
class ListParams:
    sort: tuple[tuple[str, bool], ...]  # (key, descending)
    limit: int | None
    marker: str | None
    offset: int = 0


def parse_params(query: Mapping[str, str], keys: Sequence[str]) -> ListParams:
    """:raises BadRequest: an unknown sort key or direction, or a bad limit."""
    pairs: list[tuple[str, bool]] = []
    if query.get("sort"):
        if query.get("sort_key") or query.get("sort_dir"):
            raise BadRequest(
                "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
                "with the 'sort' parameter."
            )
        for item in query["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((ALIASES.get(key.strip(), key.strip()), _descending(direction or "desc")))
    else:
        keys_given = [k for k in (query.get("sort_key") or "").split(",") if k]
        dirs = [d for d in (query.get("sort_dir") or "").split(",") if d]
        for index, key in enumerate(keys_given or ["created_at"]):
            direction = dirs[index] if index < len(dirs) else "desc"
            pairs.append((ALIASES.get(key, key), _descending(direction)))
    for key, _desc in pairs:
        if key not in keys:
            raise BadRequest(
                f"Invalid input received: Invalid sort key {key!r}; one of {', '.join(keys)}."
            )
    if "id" not in {k for k, _ in pairs}:
        pairs.append(("id", pairs[0][1] if pairs else True))
    offset = _limit(query.get("offset"), "offset") or 0
    return ListParams(tuple(pairs), _limit(query.get("limit")), query.get("marker") or None, offset)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list's page, whether a next link follows, and how many matched in all (3.45's
    `count`, asked for with `with_count`)."""

    items: list[T]
    more: bool
    count: int


def counted(
    items: Sequence[T],
    params: ListParams,
    value: Callable[[T, str], Any],
    ident: Callable[[T], str],
) -> Listing[T]:
    """`page`, with the number of items the filters kept (before the marker and limit)."""
    cut, more = page(items, params, value, ident)
    return Listing(cut, more, len(items))


def page(
    items: Sequence[T],
    params: ListParams,
    value: Callable[[T, str], Any],
    ident: Callable[[T], str],
) -> tuple[list[T], bool]:
    """The sorted page after the marker (and `offset`), and whether it gets a next link.

    :raises NotFound: the marker is not in the list (Cinder's MarkerNotFound).
    """
    ordered = list(items)
    for key, descending in reversed(params.sort):
        ordered.sort(key=lambda item: _sortable(value(item, key)), reverse=descending)
    if params.marker is not None:
        ids = [ident(item) for item in ordered]
        if params.marker not in ids:
            raise NotFound(f"Marker {params.marker} could not be found.")
        ordered = ordered[ids.index(params.marker) + 1 :]
    ordered = ordered[params.offset :]
    limit = min(params.limit if params.limit is not None else MAX_LIMIT, MAX_LIMIT)
    # As Cinder: a full page has a next link, even when nothing follows (then the next page
    # is empty); clients page until a page comes without one.
    cut = ordered[:limit]
    return cut, bool(cut) and len(cut) == limit


def _sortable(value: Any) -> tuple[int, Any]:
    # None sorts first ascending (as NULLs do in Cinder's MySQL), and never meets a str.
    return (0, "") if value is None else (1, value)


def _descending(direction: str) -> bool:
    lowered = direction.strip().lower()
    if lowered not in ("asc", "desc"):
        raise BadRequest(
            f"Invalid input received: Unknown sort direction {direction!r}, "
            "must be 'desc' or 'asc'."
        )
    return lowered == "desc"


def _limit(raw: str | None, name: str = "limit") -> int | None:
    if raw is None or raw == "":
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(
            f"Invalid input received: {name} must be an integer, not {raw!r}."
        ) from None
    if limit < 0:
        raise BadRequest(f"Invalid input received: {name} must be >= 0.")
    return limit
