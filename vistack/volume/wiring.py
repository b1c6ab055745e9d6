"""Builds the volume services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

import socket

from vistack.common.bus import WorkQueue
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.drivers.bundle import Drivers
from vistack.image.api.deps import ImageServices
from vistack.volume.api.deps import VolumeServices
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain.actions import VolumeActions
from vistack.volume.domain.backend import BackendInfo
from vistack.volume.domain.nova_port import CinderVolumePort
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.snapshots import SnapshotService
from vistack.volume.domain.types import VolumeTypeService
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import VolumeWork


def build_volume_services(
    settings: Settings,
    database: Database,
    policy: PolicyEngine,
    bus: WorkQueue,
    drivers: Drivers | None,
    image: ImageServices | None,
) -> VolumeServices:
    """Without drivers (no vCenter) types, quotas and reads work; creates say why they cannot."""
    store = VolumeStore(database)
    config = settings.volume
    quotas = VolumeQuotas(store, config, policy)
    types = VolumeTypeService(store, policy, config.default_volume_type)
    work = None
    if drivers is not None:
        work = VolumeWork(store, drivers.volumes, config)
        work.register(bus)
    volumes = VolumeService(
        store,
        policy,
        config,
        quotas=quotas,
        types=types,
        images=image.images if image is not None else None,
        bus=bus if work is not None else None,
        work=work,
    )
    backend = BackendInfo(
        store,
        policy,
        config,
        drivers.volumes if drivers is not None else None,
        socket.gethostname(),
    )
    return VolumeServices(
        volumes=volumes,
        actions=VolumeActions(volumes),
        snapshots=SnapshotService(volumes),
        types=types,
        quotas=quotas,
        backend=backend,
        nova_port=CinderVolumePort(volumes, drivers.volumes if drivers is not None else None),
        work=work,
    )
