"""What every volume handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.web import authenticated_context
from vistack.volume.api.project_path import SCOPE_KEY as URL_PROJECT_KEY
from vistack.volume.domain.actions import VolumeActions
from vistack.volume.domain.attachment_service import AttachmentService
from vistack.volume.domain.backend import BackendInfo
from vistack.volume.domain.backup_jobs import BackupWork
from vistack.volume.domain.backup_records import BackupRecords
from vistack.volume.domain.backups import BackupService
from vistack.volume.domain.data_path import DataPath
from vistack.volume.domain.default_types import DefaultTypeService
from vistack.volume.domain.encryption import EncryptionService
from vistack.volume.domain.group_services import GroupServices
from vistack.volume.domain.manage import VolumeManage
from vistack.volume.domain.messages import MessageService
from vistack.volume.domain.nova_port import CinderVolumePort
from vistack.volume.domain.qos_specs import QosSpecService
from vistack.volume.domain.quota_classes import QuotaClassService
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.reimage_action import ReimageAction
from vistack.volume.domain.snapshots import SnapshotService
from vistack.volume.domain.transfers import TransferService
from vistack.volume.domain.types import VolumeTypeService
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import VolumeWork


@dataclass(frozen=True)
class VolumeServices:
    """The volume domain services, built once by the composition root."""

    volumes: VolumeService
    actions: VolumeActions
    snapshots: SnapshotService
    types: VolumeTypeService
    quotas: VolumeQuotas
    backend: BackendInfo
    #: Nova's way in (`vistack.compute.domain.volume_port.VolumePort`).
    nova_port: CinderVolumePort
    #: The attachments API (3.27) and user messages (3.3).
    attachment_api: AttachmentService
    messages: MessageService
    #: Volume transfers, QoS specs, volume type encryption specs.
    transfers: TransferService
    qos_specs: QosSpecService
    encryption: EncryptionService
    #: Managing existing disks (3.8); projects' default types (3.62).
    manage: VolumeManage
    default_types: DefaultTypeService
    #: The os-reimage action (3.68).
    reimage: ReimageAction
    #: Generic volume groups: group types, groups, group snapshots (3.11-3.38).
    groups: GroupServices
    #: Volume backups (their jobs are `backup_work`) and their export and import.
    backups: BackupService
    backup_records: BackupRecords
    #: Quota classes (`os-quota-class-sets`; the `default` one is every project's defaults).
    quota_classes: QuotaClassService
    #: The vCenter side (None without a vCenter).
    work: VolumeWork | None = None
    #: Upload to image, revert, in-use extend, disk moves (None without a vCenter).
    data_path: DataPath | None = None
    #: The data side of backups (None without a vCenter).
    backup_work: BackupWork | None = None

    def start(self, bus: WorkQueue) -> None:
        """Recover what a restart interrupted (see `VolumeWork.recover`); call once the bus
        runs."""
        if self.work is not None:
            self.work.recover(bus)
        if self.backup_work is not None:
            self.backup_work.recover(bus)
        self.groups.recover(bus)
        if self.data_path is not None:
            self.data_path.recover()
        if self.work is not None:
            self.reimage.recover()

    def sees_host(self, context: RequestContext) -> bool:
        """Whether views show `os-vol-host-attr:host` (administrators)."""
        return self.volumes.policy.check("volume_extension:volume_host_attribute", context, {})


async def volume_services(request: Request) -> VolumeServices:
    services: VolumeServices = request.app.state.volume
    return services


Services = Annotated[VolumeServices, Depends(volume_services)]


async def volume_context(
    request: Request, context: Annotated[RequestContext, Depends(authenticated_context)]
) -> RequestContext:
    """The caller, whose project must be the one `/v3/{project_id}/...` names (an admin may
    name any project: Cinder lets administrators work in other projects' URLs)."""
    named = request.scope.get(URL_PROJECT_KEY)
    if named is not None and named != context.project_id:
        services: VolumeServices = request.app.state.volume
        if not services.types.is_admin(context):
            raise BadRequest(
                f"Malformed request url: URL's project_id '{named}' doesn't match Context's "
                f"project_id '{context.project_id}'"
            )
    return context


Context = Annotated[RequestContext, Depends(volume_context)]
