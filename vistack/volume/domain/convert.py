"""Rows to the domain's values (rows never leave a transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from vistack.volume.db.tables import SnapshotRow, VolumeAttachmentRow, VolumeRow, VolumeTypeRow
from vistack.volume.domain.models import Attachment, Snapshot, Volume, VolumeType


def attachment(row: VolumeAttachmentRow) -> Attachment:
    return Attachment(
        id=row.id,
        volume_id=row.volume_id,
        server_id=row.server_id,
        host_name=row.host_name,
        device=row.device,
        attach_status=row.attach_status,
        attached_at=row.attached_at,
        mode=row.mode,
    )


def volume(
    row: VolumeRow, type_name: str, attachments: Sequence[VolumeAttachmentRow] = ()
) -> Volume:
    return Volume(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        name=row.name,
        description=row.description,
        size_gb=row.size_gb,
        status=row.status,
        attach_status=row.attach_status,
        availability_zone=row.availability_zone,
        volume_type_id=row.volume_type_id,
        volume_type_name=type_name,
        bootable=row.bootable,
        readonly=row.readonly,
        multiattach=row.multiattach,
        source_volid=row.source_volid,
        snapshot_id=row.snapshot_id,
        metadata=dict(row.metadata_items or {}),
        image_metadata=dict(row.image_metadata) if row.image_metadata is not None else None,
        path=row.path,
        datastore=row.datastore,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attachments=tuple(attachment(a) for a in attachments),
        error_message=row.error_message,
        group_id=row.group_id,
        migration_status=row.migration_status,
    )


def snapshot(row: SnapshotRow) -> Snapshot:
    return Snapshot(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        volume_id=row.volume_id,
        name=row.name,
        description=row.description,
        size_gb=row.size_gb,
        status=row.status,
        progress=row.progress,
        metadata=dict(row.metadata_items or {}),
        path=row.path,
        created_at=row.created_at,
        updated_at=row.updated_at,
        group_snapshot_id=row.group_snapshot_id,
    )


def volume_type(
    row: VolumeTypeRow, specs: dict[str, str], qos_specs_id: str | None = None
) -> VolumeType:
    return VolumeType(
        id=row.id,
        name=row.name,
        description=row.description,
        is_public=row.is_public,
        extra_specs=dict(specs),
        created_at=row.created_at,
        updated_at=row.updated_at,
        qos_specs_id=qos_specs_id,
    )
