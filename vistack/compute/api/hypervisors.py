"""`/v2.1/os-hypervisors`: each cluster as Nova shows a compute node, at the request's
microversion: integer ids (the `nova-compute` service's number) before 2.53, uuids from 2.53;
`cpu_info` a JSON string, an object from 2.28; the lists paged (`limit`, `marker`: a
hypervisor id) from 2.33; from 2.53 `hypervisor_hostname_pattern` and `with_servers` replace
the `search` and `servers` sub-resources (then 404); from 2.88 a hypervisor shows no usage
figures (Placement's job in Nova), its show and detail carry `uptime`, and `statistics` and
`uptime` are gone (404)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import ComputeServices, Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.clusters import (
    HYPERVISOR_TYPE,
    HYPERVISOR_VERSION,
    Hypervisor,
    cpu_info_text,
)

router = APIRouter()
UUIDS = "2.53"


def _id(hypervisor: Hypervisor, version: Version) -> int | str:
    return hypervisor.uuid if version.at_least(UUIDS) else hypervisor.number


def brief(hypervisor: Hypervisor, version: Version) -> dict[str, Any]:
    return {
        "id": _id(hypervisor, version),
        "hypervisor_hostname": hypervisor.name,
        "state": "up" if hypervisor.up else "down",
        "status": "disabled" if hypervisor.disabled else "enabled",
    }


#: What 2.88 takes out of a hypervisor's detail.
USAGE_FIELDS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
    "cpu_info",
)


def detailed(hypervisor: Hypervisor, version: Version, uptime: str | None = None) -> dict[str, Any]:
    view = _detailed(hypervisor, version)
    if version.at_least("2.88"):
        for name in USAGE_FIELDS:
            del view[name]
        view["uptime"] = uptime
    return view


def _detailed(hypervisor: Hypervisor, version: Version) -> dict[str, Any]:
    return {
        **brief(hypervisor, version),
        "vcpus": hypervisor.vcpus,
        "memory_mb": hypervisor.memory_mb,
        "local_gb": hypervisor.local_gb,
        "vcpus_used": hypervisor.vcpus_used,
        "memory_mb_used": hypervisor.memory_mb_used,
        "local_gb_used": hypervisor.local_gb_used,
        "hypervisor_type": HYPERVISOR_TYPE,
        "hypervisor_version": HYPERVISOR_VERSION,
        "free_ram_mb": hypervisor.free_ram_mb,
        "free_disk_gb": hypervisor.free_disk_gb,
        "current_workload": 0,
        "running_vms": hypervisor.running_vms,
        "cpu_info": (
            hypervisor.cpu_info if version.at_least("2.28") else cpu_info_text(hypervisor.cpu_info)
        ),
        "disk_available_least": hypervisor.disk_available_least,
        "host_ip": hypervisor.host_ip,
        "service": {
            "host": hypervisor.name,
            "id": hypervisor.service_uuid if version.at_least(UUIDS) else hypervisor.number,
            "disabled_reason": hypervisor.disabled_reason,
        },
    }


def _servers(
    view: dict[str, Any], hypervisor: Hypervisor, version: Version | None = None
) -> dict[str, Any]:
    """The hypervisor's servers: before 2.75 Nova leaves the key out when there are none."""
    if hypervisor.servers or (version is not None and version.at_least("2.75")):
        view["servers"] = [{"name": name, "uuid": uuid} for name, uuid in hypervisor.servers]
    return view


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on", "y", "t"):
        return True
    if lowered in ("0", "false", "no", "off", "n", "f"):
        return False
    raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}.")


def _found(
    request: Request,
    services: ComputeServices,
    context: RequestContext,
    version: Version,
    *,
    detail: bool,
) -> tuple[list[Hypervisor], bool]:
    """The hypervisors a list asks for, and whether with their servers (2.53)."""
    params = request.query_params
    if not version.at_least(UUIDS):
        return services.clusters.hypervisors(context, detail=detail), False
    with_servers = _flag(request, "with_servers")
    pattern = params.get("hypervisor_hostname_pattern")
    if pattern is not None and ("limit" in params or "marker" in params):
        raise BadRequest(
            "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is "
            "not supported."
        )
    if pattern is None and not with_servers:
        return services.clusters.hypervisors(context, detail=detail), False
    services.clusters.hypervisors(context, detail=detail)  # the list's own policy first
    return services.clusters.search(context, pattern or "", servers=with_servers), with_servers


def _paged(
    request: Request, found: list[Hypervisor], version: Version, path: str, views: list[Any]
) -> Response:
    """2.33's `limit` and `marker` over the list (in id order), with the next page's link."""
    body: dict[str, Any] = {"hypervisors": views}
    params = request.query_params
    if not version.at_least("2.33"):
        return JSONBody(body)
    ordered = sorted(zip(found, views, strict=True), key=lambda pair: pair[0].number)
    if "marker" in params:
        ids = [str(_id(h, version)) for h, _ in ordered]
        if params["marker"] not in ids:
            raise BadRequest(f"marker [{params['marker']}] not found")
        ordered = ordered[ids.index(params["marker"]) + 1 :]
    limit = None
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            limit = -1
        if limit < 0:
            raise BadRequest(
                f"Invalid input for query parameters limit. Value: {params['limit']}. "
                "It must be a non-negative integer."
            )
        ordered = ordered[:limit]
    body["hypervisors"] = [view for _, view in ordered]
    if limit and len(ordered) == limit:
        query = [(k, v) for k, v in params.multi_items() if k != "marker"]
        query.append(("marker", str(_id(ordered[-1][0], version))))
        href = service_url(request, "v2.1", path) + "?" + urlencode(query)
        body["hypervisors_links"] = [{"rel": "next", "href": href}]
    return JSONBody(body)


@router.get("/v2.1/os-hypervisors")
def list_hypervisors(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found, with_servers = _found(request, services, context, version, detail=False)
    views = [brief(h, version) for h in found]
    if with_servers:
        views = [_servers(v, h, version) for v, h in zip(views, found, strict=True)]
    return _paged(request, found, version, "os-hypervisors", views)


@router.get("/v2.1/os-hypervisors/detail")
def list_hypervisors_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    found, with_servers = _found(request, services, context, version, detail=True)
    views = [detailed(h, version, _uptime(services, context, h, version)) for h in found]
    if with_servers:
        views = [_servers(v, h, version) for v, h in zip(views, found, strict=True)]
    return _paged(request, found, version, "os-hypervisors/detail", views)


def _uptime(
    services: ComputeServices, context: RequestContext, hypervisor: Hypervisor, version: Version
) -> str | None:
    """2.88's `uptime` in a hypervisor's detail (None before 2.88: not asked)."""
    if not version.at_least("2.88"):
        return None
    return services.clusters.uptime(context, str(hypervisor.number))[1]


def _gone_at_2_88(version: Version) -> None:
    if version.at_least("2.88"):
        raise NotFound("The resource could not be found.")


@router.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(services: Services, context: Context, version: Microversion) -> Response:
    _gone_at_2_88(version)
    return JSONBody({"hypervisor_statistics": services.clusters.statistics(context)})


def _checked_id(hypervisor_id: str, version: Version) -> str:
    """An integer before 2.53 (anything else names no hypervisor), a uuid from 2.53."""
    if version.at_least(UUIDS):
        try:
            uuid.UUID(hypervisor_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    elif not (hypervisor_id.isascii() and hypervisor_id.isdigit()):
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return hypervisor_id


@router.get("/v2.1/os-hypervisors/{hypervisor_id}")
def show_hypervisor(
    request: Request,
    hypervisor_id: str,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    hypervisor = services.clusters.hypervisor(context, _checked_id(hypervisor_id, version))
    view = detailed(hypervisor, version, _uptime(services, context, hypervisor, version))
    if version.at_least(UUIDS) and _flag(request, "with_servers"):
        (hosted,) = [
            h
            for h in services.clusters.search(context, hypervisor.name, servers=True)
            if h.uuid == hypervisor.uuid
        ]
        view = _servers(view, hosted, version)
    return JSONBody({"hypervisor": view})


@router.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(
    hypervisor_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _gone_at_2_88(version)
    hypervisor, uptime = services.clusters.uptime(context, _checked_id(hypervisor_id, version))
    return JSONBody({"hypervisor": {**brief(hypervisor, version), "uptime": uptime}})


def _before_2_53(version: Version) -> None:
    """`search` and `servers` are gone from 2.53 (the list's query parameters replace them)."""
    if version.at_least(UUIDS):
        raise NotFound("The resource could not be found.")


@router.get("/v2.1/os-hypervisors/{pattern}/search")
def search_hypervisors(
    pattern: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_53(version)
    found = services.clusters.search(context, pattern)
    return JSONBody({"hypervisors": [brief(h, version) for h in found]})


@router.get("/v2.1/os-hypervisors/{pattern}/servers")
def hypervisor_servers(
    pattern: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_53(version)
    found = services.clusters.search(context, pattern, servers=True)
    return JSONBody({"hypervisors": [_servers(brief(h, version), h) for h in found]})
