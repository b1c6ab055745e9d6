"""The composition root: builds every service from settings and mounts them on one ASGI app.

Middleware order, outermost first, and why:
1. RequestIdMiddleware — the id must exist before anything can log or fail;
2. AccessLogMiddleware — sees the final status of everything below, including faults;
3. the service sub-applications, mounted by their devstack-style path (DESIGN.md §2), each
   rendering its own native fault format.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from vistack.common.bus import InProcessWorkQueue, WorkQueue
from vistack.common.cache import Cache, MemoryCache
from vistack.common.db import Database
from vistack.common.middleware import (
    AccessLogMiddleware,
    MountRootMiddleware,
    RequestIdMiddleware,
)
from vistack.common.policy import PolicyEngine
from vistack.common.web import JSONBody
from vistack.compute.api.app import build_compute_app
from vistack.compute.api.deps import ComputeServices
from vistack.compute.metadata import build_metadata_app
from vistack.compute.policies import COMPUTE_RULES
from vistack.compute.wiring import build_compute_services
from vistack.config import ConfigError, Settings
from vistack.drivers.bundle import Drivers
from vistack.identity.api.app import build_identity_app
from vistack.identity.api.deps import IdentityServices
from vistack.identity.authenticator import TokenAuthenticator
from vistack.identity.domain.bootstrap import BootstrapAccount, ServiceEndpoint
from vistack.identity.policies import IDENTITY_RULES
from vistack.identity.wiring import build_identity_services
from vistack.image.api.app import build_image_app
from vistack.image.api.deps import ImageServices
from vistack.image.policies import IMAGE_RULES
from vistack.image.wiring import build_image_services, image_registered_limits
from vistack.migrations import runner
from vistack.network.api.app import build_network_app
from vistack.network.api.deps import NetworkServices
from vistack.network.dataplane.metadata import shared_secret
from vistack.network.dataplane.sync import EdgeSync
from vistack.network.policies import NETWORK_RULES
from vistack.network.wiring import build_edge_sync, build_network_services
from vistack.volume.api.app import build_volume_app
from vistack.volume.api.deps import VolumeServices
from vistack.volume.policies import VOLUME_RULES
from vistack.volume.wiring import build_volume_services
from vistack.vsphere.drivers import vsphere_drivers
from vistack.vsphere.runtime import VSphereRuntime, start_vsphere
from vistack.vsphere.vm_watch import InventoryVMObserver

LOG = logging.getLogger(__name__)


@dataclass
class Cloud:
    """Everything one vistack process runs; `close()` releases it."""

    settings: Settings
    database: Database
    cache: Cache
    bus: WorkQueue
    identity: IdentityServices
    image: ImageServices
    network: NetworkServices
    compute: ComputeServices
    asgi: ASGIApp
    vsphere: VSphereRuntime | None = None
    #: Edge mode: the thread programming this node's data plane (None in dvs mode).
    dataplane: EdgeSync | None = None
    #: Cinder (block storage); its `nova_port` is what compute attaches volumes through.
    volume: VolumeServices | None = None

    def bootstrap(self, admin_password: str, demo_password: str) -> None:
        """Create (idempotently) the bootstrap accounts, roles and this cloud's catalog."""
        identity = self.settings.identity
        self.identity.bootstrapper.run(
            admin=BootstrapAccount(identity.admin_user, identity.admin_project, admin_password),
            demo=BootstrapAccount(identity.demo_user, identity.demo_project, demo_password),
            region=self.settings.server.region,
            services=catalog_services(self.settings),
        )
        # Glance's quotas are Keystone unified limits; [image] seeds their registered defaults.
        self.identity.limits.register_defaults(
            "image",
            self.settings.server.region,
            image_registered_limits(self.settings.image),
            "registered by vistack from [image] at bootstrap",
        )
        # Nova's default flavors (m1.tiny ... m1.xlarge), made once; an admin's later changes
        # to them stay.
        self.compute.flavors.ensure_defaults()

    def close(self) -> None:
        # The data plane stays up (tenant traffic must survive a restart): only its thread stops.
        if self.dataplane is not None:
            self.dataplane.stop()
        self.compute.stop()
        self.bus.stop()
        if self.vsphere is not None:
            self.vsphere.close()
        self.database.dispose()


def catalog_services(settings: Settings) -> list[ServiceEndpoint]:
    """The services this cloud serves, as the catalog must list them (only those that exist)."""
    base = settings.public_url
    return [
        ServiceEndpoint("identity", "keystone", f"{base}/identity"),
        ServiceEndpoint("image", "glance", f"{base}/image"),
        ServiceEndpoint("network", "neutron", f"{base}/network"),
        ServiceEndpoint("compute", "nova", f"{base}/compute/v2.1"),
        # Cinder's URLs end in the project: clients (openstacksdk, Tempest's volumev3 client)
        # send /volume/v3/{project_id}/...; the catalog fills it from the token's project.
        ServiceEndpoint("block-storage", "cinder", f"{base}/volume/v3/$(project_id)s"),
        ServiceEndpoint("volumev3", "cinderv3", f"{base}/volume/v3/$(project_id)s"),
    ]


def build_cache(settings: Settings) -> Cache:
    if settings.cache.backend == "memory":
        return MemoryCache(settings.cache.ttl, settings.cache.max_entries)
    raise ConfigError(
        f"[cache] backend {settings.cache.backend!r} is not available yet; use 'memory'"
    )


def build_bus(settings: Settings) -> WorkQueue:
    if settings.bus.backend == "memory":
        return InProcessWorkQueue(settings.bus.workers)
    raise ConfigError(f"[bus] backend {settings.bus.backend!r} is not available yet; use 'memory'")


def build_cloud(
    settings: Settings, *, vsphere: bool = True, drivers: Drivers | None = None
) -> Cloud:
    """Migrate the database, build every service and the ASGI app, and connect to vSphere.

    With `vsphere=False` no vCenter is contacted: the services run on `drivers` (the in-memory
    fake, in API tests) or, with none, without vSphere-backed stores.

    :raises DriverError: vSphere is wanted but cannot be reached or started.
    """
    # The data dir holds password hashes and keys: private to the service user.
    settings.data_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database.from_url(
        settings.database_url, pool_size=settings.database.pool_size, echo=settings.database.echo
    )
    runner.upgrade(database.engine)
    _make_private(settings.database_url)
    cache = build_cache(settings)
    bus = build_bus(settings)
    policy = PolicyEngine(
        (*IDENTITY_RULES, *IMAGE_RULES, *NETWORK_RULES, *COMPUTE_RULES, *VOLUME_RULES),
        settings.policy_path,
    )
    identity = build_identity_services(settings, database, cache, policy)
    authenticator = TokenAuthenticator(identity.auth)
    runtime = start_vsphere(settings) if vsphere else None
    try:
        vcenter = "vcenter"
        if runtime is not None:
            first = runtime.vcenters[0]
            drivers = vsphere_drivers(first.session, first.endpoint)
            vcenter = first.endpoint.name
        region = settings.server.region

        def image_limit(resource: str, project_id: str) -> int | None:
            return identity.limits.effective_limit("image", resource, project_id, region)

        image = build_image_services(
            settings, database, policy, bus, drivers, vcenter, limit_source=image_limit
        )
        network = build_network_services(settings, database, policy, drivers)
        dataplane = build_edge_sync(settings, network)
        volume = build_volume_services(settings, database, policy, bus, drivers, image)
        compute = build_compute_services(settings, database, policy, bus, drivers, image, network)
        # Nova attaches volumes and boots from them through Cinder's port, and its pre-2.36
        # os-volumes / os-snapshots proxies call Cinder's own services.
        compute.connect_block_storage(volume.nova_port, volume.volumes, volume.snapshots)
        # Cinder's attachments API checks the servers it is told of with Nova.
        volume.attachment_api.connect_servers(compute.servers.get)
        if volume.data_path is not None and compute.small_apis is not None:
            # Cinder tells Nova an attached volume grew (its `volume-extended` event).
            hook = compute.small_apis.external_events.volume_extended
            volume.data_path.attached_extend.connect_nova(hook)
        if volume.data_path is not None and compute.volume_attachments is not None:
            # Cinder moves an attached volume's disk through Nova's swap volume.
            swapper = compute.volume_attachments.swapper
            volume.data_path.migration.connect_nova(
                swapper.swap_for_migration, swapper.resume_for_migration
            )
        if runtime is not None:
            # Servers follow vCenter's VM changes as the inventory's watch reports them.
            compute.servers.follow_vcenter(InventoryVMObserver(runtime.vcenters[0].inventory))
    except BaseException:
        if runtime is not None:
            runtime.close()
        raise
    # Nova's metadata API, where the edge relay sends 169.254.169.254 (signed with this secret).
    metadata_secret = shared_secret(
        settings.data_path, settings.compute.metadata_proxy_shared_secret
    )
    root = Starlette(
        routes=[
            Route("/", _root_versions),
            Mount("/identity", app=build_identity_app(identity, authenticator)),
            Mount("/image", app=build_image_app(image, authenticator)),
            Mount("/network", app=build_network_app(network, authenticator)),
            Mount("/compute", app=build_compute_app(compute, authenticator)),
            Mount("/volume", app=build_volume_app(volume, authenticator)),
            Mount("/metadata", app=build_metadata_app(compute.instance_facts, metadata_secret)),
        ]
    )
    mounts = ["/identity", "/image", "/network", "/compute", "/volume", "/metadata"]
    app: ASGIApp = MountRootMiddleware(root, mounts)
    app = AccessLogMiddleware(app, enabled=settings.server.access_log)
    app = RequestIdMiddleware(app)
    bus.start()
    # One nova-compute service per cluster (and this controller's scheduler and conductor).
    compute.clusters.register_services()
    compute.start()
    volume.start(bus)
    if dataplane is not None:
        dataplane.start()
    return Cloud(
        settings,
        database,
        cache,
        bus,
        identity,
        image,
        network,
        compute,
        app,
        runtime,
        dataplane,
        volume,
    )


def _make_private(database_url: str) -> None:
    """SQLite files (and their WAL companions) readable by the service user only."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(url.database + suffix)
        if path.exists():
            path.chmod(0o600)


async def _root_versions(request: Request) -> Response:
    """The root lists the services and where they live, so a person can find their way."""
    base = str(request.base_url).rstrip("/")
    services = {
        "identity": f"{base}/identity/v3",
        "image": f"{base}/image/v2",
        "network": f"{base}/network/v2.0",
        "compute": f"{base}/compute/v2.1",
        "volume": f"{base}/volume/v3",
    }
    return JSONBody({"services": services})
