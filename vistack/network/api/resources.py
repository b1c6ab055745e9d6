"""Networks, subnets, ports, security groups and rules: CRUD routes per collection, and tags.

Handlers only parse and render: the domain decides (policy, validation, IPAM) and hands back
resources as Neutron renders them; `query.apply` then filters, sorts and pages the list (the
routes are collection.py's). The tag routes here are the generic ones, mounted last (app.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from vistack.network.api.collection import add_collection, add_tag_routes
from vistack.network.domain.errors import NeutronNotFound
from vistack.network.domain.service import NetworkService

router = APIRouter()
TAGGABLE = ("networks", "subnets", "ports", "security-groups", "subnetpools")

add_collection(
    router,
    "networks",
    NetworkService.list_networks,
    NetworkService.get_network,
    NetworkService.create_network,
    NetworkService.update_network,
    NetworkService.delete_network,
    paged=NetworkService.list_networks,
    database_only=False,  # creates, updates and deletes port groups in vCenter
)
add_collection(
    router,
    "subnets",
    NetworkService.list_subnets,
    NetworkService.get_subnet,
    NetworkService.create_subnet,
    NetworkService.update_subnet,
    NetworkService.delete_subnet,
    paged=NetworkService.list_subnets,
)
add_collection(
    router,
    "ports",
    NetworkService.list_ports,
    NetworkService.get_port,
    NetworkService.create_port,
    NetworkService.update_port,
    NetworkService.delete_port,
    paged=NetworkService.list_ports,
)

add_collection(
    router,
    "security_groups",
    lambda service, context: service.security.list_groups(context),
    lambda service, context, item_id: service.security.get_group(context, item_id),
    lambda service, context, body: service.security.create_group(context, body),
    lambda service, context, item_id, body: service.security.update_group(context, item_id, body),
    lambda service, context, item_id: service.security.delete_group(context, item_id),
    paged=lambda service, context, asked: service.security.list_groups(context, asked),
)
add_collection(
    router,
    "security_group_rules",
    lambda service, context: service.security.list_rules(context),
    lambda service, context, item_id: service.security.get_rule(context, item_id),
    lambda service, context, body: service.security.create_rule(context, body),
    None,
    lambda service, context, item_id: service.security.delete_rule(context, item_id),
    paged=lambda service, context, asked: service.security.list_rules(context, asked),
)


def _taggable(request: Request) -> str:
    resource = str(request.path_params["resource"])
    if resource not in TAGGABLE:
        raise NeutronNotFound("The resource could not be found.")
    return resource


add_tag_routes(router, "/v2.0/{resource}/{item_id}", _taggable)
