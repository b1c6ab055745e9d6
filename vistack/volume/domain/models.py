"""What the volume domain hands the API and Nova: plain values, never database rows.

Statuses are Cinder's, spelled as Cinder spells them; the sets below say which operations
each status allows, in one place, so every rule reads the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Volume statuses.
CREATING = "creating"
AVAILABLE = "available"
RESERVED = "reserved"
ATTACHING = "attaching"
IN_USE = "in-use"
DETACHING = "detaching"
DELETING = "deleting"
EXTENDING = "extending"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"

#: Every status an administrator may set with os-reset_status (Cinder's list).
RESETTABLE = (
    CREATING,
    AVAILABLE,
    RESERVED,
    ATTACHING,
    IN_USE,
    DETACHING,
    DELETING,
    EXTENDING,
    ERROR,
    ERROR_DELETING,
    ERROR_EXTENDING,
    "maintenance",
    "error_restoring",
    "downloading",
    "uploading",
    "retyping",
    "backing-up",
    "restoring-backup",
)
#: Where a plain delete may start (Cinder's list; the rest are transitional or attached).
DELETABLE = (AVAILABLE, ERROR, ERROR_EXTENDING, "error_restoring", "error_managing")

# attach_status values.
DETACHED = "detached"
ATTACHED = "attached"

# Snapshot statuses.
SNAP_CREATING = "creating"
SNAP_AVAILABLE = "available"
SNAP_DELETING = "deleting"
SNAP_ERROR = "error"
SNAP_ERROR_DELETING = "error_deleting"
SNAPSHOT_DELETABLE = (SNAP_AVAILABLE, SNAP_ERROR)
SNAPSHOT_RESETTABLE = (
    SNAP_CREATING,
    SNAP_AVAILABLE,
    SNAP_DELETING,
    SNAP_ERROR,
    SNAP_ERROR_DELETING,
)


@dataclass(frozen=True)
class Attachment:
    id: str
    volume_id: str
    server_id: str | None
    host_name: str | None
    device: str | None
    attach_status: str
    attached_at: datetime | None
    mode: str = "rw"


@dataclass(frozen=True)
class Volume:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size_gb: int
    status: str
    attach_status: str
    availability_zone: str
    volume_type_id: str
    volume_type_name: str
    bootable: bool
    readonly: bool | None
    multiattach: bool
    source_volid: str | None
    snapshot_id: str | None
    metadata: dict[str, str]
    image_metadata: dict[str, str] | None
    path: str | None
    datastore: str | None
    created_at: datetime
    updated_at: datetime | None
    attachments: tuple[Attachment, ...] = ()
    error_message: str | None = None
    #: The generic volume group it belongs to (3.13's `group_id`).
    group_id: str | None = None
    #: Cinder's (administrators see it): `migrating`, `success` or `error` for a move of an
    #: attached volume (`migrate_attached.py`), None otherwise.
    migration_status: str | None = None


@dataclass(frozen=True)
class Snapshot:
    id: str
    project_id: str
    user_id: str
    volume_id: str
    name: str | None
    description: str | None
    size_gb: int
    status: str
    progress: str
    metadata: dict[str, str]
    path: str | None
    created_at: datetime
    updated_at: datetime | None
    #: The group snapshot it was taken for (3.14's `group_snapshot_id`).
    group_snapshot_id: str | None = None


@dataclass(frozen=True)
class VolumeType:
    id: str
    name: str
    description: str | None
    is_public: bool
    extra_specs: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: The QoS spec the type carries (`qos-specs/{id}/associate`).
    qos_specs_id: str | None = None
