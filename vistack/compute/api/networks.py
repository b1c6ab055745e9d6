"""`/v2.1/os-networks` and `/v2.1/os-tenant-networks` (2.1 to 2.35): Nova's read-only proxy to
Neutron's networks, in nova-network's shape (with Neutron, Nova knows a network's id and name:
every nova-network field is null). Creating, deleting or (dis)associating a network was
nova-network's and answers 410 Gone, as in Nova. From 2.36 Nova answers 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.removed import Gone

router = APIRouter()
NETWORKS = "/v2.1/os-networks"
TENANT = "/v2.1/os-tenant-networks"
#: What Nova shows every caller, and what only administrators see besides.
FIELDS = [
    "id",
    "cidr",
    "netmask",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "cidr_v6",
    "gateway_v6",
    "label",
    "netmask_v6",
]
ADMIN_FIELDS = [
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "injected",
    "bridge",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "project_id",
    "host",
    "bridge_interface",
    "multi_host",
    "priority",
    "rxtx_base",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
]


def _before_2_36(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def network_view(network: dict[str, Any], admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = dict.fromkeys(FIELDS + (ADMIN_FIELDS if admin else []))
    view["id"], view["label"] = network["id"], network.get("name")
    return view


def tenant_view(network: dict[str, Any]) -> dict[str, Any]:
    return {"id": network["id"], "label": network.get("name"), "cidr": None}


@router.get(NETWORKS)
def list_networks(services: Services, context: Context, version: Microversion) -> Response:
    _before_2_36(version)
    admin = services.servers.sees_admin_fields(context)
    found = services.network_proxy.list_networks(context)
    return JSONBody({"networks": [network_view(n, admin) for n in found]})


@router.get(NETWORKS + "/{network_id}")
def show_network(
    network_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    admin = services.servers.sees_admin_fields(context)
    return JSONBody(
        {"network": network_view(services.network_proxy.get(context, network_id), admin)}
    )


@router.get(TENANT)
def list_tenant_networks(services: Services, context: Context, version: Microversion) -> Response:
    _before_2_36(version)
    found = services.network_proxy.list_networks(context)
    mine = [n for n in found if n.get("project_id") == context.project_id or n.get("shared")]
    return JSONBody({"networks": [tenant_view(n) for n in mine]})


@router.get(TENANT + "/{network_id}")
def show_tenant_network(
    network_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    return JSONBody({"network": tenant_view(services.network_proxy.get(context, network_id))})


def _gone(version: Version) -> None:
    _before_2_36(version)
    raise Gone("This resource is no longer available in the Nova API.")


@router.post(NETWORKS)
@router.post(NETWORKS + "/add")
@router.post(NETWORKS + "/{network_id}/action")
@router.delete(NETWORKS + "/{network_id}")
@router.post(TENANT)
@router.delete(TENANT + "/{network_id}")
def nova_network_only(context: Context, version: Microversion) -> Response:
    _gone(version)
    return Response(status_code=410)  # not reached
