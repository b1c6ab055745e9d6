"""Nova's server views at 2.1: the short form of a list, the full form of detail and show, and
the create answer. Extended attributes that are the admin's (`OS-EXT-SRV-ATTR:*`) appear only
when policy allows the caller to see them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request

from vistack.common.web import service_url
from vistack.compute.domain.models import Server
from vistack.compute.domain.states import status_of


def stamp(moment: datetime | None) -> str | None:
    """`2026-11-24T08:00:00Z`, Nova's `created`/`updated` form."""
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else None


def usage_stamp(moment: datetime | None) -> str | None:
    """`2026-11-24T08:00:00.000000`, Nova's `OS-SRV-USG:*` form (no zone, microseconds)."""
    return moment.isoformat(timespec="microseconds") if moment is not None else None


def links(request: Request, server_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": service_url(request, "v2.1", "servers", server_id)},
        {"rel": "bookmark", "href": service_url(request, "servers", server_id)},
    ]


def host_id(server: Server) -> str:
    """Nova's opaque `hostId`: the same for a project's servers on one host, else different."""
    if not server.cluster:
        return ""
    return hashlib.sha224((server.project_id + server.cluster).encode()).hexdigest()


def brief(request: Request, server: Server) -> dict[str, Any]:
    return {"id": server.id, "name": server.name, "links": links(request, server.id)}


def full(
    request: Request,
    server: Server,
    *,
    zone_of: Callable[[str], str],
    admin: bool,
    extended: bool = True,
) -> dict[str, Any]:
    """The show/detail view; `extended=False` is the update's answer, which Nova gives
    without the extension attributes (zone, usage, status, key, groups, volumes, host)."""
    flavor_id = str(server.flavor.get("id", ""))
    image: dict[str, Any] | str = ""
    if server.image_id:
        image = {
            "id": server.image_id,
            "links": [{"rel": "bookmark", "href": service_url(request, "images", server.image_id)}],
        }
    zone = zone_of(server.cluster) if server.cluster else (server.availability_zone or "")
    view: dict[str, Any] = {
        "id": server.id,
        "name": server.name,
        "status": status_of(server.vm_state, server.task_state),
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": server.metadata,
        "hostId": host_id(server),
        "image": image,
        "flavor": {
            "id": flavor_id,
            "links": [{"rel": "bookmark", "href": service_url(request, "flavors", flavor_id)}],
        },
        "created": stamp(server.created_at),
        "updated": stamp(server.updated_at),
        "addresses": server.addresses,
        "accessIPv4": server.access_ip_v4 or "",
        "accessIPv6": server.access_ip_v6 or "",
        "links": links(request, server.id),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if extended:
        view.update(_extensions(server, zone))
    if view["status"] in ("BUILD", "ACTIVE"):
        view["progress"] = 100 if view["status"] == "ACTIVE" else 0
    if server.fault is not None and server.vm_state in ("error", "deleted"):
        fault = dict(server.fault)
        if not admin:
            fault.pop("details", None)
        view["fault"] = fault
    if admin and extended:
        view["OS-EXT-SRV-ATTR:host"] = server.cluster
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.cluster
        view["OS-EXT-SRV-ATTR:instance_name"] = server.id
    return view


def _extensions(server: Server, zone: str) -> dict[str, Any]:
    """The attributes Nova's extensions add to show and detail."""
    return {
        "OS-EXT-AZ:availability_zone": zone,
        "config_drive": "True" if server.config_drive else "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": usage_stamp(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_stamp(server.terminated_at),
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": name} for name in server.security_groups],
    }


def created(request: Request, server: Server, admin_password: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": server.id,
        "links": links(request, server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": name} for name in server.security_groups],
    }
    if admin_password:
        view["adminPass"] = admin_password
    return view
