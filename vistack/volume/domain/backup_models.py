"""What the backup domain hands the API: the backup as a plain value, and Cinder's statuses
for backups and for the volumes and snapshots a backup job holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vistack.volume.db.backup_tables import BackupRow

# Backup statuses (Cinder's).
CREATING = "creating"
AVAILABLE = "available"
DELETING = "deleting"
RESTORING = "restoring"
ERROR = "error"
ERROR_DELETING = "error_deleting"
#: Where a plain delete may start.
DELETABLE = (AVAILABLE, ERROR)
#: What os-reset_status may set (Cinder allows these two).
RESETTABLE = (AVAILABLE, ERROR)

# What a backup job makes of its volume (and snapshot) while it runs.
VOLUME_BACKING_UP = "backing-up"
VOLUME_RESTORING = "restoring-backup"
VOLUME_ERROR_RESTORING = "error_restoring"
SNAPSHOT_BACKING_UP = "backing-up"

#: The container a backup goes to when none is named (Cinder's default for its stores).
DEFAULT_CONTAINER = "volumebackups"


@dataclass(frozen=True)
class Backup:
    id: str
    project_id: str
    user_id: str
    volume_id: str
    snapshot_id: str | None
    parent_id: str | None
    name: str | None
    description: str | None
    container: str
    availability_zone: str
    status: str
    fail_reason: str | None
    size_gb: int
    object_count: int
    is_incremental: bool
    has_dependent_backups: bool
    metadata: dict[str, str]
    data_timestamp: datetime
    created_at: datetime
    updated_at: datetime | None


def backup(row: BackupRow, *, has_children: bool) -> Backup:
    return Backup(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        volume_id=row.volume_id,
        snapshot_id=row.snapshot_id,
        parent_id=row.parent_id,
        name=row.name,
        description=row.description,
        container=row.container,
        availability_zone=row.availability_zone,
        status=row.status,
        fail_reason=row.fail_reason,
        size_gb=row.size_gb,
        object_count=row.object_count,
        is_incremental=row.is_incremental,
        has_dependent_backups=has_children,
        metadata=dict(row.metadata_items or {}),
        data_timestamp=row.data_timestamp,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
