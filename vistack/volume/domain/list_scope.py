"""Whose resources a Cinder list shows, and its plain equality filters, stated once for the
lists that share Cinder's rule.

A list shows the caller's project; `all_tenants` (an administrator's, `volume:get_all_tenants`)
shows every project's, narrowed to one by `project_id` when given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.volume.domain import requests


def project_of(
    policy: PolicyEngine, context: RequestContext, query: Mapping[str, str]
) -> str | None:
    """The project whose rows the list shows; None for every project's.

    :raises Forbidden: `all_tenants` asked by who may not (the policy's error).
    :raises BadRequest: `all_tenants` is not a boolean.
    """
    if requests.boolean("all_tenants", query.get("all_tenants") or "0"):
        policy.authorize("volume:get_all_tenants", context, {"project_id": ""})
        return query.get("project_id") or None
    return context.project_id or ""


def matches(row: object, query: Mapping[str, str], keys: Iterable[str]) -> bool:
    """Whether `row` has each of `keys` the query gives (a key absent or empty filters
    nothing)."""
    return all(not query.get(key) or getattr(row, key) == query[key] for key in keys)
