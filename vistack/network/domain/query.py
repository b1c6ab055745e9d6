"""Neutron's list semantics over rendered resources: filters, `fields`, sorting and pages.

Filters compare the attribute as Neutron renders it (`?shared=true`, `?name=a&name=b` is an
OR of values, different keys AND), so any attribute a resource shows can filter it. The
lists are filtered after policy, so a filter can never reveal what the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from vistack.network.domain.errors import NeutronBadRequest, NeutronNotFound

RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
TAG_FILTERS = {"tags", "tags-any", "not-tags", "not-tags-any"}


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
    """The list response body: `{collection: [...], collection_links: [...]}` (links if any)."""
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
    fields = [f for value in filters.get("fields", []) for f in value.split(",") if f]
    if fields:
        page = [{k: v for k, v in item.items() if k in fields} for item in page]
    body: dict[str, Any] = {collection: page}
    if links:
        body[f"{collection}_links"] = links
    return body


def _sorted(
    items: list[dict[str, Any]], keys: list[str], dirs: list[str], attributes: set[str]
) -> list[dict[str, Any]]:
    if dirs and len(dirs) != len(keys):
        raise NeutronBadRequest("The number of sort_keys and sort_dirs must be same")
    for key in keys:
        if attributes and key not in attributes:
            raise NeutronBadRequest(f"{key} is invalid attribute for sort_keys")
    for direction in dirs:
        if direction not in {"asc", "desc"}:
            raise NeutronBadRequest(f"{direction} is invalid value for sort_dirs")
    ordered = sorted(items, key=lambda item: str(item.get("id", "")))
    pairs = list(zip(keys, dirs or ["asc"] * len(keys), strict=True))
    for key, direction in reversed(pairs):

        def sort_key(item: dict[str, Any], name: str = key) -> tuple[bool, Any]:
            return item.get(name) is not None, _sort_value(item.get(name))

        ordered.sort(key=sort_key, reverse=direction == "desc")
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
    raw_limit = filters.get("limit", [""])[-1]
    marker = filters.get("marker", [None])[-1]
    reverse = _norm(filters.get("page_reverse", ["false"])[-1]) == "true"
    limit = 0
    if raw_limit:
        try:
            limit = int(raw_limit)
            if limit < 0:
                raise ValueError
        except ValueError:
            raise NeutronBadRequest(
                f"Limit must be an integer 0 or greater and not '{raw_limit}'"
            ) from None
    start, end = 0, len(items)
    if marker is not None:
        position = next((i for i, item in enumerate(items) if item.get("id") == marker), None)
        if position is None:
            raise NeutronNotFound(f"Marker {marker} could not be found.", "HTTPNotFound")
        if reverse:
            end = position
        else:
            start = position + 1
    window = items[start:end]
    if not limit:
        return window, []
    more = len(window) > limit
    page = window[-limit:] if reverse else window[:limit]
    if not page:
        return page, []
    base = [(k, v) for k, v in params if k not in {"marker", "page_reverse"}]
    next_link = {"rel": "next", "href": _href(url, [*base, ("marker", page[-1]["id"])])}
    previous_link = {
        "rel": "previous",
        "href": _href(url, [*base, ("marker", page[0]["id"]), ("page_reverse", "True")]),
    }
    links: list[dict[str, str]] = []
    if more if not reverse else marker is not None:
        links.append(next_link)
    if marker is not None if not reverse else more:
        links.append(previous_link)
    return page, links


def _href(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}"
