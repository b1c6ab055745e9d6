"""Nova's server views: the short form of a list, the full form of detail and show, and the
create answer, each as the request's microversion has it. Extended attributes that are the
admin's (`OS-EXT-SRV-ATTR:*`, `host_status`) appear only when policy allows the caller to see
them.

What each microversion adds to `full` (Nova's `ViewBuilder.show`): 2.3 the EC2-era extended
attributes, 2.9 `locked`, 2.16 `host_status`, 2.19 `description`, 2.26 `tags`, 2.47 the
flavor's contents instead of its link, 2.63 `trusted_image_certificates`, 2.71
`server_groups` (show, update, rebuild), 2.73 `locked_reason`, 2.90 `OS-EXT-SRV-ATTR:hostname`
to every caller, 2.96 `pinned_availability_zone`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request

from vistack.common.context import RequestContext
from vistack.common.web import service_url
from vistack.compute.api.deps import CONTEXT_KEY, ComputeServices
from vistack.compute.api.microversion import V2_1, Version
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


@dataclass(frozen=True)
class Extras:
    """What a view shows beyond the server's own row, looked up once per request.

    `tags` by server id (2.26); `host_status` by cluster, None when the caller may not see
    it (2.16); `extra_specs` whether the caller may see a flavor's extra specs (2.47).
    """

    tags: dict[str, list[str]] = field(default_factory=dict)
    host_status: dict[str, str] | None = None
    extra_specs: bool = False
    #: 2.71's `server_groups` by server id (show, update and rebuild only: None elsewhere).
    server_groups: dict[str, list[str]] | None = None
    #: `os-extended-volumes:volumes_attached` by server id: (volume id, delete_on_termination).
    volumes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)


def volumes_of(
    services: ComputeServices, servers: list[Server]
) -> dict[str, list[tuple[str, bool]]]:
    """The volumes attached to each server (one read for the page)."""
    if services.volume_attachments is None or not servers:
        return {}
    found = services.volume_attachments.volumes_of_servers([s.id for s in servers])
    return {
        server_id: [(str(d.volume_id), d.delete_on_termination) for d in devices]
        for server_id, devices in found.items()
    }


def lookup_extras(
    services: ComputeServices,
    context: RequestContext | None,
    servers: list[Server],
    version: Version,
    *,
    host_status: bool = True,
    single: bool = False,
) -> Extras:
    """The lookups the views of `servers` need at `version`, one read each; `single`: the
    view of one server (show, update, rebuild), which alone has `server_groups` (2.71).
    Without a caller (`context` None) nothing policy decides is shown."""
    tags = services.extras.tags_of([s.id for s in servers]) if version.at_least("2.26") else {}
    statuses = None
    if context is not None and host_status and version.at_least("2.16"):
        statuses = services.extras.host_status(context)
    specs = (
        context is not None
        and version.at_least("2.47")
        and services.extras.sees_extra_specs(context)
    )
    groups = None
    if single and version.at_least("2.71"):
        groups = {s.id: services.extras.server_groups(s.id) for s in servers}
    return Extras(
        tags=tags,
        host_status=statuses,
        extra_specs=specs,
        server_groups=groups,
        volumes=volumes_of(services, servers),
    )


def _extras_of(request: Request, server: Server, version: Version, extended: bool) -> Extras:
    """What a caller that passed no `Extras` (a single server's view: show, update, an
    action's answer) shows, looked up for the request's caller."""
    services: ComputeServices = request.app.state.compute
    if version == V2_1:
        return Extras(volumes=volumes_of(services, [server]))
    context = request.scope.get("state", {}).get(CONTEXT_KEY)
    return lookup_extras(services, context, [server], version, host_status=extended, single=True)


def full(
    request: Request,
    server: Server,
    *,
    zone_of: Callable[[str], str],
    admin: bool,
    extended: bool = True,
    version: Version = V2_1,
    extras: Extras | None = None,
) -> dict[str, Any]:
    """The show/detail view at `version`; `extended=False` is the update's (and rebuild's)
    answer before 2.75, which Nova gives without the extension attributes (zone, usage,
    status, key, groups, volumes, host)."""
    if version.at_least("2.75"):
        extended = True  # 2.75: update and rebuild answer what show does
    if extras is None:
        extras = _extras_of(request, server, version, extended)
    image: dict[str, Any] | str = ""
    if server.image_ref:  # Nova's `_get_image` of `instance.image_ref`
        image = {
            "id": server.image_ref,
            "links": [
                {"rel": "bookmark", "href": service_url(request, "images", server.image_ref)}
            ],
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
        "flavor": _flavor(request, server, version, extras),
        "created": stamp(server.created_at),
        "updated": stamp(server.updated_at),
        # Update's and rebuild's answers (before 2.75) carry the bare addresses.
        "addresses": server.addresses if extended else bare_addresses(server.addresses),
        "accessIPv4": server.access_ip_v4 or "",
        "accessIPv6": server.access_ip_v6 or "",
        "links": links(request, server.id),
        "OS-DCF:diskConfig": disk_config(server),
    }
    if extended:
        view.update(_extensions(server, zone))
        view["os-extended-volumes:volumes_attached"] = [
            {"id": volume_id, "delete_on_termination": flag}
            if version.at_least("2.3")
            else {"id": volume_id}
            for volume_id, flag in extras.volumes.get(server.id, [])
        ]
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
        if version.at_least("2.3"):
            view.update(_ec2_attributes(server))
    if extended and extras.host_status is not None and version.at_least("2.16"):
        view["host_status"] = extras.host_status.get(server.cluster or "", "")
    view.update(_versioned(server, version, extras))
    return view


def _versioned(server: Server, version: Version, extras: Extras) -> dict[str, Any]:
    """The fields microversions add to every form of the full view (update's included)."""
    out: dict[str, Any] = {}
    if version.at_least("2.9"):
        out["locked"] = server.locked
    if version.at_least("2.19"):
        out["description"] = server.description
    if version.at_least("2.26"):
        out["tags"] = list(extras.tags.get(server.id, []))
    if version.at_least("2.63"):
        out["trusted_image_certificates"] = None  # a create naming some is refused
    if version.at_least("2.71") and extras.server_groups is not None:
        out["server_groups"] = list(extras.server_groups.get(server.id, []))
    if version.at_least("2.73"):
        out["locked_reason"] = server.locked_reason if server.locked else None
    if version.at_least("2.90"):  # every caller's from 2.90 (an administrator's before)
        out["OS-EXT-SRV-ATTR:hostname"] = server.hostname
    if version.at_least("2.96"):  # the zone the create (or a 2.77 unshelve) pinned, or null
        out["pinned_availability_zone"] = server.availability_zone
    return out


def _ec2_attributes(server: Server) -> dict[str, Any]:
    """2.3's `OS-EXT-SRV-ATTR:*` (what the standalone EC2 API needed): a vSphere server
    boots no separate kernel or ramdisk, and its root disk is the first SCSI disk."""
    return {
        # "" for a server recorded before reservation ids were kept.
        "OS-EXT-SRV-ATTR:reservation_id": server.system_metadata.get("reservation_id") or "",
        "OS-EXT-SRV-ATTR:launch_index": int(server.system_metadata.get("launch_index", 0)),
        "OS-EXT-SRV-ATTR:hostname": server.hostname,
        "OS-EXT-SRV-ATTR:kernel_id": "",
        "OS-EXT-SRV-ATTR:ramdisk_id": "",
        "OS-EXT-SRV-ATTR:root_device_name": "/dev/sda" if server.launched_at else None,
        "OS-EXT-SRV-ATTR:user_data": server.user_data,
    }


def _flavor(request: Request, server: Server, version: Version, extras: Extras) -> dict[str, Any]:
    """The flavor's id and link; from 2.47 the flavor the server was built with, embedded."""
    flavor = server.flavor
    if not version.at_least("2.47"):
        flavor_id = str(flavor.get("id", ""))
        return {
            "id": flavor_id,
            "links": [{"rel": "bookmark", "href": service_url(request, "flavors", flavor_id)}],
        }
    embedded: dict[str, Any] = {
        "vcpus": int(flavor.get("vcpus", 0)),
        "ram": int(flavor.get("ram", 0)),
        "disk": int(flavor.get("disk", 0)),
        "ephemeral": int(flavor.get("ephemeral", 0)),
        "swap": int(flavor.get("swap", 0)),
        "original_name": str(flavor.get("name", "")),
    }
    if extras.extra_specs:
        embedded["extra_specs"] = dict(flavor.get("extra_specs") or {})
    return embedded


def _extensions(server: Server, zone: str) -> dict[str, Any]:
    """The attributes Nova's extensions add to show and detail."""
    out: dict[str, Any] = {
        "OS-EXT-AZ:availability_zone": zone,
        "config_drive": "True" if server.config_drive else "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": usage_stamp(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_stamp(server.terminated_at),
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],  # filled in by `full` (Extras.volumes)
    }
    if server.security_groups:  # Nova leaves the key out when the server has none
        out["security_groups"] = [{"name": name} for name in server.security_groups]
    return out


def bare_addresses(
    addresses: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Addresses without the `OS-EXT-IPS` extension fields (Nova's `extend_address=False`)."""
    return {
        network: [{"version": a["version"], "addr": a["addr"]} for a in entries]
        for network, entries in addresses.items()
    }


def disk_config(server: Server) -> str:
    """`OS-DCF:diskConfig` as last asked (create, rebuild, resize, update); MANUAL by default:
    a vSphere root disk is grown by vSphere, never repartitioned by Nova."""
    return str(server.system_metadata.get("disk_config") or "MANUAL")


def created(request: Request, server: Server, admin_password: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": server.id,
        "links": links(request, server.id),
        "OS-DCF:diskConfig": disk_config(server),
        "security_groups": [{"name": name} for name in server.security_groups],
    }
    if admin_password:
        view["adminPass"] = admin_password
    return view
