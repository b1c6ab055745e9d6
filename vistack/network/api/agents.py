"""`/v2.0/agents` and the scheduler views: which agent hosts which network or router.

Only parsing and rendering: `AgentService` decides (edge mode only, admin only). The hosted
networks are rendered by the network service (as `GET /v2.0/networks` would, so the admin sees
the same attributes); the hosted routers show their basic attributes (see
`AgentService.routers_of_agent`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.network.api.deps import Context, Services
from vistack.network.domain import query
from vistack.network.domain.errors import NeutronBadRequest

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _list(request: Request, collection: str, items: list[dict[str, Any]], path: str) -> Response:
    url = service_url(request, "v2.0", path)
    return JSONBody(query.apply(items, request.query_params.multi_items(), collection, url))


def _fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [
        f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",")
    ]
    return {k: v for k, v in item.items() if k in fields} if fields else item


@router.get("/v2.0/agents")
def list_agents(request: Request, services: Services, context: Context) -> Response:
    return _list(request, "agents", services.networks.agents.list_agents(context), "agents")


@router.post("/v2.0/agents")
def create_agent(services: Services, context: Context) -> Response:
    services.networks.agents.list_agents(context)  # dvs mode: the 404 saying why
    raise NeutronBadRequest(
        "Agents cannot be created through the API: an agent registers itself with its first "
        "heartbeat."
    )


@router.get("/v2.0/agents/{agent_id}")
def show_agent(agent_id: str, request: Request, services: Services, context: Context) -> Response:
    agent = services.networks.agents.get_agent(context, agent_id)
    return JSONBody({"agent": _fields(request, agent)})


@router.put("/v2.0/agents/{agent_id}")
def update_agent(agent_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    return JSONBody({"agent": services.networks.agents.update_agent(context, agent_id, body)})


@router.delete("/v2.0/agents/{agent_id}")
def delete_agent(agent_id: str, services: Services, context: Context) -> Response:
    services.networks.agents.delete_agent(context, agent_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- dhcp_agent_scheduler


@router.get("/v2.0/agents/{agent_id}/dhcp-networks")
def list_agent_networks(
    agent_id: str, request: Request, services: Services, context: Context
) -> Response:
    service = services.networks
    ids = set(service.agents.networks_of_agent(context, agent_id))
    networks = [n for n in service.list_networks(context) if n["id"] in ids]
    return _list(request, "networks", networks, f"agents/{agent_id}/dhcp-networks")


@router.post("/v2.0/agents/{agent_id}/dhcp-networks")
def add_agent_network(
    agent_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    services.networks.agents.add_network(context, agent_id, body)
    return JSONBody(None, status_code=201)


@router.delete("/v2.0/agents/{agent_id}/dhcp-networks/{network_id}")
def remove_agent_network(
    agent_id: str, network_id: str, services: Services, context: Context
) -> Response:
    services.networks.agents.remove_network(context, agent_id, network_id)
    return Response(status_code=204)


@router.get("/v2.0/networks/{network_id}/dhcp-agents")
def list_network_agents(
    network_id: str, request: Request, services: Services, context: Context
) -> Response:
    agents = services.networks.agents.dhcp_agents_of_network(context, network_id)
    return _list(request, "agents", agents, f"networks/{network_id}/dhcp-agents")


# ---------------------------------------------------------------- l3_agent_scheduler


@router.get("/v2.0/agents/{agent_id}/l3-routers")
def list_agent_routers(
    agent_id: str, request: Request, services: Services, context: Context
) -> Response:
    routers = services.networks.agents.routers_of_agent(context, agent_id)
    return _list(request, "routers", routers, f"agents/{agent_id}/l3-routers")


@router.post("/v2.0/agents/{agent_id}/l3-routers")
def add_agent_router(
    agent_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    services.networks.agents.add_router(context, agent_id, body)
    return JSONBody(None, status_code=201)


@router.delete("/v2.0/agents/{agent_id}/l3-routers/{router_id}")
def remove_agent_router(
    agent_id: str, router_id: str, services: Services, context: Context
) -> Response:
    services.networks.agents.remove_router(context, agent_id, router_id)
    return Response(status_code=204)


@router.get("/v2.0/routers/{router_id}/l3-agents")
def list_router_agents(
    router_id: str, request: Request, services: Services, context: Context
) -> Response:
    agents = services.networks.agents.l3_agents_of_router(context, router_id)
    return _list(request, "agents", agents, f"routers/{router_id}/l3-agents")
