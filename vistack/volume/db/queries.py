"""Queries on Cinder's tables, called by the domain with a `VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select

from vistack.volume.db import status_rows
from vistack.volume.db.spec_rows import SpecRows
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import (
    SnapshotRow,
    VolumeAttachmentRow,
    VolumeQuotaRow,
    VolumeRow,
    VolumeTypeAccessRow,
    VolumeTypeExtraSpecRow,
    VolumeTypeRow,
)

# -- volumes ---------------------------------------------------------------------------------


def volume(unit: VolumeUnit, volume_id: str, *, lock: bool = False) -> VolumeRow | None:
    """The volume; with `lock`, held until commit (`status_rows.one`)."""
    return status_rows.one(unit, VolumeRow, volume_id, lock=lock)


def volumes(unit: VolumeUnit, project_id: str | None) -> Sequence[VolumeRow]:
    """Every volume of the project (every project's with None), oldest first."""
    return status_rows.oldest_first(unit, VolumeRow, project_id=project_id)


def set_volume_status(
    unit: VolumeUnit, volume_id: str, expected: Sequence[str], **values: object
) -> bool:
    """Change a volume only if its status is one of `expected` (`status_rows.set_status`)."""
    return status_rows.set_status(unit, VolumeRow, volume_id, expected, **values)


def usage(unit: VolumeUnit, project_id: str) -> dict[str, int]:
    """What counts against the project's quota: volumes, snapshots, and the gigabytes of both."""
    count, size = unit.session.execute(
        select(func.count(VolumeRow.id), func.coalesce(func.sum(VolumeRow.size_gb), 0)).where(
            VolumeRow.project_id == project_id
        )
    ).one()
    snaps, snap_size = unit.session.execute(
        select(func.count(SnapshotRow.id), func.coalesce(func.sum(SnapshotRow.size_gb), 0)).where(
            SnapshotRow.project_id == project_id
        )
    ).one()
    return {
        "volumes": int(count),
        "snapshots": int(snaps),
        "gigabytes": int(size) + int(snap_size),
    }


def datastore_allocated(unit: VolumeUnit) -> dict[str, int]:
    """Gigabytes of volumes per datastore (the pools' `allocated_capacity_gb`)."""
    rows = unit.session.execute(
        select(VolumeRow.datastore, func.sum(VolumeRow.size_gb))
        .where(VolumeRow.datastore.is_not(None))
        .group_by(VolumeRow.datastore)
    ).all()
    return {str(ds): int(size or 0) for ds, size in rows}


def totals_by_project(unit: VolumeUnit) -> dict[str, list[int]]:
    """[volumes, their GB, snapshots, their GB] per project (`os-hosts/{host}`)."""
    out: dict[str, list[int]] = {}
    for project, count, size in unit.session.execute(
        select(
            VolumeRow.project_id, func.count(VolumeRow.id), func.sum(VolumeRow.size_gb)
        ).group_by(VolumeRow.project_id)
    ).all():
        out.setdefault(str(project), [0, 0, 0, 0])[0:2] = [int(count), int(size or 0)]
    for project, count, size in unit.session.execute(
        select(
            SnapshotRow.project_id, func.count(SnapshotRow.id), func.sum(SnapshotRow.size_gb)
        ).group_by(SnapshotRow.project_id)
    ).all():
        out.setdefault(str(project), [0, 0, 0, 0])[2:4] = [int(count), int(size or 0)]
    return out


# -- attachments -----------------------------------------------------------------------------


def attachment(unit: VolumeUnit, attachment_id: str) -> VolumeAttachmentRow | None:
    return unit.session.get(VolumeAttachmentRow, attachment_id)


def attachments_of_volume(unit: VolumeUnit, volume_id: str) -> Sequence[VolumeAttachmentRow]:
    return unit.session.scalars(
        select(VolumeAttachmentRow)
        .where(VolumeAttachmentRow.volume_id == volume_id)
        .order_by(VolumeAttachmentRow.created_at, VolumeAttachmentRow.id)
    ).all()


def attachments_of_volumes(
    unit: VolumeUnit, volume_ids: Sequence[str]
) -> dict[str, list[VolumeAttachmentRow]]:
    out: dict[str, list[VolumeAttachmentRow]] = {}
    if not volume_ids:
        return out
    rows = unit.session.scalars(
        select(VolumeAttachmentRow)
        .where(VolumeAttachmentRow.volume_id.in_(list(volume_ids)))
        .order_by(VolumeAttachmentRow.created_at, VolumeAttachmentRow.id)
    ).all()
    for row in rows:
        out.setdefault(row.volume_id, []).append(row)
    return out


def attachments_of_server(unit: VolumeUnit, server_id: str) -> Sequence[VolumeAttachmentRow]:
    return unit.session.scalars(
        select(VolumeAttachmentRow)
        .where(VolumeAttachmentRow.server_id == server_id)
        .order_by(VolumeAttachmentRow.created_at, VolumeAttachmentRow.id)
    ).all()


# -- snapshots -------------------------------------------------------------------------------


def snapshot(unit: VolumeUnit, snapshot_id: str) -> SnapshotRow | None:
    return unit.session.get(SnapshotRow, snapshot_id)


def snapshots(
    unit: VolumeUnit, project_id: str | None, volume_id: str | None = None
) -> Sequence[SnapshotRow]:
    return status_rows.oldest_first(unit, SnapshotRow, project_id=project_id, volume_id=volume_id)


def set_snapshot_status(
    unit: VolumeUnit, snapshot_id: str, expected: Sequence[str], **values: object
) -> bool:
    return status_rows.set_status(unit, SnapshotRow, snapshot_id, expected, **values)


# -- types -----------------------------------------------------------------------------------


def volume_type(unit: VolumeUnit, type_id: str) -> VolumeTypeRow | None:
    return unit.session.get(VolumeTypeRow, type_id)


def volume_type_named(unit: VolumeUnit, name: str) -> VolumeTypeRow | None:
    return unit.session.scalars(select(VolumeTypeRow).where(VolumeTypeRow.name == name)).first()


def volume_types(unit: VolumeUnit, project_id: str | None) -> Sequence[VolumeTypeRow]:
    """Public types plus the private ones `project_id` was given (every type with None)."""
    query = select(VolumeTypeRow).order_by(VolumeTypeRow.name)
    if project_id is not None:
        granted = select(VolumeTypeAccessRow.type_id).where(
            VolumeTypeAccessRow.project_id == project_id
        )
        query = query.where(or_(VolumeTypeRow.is_public.is_(True), VolumeTypeRow.id.in_(granted)))
    return unit.session.scalars(query).all()


#: A volume type's extra specs (`VolumeTypeExtraSpecRow`).
EXTRA_SPECS = SpecRows(VolumeTypeExtraSpecRow, "type_id")
extra_specs = EXTRA_SPECS.of
all_extra_specs = EXTRA_SPECS.all
set_extra_specs = EXTRA_SPECS.set
delete_extra_spec = EXTRA_SPECS.delete


def type_access(unit: VolumeUnit, type_id: str) -> list[str]:
    return list(
        unit.session.scalars(
            select(VolumeTypeAccessRow.project_id)
            .where(VolumeTypeAccessRow.type_id == type_id)
            .order_by(VolumeTypeAccessRow.project_id)
        ).all()
    )


def type_access_row(unit: VolumeUnit, type_id: str, project_id: str) -> VolumeTypeAccessRow | None:
    return unit.session.get(VolumeTypeAccessRow, (type_id, project_id))


def volumes_of_type(unit: VolumeUnit, type_id: str) -> int:
    return int(
        unit.session.scalar(
            select(func.count(VolumeRow.id)).where(VolumeRow.volume_type_id == type_id)
        )
        or 0
    )


# -- quotas ----------------------------------------------------------------------------------


def quota_limits(unit: VolumeUnit, project_id: str) -> dict[str, int]:
    rows = unit.session.scalars(
        select(VolumeQuotaRow).where(VolumeQuotaRow.project_id == project_id)
    ).all()
    return {row.resource: row.hard_limit for row in rows}


def set_quota_limit(unit: VolumeUnit, project_id: str, resource: str, limit: int) -> None:
    row = unit.session.get(VolumeQuotaRow, (project_id, resource))
    if row is None:
        unit.add(VolumeQuotaRow(project_id=project_id, resource=resource, hard_limit=limit))
    else:
        row.hard_limit = limit
        unit.flush()


def delete_quota_limits(unit: VolumeUnit, project_id: str) -> None:
    unit.session.execute(delete(VolumeQuotaRow).where(VolumeQuotaRow.project_id == project_id))
