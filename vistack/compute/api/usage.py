"""`/v2.1/os-simple-tenant-usage[/{tenant_id}]`: each project's server hours in a window, in
Nova's `tenant_usages` / `tenant_usage` bodies (times without zone, as Nova renders them).

Paged as Nova pages it: before 2.40 silently at `max_limit` servers; from 2.40 with `limit` and
`marker` (a server id), and a `tenant_usages_links` / `tenant_usage_links` next link when a page
is full (a project's totals may then span pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.services import nova_time
from vistack.compute.domain.usage import ServerUsage, TenantUsage

router = APIRouter()
PATH = "/v2.1/os-simple-tenant-usage"
#: Nova's `max_limit`.
MAX_LIMIT = 1000


def _first(request: Request, name: str) -> str | None:
    """A query parameter's first value, as Nova reads them."""
    values = request.query_params.getlist(name)
    return values[0] if values else None


def server_usage_view(usage: ServerUsage) -> dict[str, Any]:
    return {
        "instance_id": usage.instance_id,
        "name": usage.name,
        "tenant_id": usage.tenant_id,
        "flavor": usage.flavor,
        "hours": usage.hours,
        "vcpus": usage.vcpus,
        "memory_mb": usage.memory_mb,
        "local_gb": usage.local_gb,
        "started_at": nova_time(usage.started_at),
        "ended_at": nova_time(usage.ended_at),
        "state": usage.state,
        "uptime": usage.uptime,
    }


def tenant_usage_view(usage: TenantUsage) -> dict[str, Any]:
    view: dict[str, Any] = {
        "tenant_id": usage.tenant_id,
        "start": nova_time(usage.start),
        "stop": nova_time(usage.stop),
        "total_hours": usage.total_hours,
        "total_vcpus_usage": usage.total_vcpus_usage,
        "total_memory_mb_usage": usage.total_memory_mb_usage,
        "total_local_gb_usage": usage.total_local_gb_usage,
    }
    if usage.server_usages is not None:
        view["server_usages"] = [server_usage_view(s) for s in usage.server_usages]
    return view


def _page(request: Request, version: Version) -> tuple[int, str | None]:
    """(limit, marker) as the version reads them."""
    if not version.at_least("2.40"):
        return MAX_LIMIT, None
    limit = MAX_LIMIT
    text = _first(request, "limit")
    if text is not None:
        if not text.isascii() or not text.isdigit():
            raise BadRequest(
                f"Invalid input for query parameters limit. Value: {text}. It must be a "
                "non-negative integer."
            )
        limit = min(int(text), MAX_LIMIT)
    return limit, _first(request, "marker")


def _next(request: Request, last: str | None, *path: str) -> list[dict[str, str]] | None:
    if last is None:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    query.append(("marker", last))
    href = service_url(request, "v2.1", "os-simple-tenant-usage", *path) + "?" + urlencode(query)
    return [{"rel": "next", "href": href}]


@router.get(PATH)
def list_usages(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    """`detailed=1` (exactly, as Nova reads it) adds each project's `server_usages`."""
    limit, marker = _page(request, version)
    found, last = services.usage.page(
        context,
        None,
        _first(request, "start"),
        _first(request, "end"),
        detailed=_first(request, "detailed") == "1",
        limit=limit,
        marker=marker,
    )
    body: dict[str, Any] = {"tenant_usages": [tenant_usage_view(u) for u in found]}
    links = _next(request, last) if version.at_least("2.40") else None
    if links:
        body["tenant_usages_links"] = links
    return JSONBody(body)


@router.get(PATH + "/{tenant_id}")
def show_usage(
    tenant_id: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    """A project without usage in the window answers `{}`, as Nova does."""
    limit, marker = _page(request, version)
    found, last = services.usage.page(
        context,
        tenant_id,
        _first(request, "start"),
        _first(request, "end"),
        detailed=True,
        limit=limit,
        marker=marker,
    )
    body: dict[str, Any] = {"tenant_usage": tenant_usage_view(found[0]) if found else {}}
    links = _next(request, last, tenant_id) if version.at_least("2.40") else None
    if links:
        body["tenant_usage_links"] = links
    return JSONBody(body)
