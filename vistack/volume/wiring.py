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
from vistack.volume.domain.attachment_service import AttachmentService
from vistack.volume.domain.backend import BackendInfo
from vistack.volume.domain.backup_jobs import BackupWork
from vistack.volume.domain.backup_records import BackupRecords
from vistack.volume.domain.backup_store import BackupStore
from vistack.volume.domain.backups import BackupService
from vistack.volume.domain.data_path import build_data_path
from vistack.volume.domain.default_types import DefaultTypeService
from vistack.volume.domain.encryption import EncryptionService
from vistack.volume.domain.group_services import build_group_services
from vistack.volume.domain.manage import VolumeManage
from vistack.volume.domain.messages import MessageService
from vistack.volume.domain.nova_port import CinderVolumePort
from vistack.volume.domain.qos_specs import QosSpecService
from vistack.volume.domain.quota_classes import QuotaClassService
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.reimage import VolumeReimage
from vistack.volume.domain.reimage_action import ReimageAction
from vistack.volume.domain.snapshots import SnapshotService
from vistack.volume.domain.transfers import TransferService
from vistack.volume.domain.type_zones import zone_check
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
    encryption = EncryptionService(
        store, policy, types, drivers.volumes if drivers is not None else None
    )
    volumes.type_checks.append(encryption.check_type)
    volumes.type_checks.append(zone_check(config.default_availability_zone))
    backend = BackendInfo(
        store,
        policy,
        config,
        drivers.volumes if drivers is not None else None,
        socket.gethostname(),
    )
    data_path = None
    if drivers is not None:
        image_data = image.data if image is not None else None
        images = image.images if image is not None else None
        data_path = build_data_path(volumes, drivers, images, image_data, backend.host)
        data_path.register(bus)
    chunks = BackupStore(settings.volume_backup_path, max(1, config.backup_chunk_mb) * 2**20)
    backups = BackupService(volumes)
    backup_work = None
    if drivers is not None:
        backup_work = BackupWork(store, drivers.volumes, chunks, config)
        backup_work.register(bus)
    reimage = ReimageAction(
        store,
        VolumeReimage(volumes, drivers.volumes if drivers else None),
        bus if work is not None else None,
    )
    if work is not None:
        reimage.register(bus)
    return VolumeServices(
        volumes=volumes,
        actions=VolumeActions(volumes, data_path),
        snapshots=SnapshotService(volumes),
        types=types,
        quotas=quotas,
        backend=backend,
        nova_port=CinderVolumePort(volumes, drivers.volumes if drivers is not None else None),
        attachment_api=AttachmentService(volumes),
        messages=MessageService(store, policy),
        manage=VolumeManage(volumes, drivers.volumes if drivers else None, backend.host),
        default_types=DefaultTypeService(store, policy),
        reimage=reimage,
        transfers=TransferService(volumes),
        qos_specs=QosSpecService(store, policy, types),
        encryption=encryption,
        groups=build_group_services(
            store, policy, config, quotas=quotas, types=types, bus=bus, work=work
        ),
        work=work,
        data_path=data_path,
        backups=backups,
        backup_records=BackupRecords(store, backups, chunks),
        quota_classes=QuotaClassService(store, policy, quotas),
        backup_work=backup_work,
    )
