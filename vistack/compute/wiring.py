"""Builds the compute services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

from vistack.common.bus import WorkQueue
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.compute.api.deps import ComputeServices
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.aggregates import AggregateService
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.migrations import MigrationService
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.server_metadata import ServerMetadataService
from vistack.compute.domain.servers import ServerService
from vistack.compute.domain.usage import UsageService
from vistack.config import Settings
from vistack.drivers.bundle import Drivers
from vistack.image.api.deps import ImageServices
from vistack.network.api.deps import NetworkServices


def build_compute_services(
    settings: Settings,
    database: Database,
    policy: PolicyEngine,
    bus: WorkQueue,
    drivers: Drivers | None,
    image: ImageServices,
    network: NetworkServices,
) -> ComputeServices:
    """Without drivers (no vCenter) flavors, key pairs and quotas work; servers cannot be built
    (there is no cluster to build them on) and say so."""
    store = ComputeStore(database)
    quotas = ComputeQuotas(store, settings.compute, policy)
    flavors = FlavorService(store, policy)
    keypairs = KeypairService(store, policy, quotas)
    clusters = ClusterService(store, policy, drivers, settings.compute)
    servers = ServerService(
        store,
        policy,
        bus,
        drivers,
        flavors=flavors,
        keypairs=keypairs,
        quotas=quotas,
        clusters=clusters,
        images=image.images,
        networks=network.networks,
        power_sync_seconds=settings.compute.power_sync_seconds,
    )
    metadata = ServerMetadataService(store, policy, quotas)
    return ComputeServices(
        flavors,
        keypairs,
        quotas,
        clusters,
        servers,
        metadata,
        aggregates=AggregateService(store, policy, clusters),
        usage=UsageService(store, policy),
        migrations=MigrationService(policy),
    )
