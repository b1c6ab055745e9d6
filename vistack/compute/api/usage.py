"""`/v2.1/os-simple-tenant-usage[/{tenant_id}]`: each project's server hours in a window, in
Nova's `tenant_usages` / `tenant_usage` bodies (times without zone, as Nova renders them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.services import nova_time
from vistack.compute.domain.usage import ServerUsage, TenantUsage

router = APIRouter()
PATH = "/v2.1/os-simple-tenant-usage"


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


@router.get(PATH)
def list_usages(request: Request, services: Services, context: Context) -> Response:
    """`detailed=1` (exactly, as Nova reads it) adds each project's `server_usages`."""
    found = services.usage.tenant_usages(
        context,
        _first(request, "start"),
        _first(request, "end"),
        detailed=_first(request, "detailed") == "1",
    )
    return JSONBody({"tenant_usages": [tenant_usage_view(u) for u in found]})


@router.get(PATH + "/{tenant_id}")
def show_usage(tenant_id: str, request: Request, services: Services, context: Context) -> Response:
    """A project without usage in the window answers `{}`, as Nova does."""
    usage = services.usage.tenant_usage(
        context, tenant_id, _first(request, "start"), _first(request, "end")
    )
    return JSONBody({"tenant_usage": tenant_usage_view(usage) if usage is not None else {}})
