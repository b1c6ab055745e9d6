"""Queries on the group tables (`group_tables.py`), called by the group domain with a
`VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from vistack.volume.db import status_rows
from vistack.volume.db.group_tables import (
    GroupRow,
    GroupSnapshotRow,
    GroupTypeRow,
    GroupTypeSpecRow,
    GroupVolumeTypeRow,
)
from vistack.volume.db.spec_rows import SpecRows
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import SnapshotRow, VolumeRow

# -- group types -----------------------------------------------------------------------------


def group_type(unit: VolumeUnit, type_id: str) -> GroupTypeRow | None:
    return unit.session.get(GroupTypeRow, type_id)


def group_type_named(unit: VolumeUnit, name: str) -> GroupTypeRow | None:
    return unit.session.scalars(select(GroupTypeRow).where(GroupTypeRow.name == name)).first()


def group_types(unit: VolumeUnit, *, public_only: bool) -> Sequence[GroupTypeRow]:
    query = select(GroupTypeRow).order_by(GroupTypeRow.created_at, GroupTypeRow.id)
    if public_only:
        query = query.where(GroupTypeRow.is_public.is_(True))
    return unit.session.scalars(query).all()


#: A group type's group specs (`GroupTypeSpecRow`).
GROUP_SPECS = SpecRows(GroupTypeSpecRow, "group_type_id")
group_specs = GROUP_SPECS.of
all_group_specs = GROUP_SPECS.all
set_group_specs = GROUP_SPECS.set
delete_group_spec = GROUP_SPECS.delete


def groups_of_type(unit: VolumeUnit, type_id: str) -> int:
    return int(
        unit.session.scalar(
            select(func.count(GroupRow.id)).where(GroupRow.group_type_id == type_id)
        )
        or 0
    )


# -- groups ----------------------------------------------------------------------------------


def group(unit: VolumeUnit, group_id: str, *, lock: bool = False) -> GroupRow | None:
    """The group; with `lock`, held until commit (`status_rows.one`)."""
    return status_rows.one(unit, GroupRow, group_id, lock=lock)


def groups(unit: VolumeUnit, project_id: str | None) -> Sequence[GroupRow]:
    return status_rows.oldest_first(unit, GroupRow, project_id=project_id)


def group_count(unit: VolumeUnit, project_id: str) -> int:
    return int(
        unit.session.scalar(
            select(func.count(GroupRow.id)).where(GroupRow.project_id == project_id)
        )
        or 0
    )


def set_group_status(
    unit: VolumeUnit, group_id: str, expected: Sequence[str], **values: object
) -> bool:
    """Change a group only if its status is one of `expected` (a conditional write)."""
    return status_rows.set_status(unit, GroupRow, group_id, expected, **values)


def group_volume_types(unit: VolumeUnit, group_id: str) -> list[str]:
    return list(
        unit.session.scalars(
            select(GroupVolumeTypeRow.volume_type_id)
            .where(GroupVolumeTypeRow.group_id == group_id)
            .order_by(GroupVolumeTypeRow.position)
        ).all()
    )


def all_group_volume_types(unit: VolumeUnit) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    rows = unit.session.scalars(
        select(GroupVolumeTypeRow).order_by(GroupVolumeTypeRow.position)
    ).all()
    for row in rows:
        out.setdefault(row.group_id, []).append(row.volume_type_id)
    return out


def add_group_volume_types(unit: VolumeUnit, group_id: str, type_ids: Sequence[str]) -> None:
    for position, type_id in enumerate(type_ids):
        unit.add(GroupVolumeTypeRow(group_id=group_id, volume_type_id=type_id, position=position))
    unit.flush()


def groups_using_volume_type(unit: VolumeUnit, type_id: str) -> int:
    return int(
        unit.session.scalar(
            select(func.count(GroupVolumeTypeRow.group_id)).where(
                GroupVolumeTypeRow.volume_type_id == type_id
            )
        )
        or 0
    )


def members(unit: VolumeUnit, group_id: str) -> Sequence[VolumeRow]:
    """The group's volumes, oldest first."""
    return status_rows.oldest_first(unit, VolumeRow, group_id=group_id)


def member_ids(unit: VolumeUnit) -> dict[str, list[str]]:
    """Every group's volume ids (for the 3.25 `volumes` field of a list)."""
    out: dict[str, list[str]] = {}
    rows = unit.session.execute(
        select(VolumeRow.group_id, VolumeRow.id)
        .where(VolumeRow.group_id.is_not(None))
        .order_by(VolumeRow.created_at, VolumeRow.id)
    ).all()
    for group_id, volume_id in rows:
        out.setdefault(str(group_id), []).append(str(volume_id))
    return out


# -- group snapshots -------------------------------------------------------------------------


def group_snapshot(unit: VolumeUnit, group_snapshot_id: str) -> GroupSnapshotRow | None:
    return unit.session.get(GroupSnapshotRow, group_snapshot_id)


def group_snapshots(
    unit: VolumeUnit, project_id: str | None, group_id: str | None = None
) -> Sequence[GroupSnapshotRow]:
    return status_rows.oldest_first(
        unit, GroupSnapshotRow, project_id=project_id, group_id=group_id
    )


def set_group_snapshot_status(
    unit: VolumeUnit, group_snapshot_id: str, expected: Sequence[str], **values: object
) -> bool:
    return status_rows.set_status(unit, GroupSnapshotRow, group_snapshot_id, expected, **values)


def snapshot_members(unit: VolumeUnit, group_snapshot_id: str) -> Sequence[SnapshotRow]:
    """The snapshots taken for the group snapshot, oldest first."""
    return status_rows.oldest_first(unit, SnapshotRow, group_snapshot_id=group_snapshot_id)


def groups_from_snapshot(unit: VolumeUnit, group_snapshot_id: str) -> Sequence[GroupRow]:
    return unit.session.scalars(
        select(GroupRow).where(GroupRow.group_snapshot_id == group_snapshot_id)
    ).all()
