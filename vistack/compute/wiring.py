"""Builds the compute services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

from vistack.common.bus import WorkQueue
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.compute.api.deps import ComputeServices
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import destination
from vistack.compute.domain.aggregates import AggregateService
from vistack.compute.domain.boot_requests import BootRequests
from vistack.compute.domain.boot_volumes import ServerVolumes
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.config_drive import ConfigDrives
from vistack.compute.domain.disk_actions import build_disk_actions
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.floating_ip_actions import FloatingIpActions
from vistack.compute.domain.floating_ip_proxy import FloatingIpProxy
from vistack.compute.domain.group_placement import GroupPlacement
from vistack.compute.domain.host_hints import HostHints
from vistack.compute.domain.hosts import HostService
from vistack.compute.domain.image_precache import ImagePrecache
from vistack.compute.domain.image_proxy import ImageProxy
from vistack.compute.domain.instance_facts import InstanceFactsSource, load_vendor_data
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
from vistack.compute.domain.small_apis import build_small_apis
from vistack.compute.domain.subresources import build_sub_resources
from vistack.compute.domain.suspend import SuspendService
from vistack.compute.domain.usage import UsageService
from vistack.compute.domain.volume_attach import VolumeAttachService
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import VolumePort
from vistack.compute.domain.volumes_proxy import VolumeProxy
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
    volumes: VolumePort | None = None,
) -> ComputeServices:
    """Without drivers (no vCenter) flavors, key pairs and quotas work; servers cannot be built
    (there is no cluster to build them on) and say so. Without `volumes` (no Cinder) every
    volume operation answers that the block storage service is not available; Cinder's port
    may also be connected later (`ComputeServices.volumes.connect`)."""
    store = ComputeStore(database)
    link = VolumeLink(volumes)
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
    servers.boot_requests = BootRequests(link, image.images)
    if servers.work is not None and drivers is not None:
        servers.work.volumes = ServerVolumes(store, link, drivers)
    # Config drives and the metadata service render the same facts (instance_metadata.py).
    facts = InstanceFactsSource(
        store,
        network.networks,
        clusters.zone_of,
        settings.compute.default_availability_zone,
        settings.compute.dhcp_domain,
        load_vendor_data(settings.compute.vendordata_jsonfile_path),
    )
    aggregates = AggregateService(store, policy, clusters)
    precache = None
    if servers.work is not None:  # the build goes where an administrator said (2.74)
        servers.work.placement_filters.append(destination.narrow)
        servers.work.placement_filters.append(HostHints(store).narrow)
        templates = servers.work.templates
        precache = ImagePrecache(policy, bus, aggregates, clusters, image.images, templates)
    if servers.work is not None and drivers is not None:
        drives = ConfigDrives(store, drivers, facts, force=settings.compute.force_config_drive)
        servers.work.spec_hooks.append(drives.add_to_spec)
        servers.work.before_power_on.append(drives.before_power_on)
        servers.work.after_undo.append(drives.after_undo)
    server_groups, suspend, placement = _groups_and_suspend(
        store, policy, bus, quotas, servers, drivers
    )
    # Resize and migrations (moves.py): after the group placement filter, which they apply.
    moves = MoveService(
        store,
        policy,
        bus,
        drivers,
        work=servers.work,
        flavors=flavors,
        quotas=quotas,
        clusters=clusters,
    )
    if moves.work is not None and placement is not None:
        moves.work.after_move.append(placement.moved)  # DRS rules follow a moved member
    # createImage/createBackup, rebuild, shelve and rescue (domain/disk_actions.py).
    disk = build_disk_actions(
        store,
        policy,
        bus,
        drivers,
        servers=servers,
        images=image.images,
        image_data=image.data,
        networks=network.networks,
        clusters=clusters,
        quotas=quotas,
        keypairs=keypairs,
        shelved_offload_time=settings.compute.shelved_offload_time,
    )
    disk.snapshots.volumes.link = link  # createImage of volume-backed servers (Cinder snapshots)
    return ComputeServices(
        flavors,
        keypairs,
        quotas,
        clusters,
        servers,
        metadata,
        aggregates=aggregates,
        usage=UsageService(store, policy),
        migrations=MigrationService(policy, store),
        moves=moves,
        instance_facts=facts,
        subresources=build_sub_resources(store, policy, network.networks, drivers, servers.work),
        tags=ServerTagService(store, policy),
        extras=ServerExtras(store, policy, clusters),
        floating_ips=FloatingIpActions(store, policy, network.networks),
        precache=precache,
        hosts=HostService(store, policy, clusters),
        image_proxy=ImageProxy(image.images, quotas),
        security_groups=SecurityGroupProxy(network.networks),
        network_proxy=NetworkProxy(network.networks),
        floating_ip_proxy=FloatingIpProxy(network.networks),
        server_groups=server_groups,
        suspend=suspend,
        disk=disk,
        background=(suspend, moves, disk),
        volumes=link,
        volume_attachments=VolumeAttachService(store, policy, link, drivers, servers.work),
        volume_proxy=VolumeProxy(policy),
        small_apis=build_small_apis(store, policy, network.networks, drivers),
    )


def _groups_and_suspend(
    store: ComputeStore,
    policy: PolicyEngine,
    bus: WorkQueue,
    quotas: ComputeQuotas,
    servers: ServerService,
    drivers: Drivers | None,
) -> tuple[ServerGroupService, SuspendService, GroupPlacement | None]:
    """Server groups (their placement filter and DRS rule hooks on the build) and suspend."""
    groups = ServerGroupService(store, policy, quotas)
    servers.server_groups = groups
    work = servers.work
    placement = None
    if work is not None and drivers is not None:
        placement = GroupPlacement(store, drivers.compute)
        work.placement_filters.append(placement.narrow)
        work.spec_hooks.append(placement.hold_power_on)
        work.before_power_on.append(placement.before_power_on)
        work.after_undo.append(placement.after_undo)
        groups.remove_rules = placement.remove_rules
    compute = drivers.compute if drivers is not None else None
    return groups, SuspendService(store, policy, bus, work, compute), placement
