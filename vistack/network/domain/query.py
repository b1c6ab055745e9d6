"""Neutron's list semantics: filters, `fields`, sorting and pages.

Filters compare the attribute as Neutron renders it (`?shared=true`, `?name=a&name=b` is an
OR of values, different keys AND), so any attribute a resource shows can filter it. The
lists are filtered after policy, so a filter can never reveal what the caller may not see.

Two paths give the same answers. The fast one runs in the database (`vistack.network.db.
listing`): the domain's `list_*` methods hand back a `Page`, already filtered, sorted, paged
and projected, with its links. Whatever it cannot translate (a filter on a rendered-only
attribute, a sort on a list) comes back as the whole visible list, and `apply` below does it
all in Python over rendered resources, the reference semantics the SQL path mirrors.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from vistack.network.db import listing
from vistack.network.domain.errors import NeutronBadRequest, NeutronNotFound

#: Renders rows as resources; the second argument is the attributes `fields=` asks for (None:
#: all), so a renderer may skip child data nobody will see.
Renderer = Callable[[list[Any], "set[str] | None"], list[dict[str, Any]]]

RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
TAG_FILTERS = {"tags", "tags-any", "not-tags", "not-tags-any"}


@dataclass(frozen=True)
class ListRequest:
    """What a list request asks for: its query parameters, in order, and the collection's URL
    (the base of the `next`/`previous` links)."""

    params: tuple[tuple[str, str], ...] = ()
    url: str = ""

    def filters(self) -> dict[str, list[str]]:
        """Every parameter's values, by name (the reserved ones included)."""
        out: dict[str, list[str]] = {}
        for key, value in self.params:
            out.setdefault(key, []).append(value)
        return out

    def fields(self) -> list[str]:
        return fields_of(self.filters())


class Page(list[dict[str, Any]]):
    """A list answered by the database: the page's resources (projected to `fields`) and the
    links Neutron puts beside them. It is a real list, so any caller may use it as one."""

    def __init__(self, items: list[dict[str, Any]], links: list[dict[str, str]]) -> None:
        super().__init__(items)
        self.links = links


@dataclass
class Paging:
    """The sort, limit and marker of a request, checked as the Python path checks them."""

    sort: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    limit: int = 0
    marker: str | None = None
    reverse: bool = False


#: A LIMIT every backend takes: a larger one asks for everything just the same (the links
#: depend on whether rows are left, not on the number).
MAX_SQL_LIMIT = 2**31 - 1

_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_held_since = 0.0
#: Longest the collector stays off while lists overlap without a break (a steady stream of
#: big lists): past it, the list that ends collects once, so cycles other requests made
#: meanwhile do not pile up.
GC_HOLD_SECONDS = 5.0


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while a list is built.

    Rendering 10,000 ports makes some 100,000 containers that all survive until the response
    is written, so the collector would run dozens of times over a growing young heap (and at
    least once over the whole process's) for nothing: these are freed by reference counting.
    That was half the time of a big list. Counted, so concurrent lists share one pause and
    the collector is back on as soon as the last one finishes (or collects every
    `GC_HOLD_SECONDS` while they never all finish)."""
    global _gc_pauses, _gc_held_since
    with _gc_lock:
        _gc_pauses += 1
        if _gc_pauses == 1:
            _gc_held_since = time.monotonic()
            gc.disable()
    try:
        yield
    finally:
        collect = False
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                gc.enable()
            elif time.monotonic() - _gc_held_since > GC_HOLD_SECONDS:
                _gc_held_since = time.monotonic()
                collect = True
        if collect:
            gc.collect()


@gc_paused()
def run(
    session: listing.DbSession,
    collection: listing.Collection,
    columns: listing.Columns,
    asked: ListRequest | None,
    visible: listing.Clause,
    render: Renderer,
) -> list[dict[str, Any]]:
    """A list in SQL: a `Page` when the database can answer all of `asked`, else the whole
    visible list for `apply` to filter, sort and page in Python (the collector paused
    meanwhile, see `gc_paused`).

    The checks come in the Python path's order (sort, limit, then the marker), with its
    messages; a sort key that is not a sortable attribute takes the Python path, which gives
    its 400 (or nothing, on an empty list) exactly as before."""
    everything = columns.where(visible)
    if asked is None:
        return render(listing.fetch(session, everything), None)
    dialect = listing.dialect_of(session)
    filters = asked.filters()
    where = listing.translate(collection, filters, dialect)
    keys = filters.get("sort_key", [])
    if where is None or any(key not in collection.attrs for key in keys):
        return render(listing.fetch(session, everything), None)
    paged = paging(filters, set())
    order = listing.sort_columns(collection, paged.sort, dialect)
    assert order is not None  # every key is an attribute
    found = listing.window(
        session,
        columns,
        collection,
        [visible, *where],
        order,
        min(paged.limit, MAX_SQL_LIMIT),
        paged.marker,
        paged.reverse,
    )
    if found is None:
        assert paged.marker is not None
        raise marker_not_found(paged.marker)
    fields = fields_of(filters)
    items = render(found.rows, set(fields) if fields else None)
    links: list[dict[str, str]] = []
    if paged.limit and items:
        links = page_links(
            items[0]["id"], items[-1]["id"], found.more, paged, asked.params, asked.url
        )
    return Page(project(items, fields), links)


def stamp(value: datetime) -> str:
    """Neutron's timestamps (`2024-01-31T12:00:00Z`) at a third of strftime's cost: lists
    format thousands of them."""
    if value.tzinfo is None and value.year >= 1000:
        return value.isoformat(timespec="seconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def fields_of(filters: dict[str, list[str]]) -> list[str]:
    return [f for value in filters.get("fields", []) for f in value.split(",") if f]


def check_sort(keys: list[str], dirs: list[str], attributes: set[str]) -> list[tuple[str, bool]]:
    """(key, descending) pairs; a 400 for a count mismatch, an unknown key (only checked when
    `attributes` is not empty: an empty list has nothing to sort) or an unknown direction."""
    if dirs and len(dirs) != len(keys):
        raise NeutronBadRequest("The number of sort_keys and sort_dirs must be same")
    for key in keys:
        if attributes and key not in attributes:
            raise NeutronBadRequest(f"{key} is invalid attribute for sort_keys")
    for direction in dirs:
        if direction not in {"asc", "desc"}:
            raise NeutronBadRequest(f"{direction} is invalid value for sort_dirs")
    return [(k, d == "desc") for k, d in zip(keys, dirs or ["asc"] * len(keys), strict=True)]


def parse_limit(filters: dict[str, list[str]]) -> int:
    raw_limit = filters.get("limit", [""])[-1]
    if not raw_limit:
        return 0
    try:
        limit = int(raw_limit)
        if limit < 0:
            raise ValueError
    except ValueError:
        raise NeutronBadRequest(
            f"Limit must be an integer 0 or greater and not '{raw_limit}'"
        ) from None
    return limit


def paging(filters: dict[str, list[str]], attributes: set[str]) -> Paging:
    """The request's paging, with the same checks in the same order as the Python path (sort
    first, then the limit; the marker is looked up by whoever holds the items)."""
    sort = check_sort(filters.get("sort_key", []), filters.get("sort_dir", []), attributes)
    limit = parse_limit(filters)
    marker = filters.get("marker", [None])[-1]
    reverse = _norm(filters.get("page_reverse", ["false"])[-1]) == "true"
    return Paging(sort, limit, marker, reverse)


def marker_not_found(marker: str) -> NeutronNotFound:
    return NeutronNotFound(f"Marker {marker} could not be found.", "HTTPNotFound")


def page_links(
    first_id: str,
    last_id: str,
    more: bool,
    paged: Paging,
    params: Sequence[tuple[str, str]],
    url: str,
) -> list[dict[str, str]]:
    """Neutron's `next`/`previous` links of a non-empty page of `paged.limit` items.

    `more`: items lie beyond the page in the reading direction (after it, or before it when
    paging in reverse). Forward, `next` when there are more and `previous` when a marker was
    given; in reverse the other way round."""
    base = [(k, v) for k, v in params if k not in {"marker", "page_reverse"}]
    next_link = {"rel": "next", "href": _href(url, [*base, ("marker", last_id)])}
    previous_link = {
        "rel": "previous",
        "href": _href(url, [*base, ("marker", first_id), ("page_reverse", "True")]),
    }
    links: list[dict[str, str]] = []
    marked = paged.marker is not None
    if more if not paged.reverse else marked:
        links.append(next_link)
    if marked if not paged.reverse else more:
        links.append(previous_link)
    return links


def project(items: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """`fields=` projection (nothing asked: everything)."""
    if not fields:
        return items
    wanted = set(fields)
    return [{k: v for k, v in item.items() if k in wanted} for item in items]


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value).lower()


def _matches(item: dict[str, Any], key: str, wanted: list[str]) -> bool:
    if key in TAG_FILTERS:
        tags = set(item.get("tags", []))
        asked = {t for value in wanted for t in value.split(",") if t}
        if key == "tags":
            return asked <= tags
        if key == "tags-any":
            return bool(asked & tags)
        if key == "not-tags":
            return not asked <= tags
        return not asked & tags
    if key == "fixed_ips" and "fixed_ips" in item:
        asked_by: dict[str, set[str]] = {}
        for value in wanted:
            sub, _, expected = value.partition("=")
            asked_by.setdefault(sub, set()).add(expected)
        return any(
            all(_fixed_matches(fixed, sub, expected) for sub, expected in asked_by.items())
            for fixed in item["fixed_ips"]
        )
    value = item[key]
    normalised = {_norm(w) for w in wanted}
    if isinstance(value, list):
        return any(_norm(v) in normalised for v in value)
    return _norm(value) in normalised


def _fixed_matches(fixed: dict[str, str], sub: str, expected: set[str]) -> bool:
    """`fixed_ips=ip_address=X`, `subnet_id=Y`, or `ip_address_substr=Z` (Neutron's
    `ip-substring-filtering`: a part of the address)."""
    if sub == "ip_address_substr":
        return any(part in fixed.get("ip_address", "") for part in expected)
    return fixed.get(sub) in expected


def apply(
    items: list[dict[str, Any]],
    params: Sequence[tuple[str, str]],
    collection: str,
    url: str,
) -> dict[str, Any]:
    """The list response body: `{collection: [...], collection_links: [...]}` (links if any).

    A `Page` was answered by the database already; anything else is the whole visible list,
    filtered, sorted and paged here."""
    if isinstance(items, Page):
        done: dict[str, Any] = {collection: items}
        if items.links:
            done[f"{collection}_links"] = items.links
        return done
    filters: dict[str, list[str]] = {}
    for key, value in params:
        filters.setdefault(key, []).append(value)
    attributes = set(items[0]) if items else set()
    for key, wanted in filters.items():
        if key in RESERVED or (key not in TAG_FILTERS and key not in attributes):
            continue
        items = [item for item in items if _matches(item, key, wanted)]
    items = _sorted(items, filters.get("sort_key", []), filters.get("sort_dir", []), attributes)
    page, links = _page(items, filters, collection, url, params)
    page = project(page, fields_of(filters))
    body: dict[str, Any] = {collection: page}
    if links:
        body[f"{collection}_links"] = links
    return body


def _sorted(
    items: list[dict[str, Any]], keys: list[str], dirs: list[str], attributes: set[str]
) -> list[dict[str, Any]]:
    pairs = check_sort(keys, dirs, attributes)
    ordered = sorted(items, key=lambda item: str(item.get("id", "")))
    for key, descending in reversed(pairs):

        def sort_key(item: dict[str, Any], name: str = key) -> tuple[bool, Any]:
            return item.get(name) is not None, _sort_value(item.get(name))

        ordered.sort(key=sort_key, reverse=descending)
    return ordered


def _sort_value(value: Any) -> Any:
    if isinstance(value, bool | int):
        return (0, int(value), "")
    return (1, 0, str(value) if value is not None else "")


def _page(
    items: list[dict[str, Any]],
    filters: dict[str, list[str]],
    collection: str,
    url: str,
    params: Sequence[tuple[str, str]],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    limit = parse_limit(filters)
    paged = Paging(
        limit=limit,
        marker=filters.get("marker", [None])[-1],
        reverse=_norm(filters.get("page_reverse", ["false"])[-1]) == "true",
    )
    marker = paged.marker
    start, end = 0, len(items)
    if marker is not None:
        position = next((i for i, item in enumerate(items) if item.get("id") == marker), None)
        if position is None:
            raise marker_not_found(marker)
        if paged.reverse:
            end = position
        else:
            start = position + 1
    window = items[start:end]
    if not limit:
        return window, []
    more = len(window) > limit
    page = window[-limit:] if paged.reverse else window[:limit]
    if not page:
        return page, []
    return page, page_links(page[0]["id"], page[-1]["id"], more, paged, params, url)


def _href(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}"
