"""What every network handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from vistack.common.context import RequestContext
from vistack.common.lanes import WorkLane
from vistack.common.web import authenticated_context
from vistack.network.domain.service import NetworkService


@dataclass(frozen=True)
class NetworkServices:
    """The network domain services, built once by the composition root."""

    networks: NetworkService
    #: Where handlers that only use the database run (see `vistack.common.lanes`).
    database_lane: WorkLane = field(default_factory=lambda: WorkLane(None))


async def network_services(request: Request) -> NetworkServices:
    services: NetworkServices = request.app.state.network
    return services


Services = Annotated[NetworkServices, Depends(network_services)]
Context = Annotated[RequestContext, Depends(authenticated_context)]
