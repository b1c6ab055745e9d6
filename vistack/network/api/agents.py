"""`/v2.0/agents` and the scheduler views: which agent hosts which network or router.

Only parsing and rendering: `AgentService` decides (edge mode only, admin only). The hosted
networks are rendered by the network service (as `GET /v2.0/networks` would, so the admin sees
the same attributes); the hosted routers show their basic attributes (see
`AgentService.routers_of_agent`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.context import RequestContext
from vistack.common.web import JSONBody
from vistack.network.api.collection import JsonBody, add_collection, list_response
from vistack.network.api.deps import Context, Services
from vistack.network.domain.errors import NeutronBadRequest
from vistack.network.domain.service import NetworkService

router = APIRouter()


add_collection(
    router,
    "agents",
    lambda service, context: service.agents.list_agents(context),
    lambda service, context, item_id: service.agents.get_agent(context, item_id),
    None,  # see create_agent
    lambda service, context, item_id, body: service.agents.update_agent(context, item_id, body),
    lambda service, context, item_id: service.agents.delete_agent(context, item_id),
    bulk=False,
    if_match=False,
)


@router.post("/v2.0/agents")
def create_agent(services: Services, context: Context) -> Response:
    services.networks.agents.list_agents(context)  # dvs mode: the 404 saying why
    raise NeutronBadRequest(
        "Agents cannot be created through the API: an agent registers itself with its first "
        "heartbeat."
    )


def _add_scheduler(
    hosted: str,
    agent_path: str,
    reverse_path: str,
    hosted_by: Callable[[NetworkService, RequestContext, str], list[dict[str, Any]]],
    add: Callable[[NetworkService, RequestContext, str, Any], None],
    remove: Callable[[NetworkService, RequestContext, str, str], None],
    hosts_of: Callable[[NetworkService, RequestContext, str], list[dict[str, Any]]],
) -> None:
    """One scheduler extension's routes: what an agent hosts (`/v2.0/agents/{id}/{agent_path}`:
    list, add, remove) and which agents host an item (`/v2.0/{hosted}/{id}/{reverse_path}`)."""
    path = f"/v2.0/agents/{{agent_id}}/{agent_path}"
    member = hosted[:-1]

    def list_hosted(
        agent_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        items = hosted_by(services.networks, context, agent_id)
        return list_response(request, hosted, items, f"agents/{agent_id}/{agent_path}")

    def add_hosted(agent_id: str, body: JsonBody, services: Services, context: Context) -> Response:
        add(services.networks, context, agent_id, body)
        return JSONBody(None, status_code=201)

    def remove_hosted(
        agent_id: str, item_id: str, services: Services, context: Context
    ) -> Response:
        remove(services.networks, context, agent_id, item_id)
        return Response(status_code=204)

    def list_hosts(
        item_id: str, request: Request, services: Services, context: Context
    ) -> Response:
        agents = hosts_of(services.networks, context, item_id)
        return list_response(request, "agents", agents, f"{hosted}/{item_id}/{reverse_path}")

    router.add_api_route(path, list_hosted, methods=["GET"], name=f"list_agent_{hosted}")
    router.add_api_route(path, add_hosted, methods=["POST"], name=f"add_agent_{member}")
    router.add_api_route(
        path + "/{item_id}", remove_hosted, methods=["DELETE"], name=f"remove_agent_{member}"
    )
    router.add_api_route(
        f"/v2.0/{hosted}/{{item_id}}/{reverse_path}",
        list_hosts,
        methods=["GET"],
        name=f"list_{member}_agents",
    )


def _networks_of_agent(
    service: NetworkService, context: RequestContext, agent_id: str
) -> list[dict[str, Any]]:
    ids = set(service.agents.networks_of_agent(context, agent_id))
    return [n for n in service.list_networks(context) if n["id"] in ids]


# dhcp_agent_scheduler
_add_scheduler(
    "networks",
    "dhcp-networks",
    "dhcp-agents",
    _networks_of_agent,
    lambda service, context, agent_id, body: service.agents.add_network(context, agent_id, body),
    lambda service, context, agent_id, item_id: service.agents.remove_network(
        context, agent_id, item_id
    ),
    lambda service, context, item_id: service.agents.dhcp_agents_of_network(context, item_id),
)
# l3_agent_scheduler
_add_scheduler(
    "routers",
    "l3-routers",
    "l3-agents",
    lambda service, context, agent_id: service.agents.routers_of_agent(context, agent_id),
    lambda service, context, agent_id, body: service.agents.add_router(context, agent_id, body),
    lambda service, context, agent_id, item_id: service.agents.remove_router(
        context, agent_id, item_id
    ),
    lambda service, context, item_id: service.agents.l3_agents_of_router(context, item_id),
)
