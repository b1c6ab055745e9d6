"""Generic volume groups as the domain hands them to the API: plain values, never rows, and
the statuses (Cinder's spellings) each operation may start from, stated once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vistack.volume.db.group_tables import GroupRow, GroupSnapshotRow, GroupTypeRow

# Group statuses (Cinder's GroupStatus).
G_CREATING = "creating"
G_AVAILABLE = "available"
G_DELETING = "deleting"
G_ERROR = "error"
G_ERROR_DELETING = "error_deleting"
G_UPDATING = "updating"
G_IN_USE = "in-use"
#: What reset_status (3.20) may set: every GroupStatus but `deleted`.
GROUP_RESETTABLE = (
    G_CREATING,
    G_AVAILABLE,
    G_DELETING,
    G_ERROR,
    G_ERROR_DELETING,
    G_UPDATING,
    G_IN_USE,
)
#: Where a delete may start (Cinder: available or error).
GROUP_DELETABLE = (G_AVAILABLE, G_ERROR)

# Group snapshot statuses (Cinder's GroupSnapshotStatus).
GS_CREATING = "creating"
GS_AVAILABLE = "available"
GS_DELETING = "deleting"
GS_ERROR = "error"
GS_ERROR_DELETING = "error_deleting"
GROUP_SNAPSHOT_RESETTABLE = (
    GS_CREATING,
    GS_AVAILABLE,
    GS_DELETING,
    GS_ERROR,
    GS_ERROR_DELETING,
    "updating",
)
GROUP_SNAPSHOT_DELETABLE = (GS_AVAILABLE, GS_ERROR)

#: Group specs that ask a backend for something a vSphere datastore does not do.
REPLICATION_SPEC = "consistent_group_replication_enabled"
CONSISTENT_SNAPSHOT_SPEC = "consistent_group_snapshot_enabled"


def spec_is_true(value: str | None) -> bool:
    """A capability spec (`<is> True`, or plain `True`) that asks for the capability."""
    if value is None:
        return False
    return value.strip().lower().removeprefix("<is>").strip() == "true"


@dataclass(frozen=True)
class GroupType:
    id: str
    name: str
    description: str | None
    is_public: bool
    group_specs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    id: str
    project_id: str
    name: str | None
    description: str | None
    status: str
    availability_zone: str
    group_type_id: str
    volume_type_ids: tuple[str, ...]
    volume_ids: tuple[str, ...]
    group_snapshot_id: str | None
    source_group_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class GroupSnapshot:
    id: str
    project_id: str
    group_id: str
    group_type_id: str
    name: str | None
    description: str | None
    status: str
    created_at: datetime


def group_type(row: GroupTypeRow, specs: dict[str, str]) -> GroupType:
    return GroupType(row.id, row.name, row.description, row.is_public, dict(specs))


def group(row: GroupRow, type_ids: list[str], volume_ids: list[str]) -> Group:
    return Group(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        status=row.status,
        availability_zone=row.availability_zone,
        group_type_id=row.group_type_id,
        volume_type_ids=tuple(type_ids),
        volume_ids=tuple(volume_ids),
        group_snapshot_id=row.group_snapshot_id,
        source_group_id=row.source_group_id,
        created_at=row.created_at,
    )


def group_snapshot(row: GroupSnapshotRow) -> GroupSnapshot:
    return GroupSnapshot(
        id=row.id,
        project_id=row.project_id,
        group_id=row.group_id,
        group_type_id=row.group_type_id,
        name=row.name,
        description=row.description,
        status=row.status,
        created_at=row.created_at,
    )
