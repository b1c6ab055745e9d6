"""What every compute handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from vistack.common.context import RequestContext
from vistack.common.web import authenticated_context
from vistack.compute.domain.aggregates import AggregateService
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.migrations import MigrationService
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.server_metadata import ServerMetadataService
from vistack.compute.domain.servers import ServerService
from vistack.compute.domain.usage import UsageService


@dataclass(frozen=True)
class ComputeServices:
    """The compute domain services, built once by the composition root."""

    flavors: FlavorService
    keypairs: KeypairService
    quotas: ComputeQuotas
    clusters: ClusterService
    servers: ServerService
    metadata: ServerMetadataService
    aggregates: AggregateService
    usage: UsageService
    migrations: MigrationService


async def compute_services(request: Request) -> ComputeServices:
    services: ComputeServices = request.app.state.compute
    return services


Services = Annotated[ComputeServices, Depends(compute_services)]
Context = Annotated[RequestContext, Depends(authenticated_context)]
