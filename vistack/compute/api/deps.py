"""What every compute handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.web import authenticated_context
from vistack.compute.api.project_path import SCOPE_KEY as URL_PROJECT_KEY
from vistack.compute.domain.aggregates import AggregateService
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.disk_actions import DiskActions
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.floating_ip_actions import FloatingIpActions
from vistack.compute.domain.floating_ip_proxy import FloatingIpProxy
from vistack.compute.domain.hosts import HostService
from vistack.compute.domain.image_precache import ImagePrecache
from vistack.compute.domain.image_proxy import ImageProxy
from vistack.compute.domain.instance_facts import InstanceFactsSource
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.migrations import MigrationService
from vistack.compute.domain.moves import MoveService
from vistack.compute.domain.network_proxy import NetworkProxy
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.security_group_proxy import SecurityGroupProxy
from vistack.compute.domain.server_extras import ServerExtras
from vistack.compute.domain.server_groups import ServerGroupService
from vistack.compute.domain.server_metadata import ServerMetadataService
from vistack.compute.domain.server_tags import ServerTagService
from vistack.compute.domain.servers import ServerService
from vistack.compute.domain.small_apis import SmallApis
from vistack.compute.domain.subresources import ServerSubResources
from vistack.compute.domain.suspend import SuspendService
from vistack.compute.domain.usage import UsageService
from vistack.compute.domain.volume_attach import VolumeAttachService
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import VolumePort
from vistack.compute.domain.volumes_proxy import SnapshotBackend, VolumeBackend, VolumeProxy


class Background(Protocol):
    """A service with background work: resumes what a restart interrupted, then runs."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


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
    #: Server tags (2.26).
    tags: ServerTagService
    #: Per-request lookups of the server views (tags, host_status, flavor extra specs).
    extras: ServerExtras
    #: `addFloatingIp` / `removeFloatingIp` (before 2.44).
    floating_ips: FloatingIpActions
    #: `POST /os-aggregates/{id}/images` (2.81; None without a vCenter to make templates in).
    precache: ImagePrecache | None
    #: `os-hosts` (before 2.43).
    hosts: HostService
    #: `/images` (before 2.36) and image metadata (before 2.39): Nova's proxy to Glance.
    image_proxy: ImageProxy
    #: `os-security-groups` / `os-security-group-rules` (before 2.36): the proxy to Neutron.
    security_groups: SecurityGroupProxy
    #: `os-networks` / `os-tenant-networks` reads (before 2.36).
    network_proxy: NetworkProxy
    #: `os-floating-ips` / `os-floating-ip-pools` (before 2.36).
    floating_ip_proxy: FloatingIpProxy
    #: Server groups (`os-server-groups`) and the suspend / resume actions.
    server_groups: ServerGroupService
    suspend: SuspendService
    #: Interfaces, security groups, diagnostics, consoles, admin actions, action events.
    subresources: ServerSubResources | None = None
    #: createImage, createBackup, rebuild, shelve and rescue (domain/disk_actions.py).
    disk: DiskActions | None = None
    #: Services with background work besides `servers` (resize, shelve, ...), in start order.
    background: tuple[Background, ...] = ()
    #: What the metadata service (`/metadata`) renders an instance's metadata from.
    instance_facts: InstanceFactsSource | None = None
    #: Resize, confirm/revert, cold and live migration (None: built without the moves).
    moves: MoveService | None = None
    #: The link to the block storage service (`connect` Cinder's `VolumePort` to it).
    volumes: VolumeLink | None = None
    #: `os-volume_attachments` (None: built without volume support).
    volume_attachments: VolumeAttachService | None = None
    #: `os-volumes` / `os-snapshots` (before 2.36): the proxy to Cinder.
    volume_proxy: VolumeProxy | None = None
    #: `os-server-password`, `os-instance_usage_audit_log`, `os-server-external-events`.
    small_apis: SmallApis | None = None

    def connect_block_storage(
        self,
        port: VolumePort | None,
        volumes: VolumeBackend | None = None,
        snapshots: SnapshotBackend | None = None,
    ) -> None:
        """Connect Cinder (None: disconnect): its `VolumePort` for attachments and boot from
        volume, its volume and snapshot services for Nova's proxies."""
        if self.volumes is not None:
            self.volumes.connect(port)
        if self.volume_proxy is not None:
            self.volume_proxy.connect(volumes, snapshots)

    def start(self) -> None:
        """Resume interrupted server jobs, then every other service's."""
        self.servers.start()
        for service in self.background:
            service.start()

    def stop(self) -> None:
        for service in reversed(self.background):
            service.stop()
        self.servers.stop()


async def compute_services(request: Request) -> ComputeServices:
    services: ComputeServices = request.app.state.compute
    return services


Services = Annotated[ComputeServices, Depends(compute_services)]


#: Where `compute_context` leaves the request's caller.
CONTEXT_KEY = "vistack.compute.context"


async def compute_context(
    request: Request, context: Annotated[RequestContext, Depends(authenticated_context)]
) -> RequestContext:
    """The caller, whose project must be the one a `/v2.1/{project_id}/...` URL names."""
    named = request.scope.get(URL_PROJECT_KEY)
    if named is not None and named != context.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{named}' doesn't match Context's "
            f"project_id '{context.project_id}'"
        )
    # Kept for the server views, which look up per caller what they show (server_views.py).
    request.scope.setdefault("state", {})[CONTEXT_KEY] = context
    return context


Context = Annotated[RequestContext, Depends(compute_context)]
