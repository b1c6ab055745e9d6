"""`/v2.1/os-hypervisors`: each cluster as Nova 2.1 shows a compute node (integer ids, the
`nova-compute` service's number; `cpu_info` a JSON string)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.clusters import (
    HYPERVISOR_TYPE,
    HYPERVISOR_VERSION,
    Hypervisor,
    cpu_info_text,
)

router = APIRouter()


def brief(hypervisor: Hypervisor) -> dict[str, Any]:
    return {
        "id": hypervisor.number,
        "hypervisor_hostname": hypervisor.name,
        "state": "up" if hypervisor.up else "down",
        "status": "disabled" if hypervisor.disabled else "enabled",
    }


def detailed(hypervisor: Hypervisor) -> dict[str, Any]:
    return {
        **brief(hypervisor),
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
        "cpu_info": cpu_info_text(hypervisor.cpu_info),
        "disk_available_least": hypervisor.disk_available_least,
        "host_ip": hypervisor.host_ip,
        "service": {
            "host": hypervisor.name,
            "id": hypervisor.number,
            "disabled_reason": hypervisor.disabled_reason,
        },
    }


def with_servers(hypervisor: Hypervisor) -> dict[str, Any]:
    view = brief(hypervisor)
    if hypervisor.servers:  # Nova leaves the key out for a hypervisor without servers
        view["servers"] = [{"name": name, "uuid": uuid} for name, uuid in hypervisor.servers]
    return view


@router.get("/v2.1/os-hypervisors")
def list_hypervisors(services: Services, context: Context) -> Response:
    found = services.clusters.hypervisors(context, detail=False)
    return JSONBody({"hypervisors": [brief(h) for h in found]})


@router.get("/v2.1/os-hypervisors/detail")
def list_hypervisors_detail(services: Services, context: Context) -> Response:
    found = services.clusters.hypervisors(context, detail=True)
    return JSONBody({"hypervisors": [detailed(h) for h in found]})


@router.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(services: Services, context: Context) -> Response:
    return JSONBody({"hypervisor_statistics": services.clusters.statistics(context)})


@router.get("/v2.1/os-hypervisors/{hypervisor_id}")
def show_hypervisor(hypervisor_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"hypervisor": detailed(services.clusters.hypervisor(context, hypervisor_id))})


@router.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(hypervisor_id: str, services: Services, context: Context) -> Response:
    hypervisor, uptime = services.clusters.uptime(context, hypervisor_id)
    return JSONBody({"hypervisor": {**brief(hypervisor), "uptime": uptime}})


@router.get("/v2.1/os-hypervisors/{pattern}/search")
def search_hypervisors(pattern: str, services: Services, context: Context) -> Response:
    found = services.clusters.search(context, pattern)
    return JSONBody({"hypervisors": [brief(h) for h in found]})


@router.get("/v2.1/os-hypervisors/{pattern}/servers")
def hypervisor_servers(pattern: str, services: Services, context: Context) -> Response:
    found = services.clusters.search(context, pattern, servers=True)
    return JSONBody({"hypervisors": [with_servers(h) for h in found]})
