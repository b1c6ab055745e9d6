"""Queries on Cinder's tables, called by the domain with a `VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update

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
    """The volume; with `lock`, held until commit so that state changes of one volume
    serialise. The lock is a no-op UPDATE first: on MariaDB and PostgreSQL it takes the row
    lock, and on SQLite it makes this transaction the writer before it reads (a read first
    would see a snapshot a concurrent writer may have made stale)."""
    if lock:
        unit.session.execute(
            update(VolumeRow)
            .where(VolumeRow.id == volume_id)
            .values(updated_at=VolumeRow.updated_at)
            .execution_options(synchronize_session=False)
        )
    query = select(VolumeRow).where(VolumeRow.id == volume_id)
    if lock:
        query = query.with_for_update()
    return unit.session.scalars(query).first()


def volumes(unit: VolumeUnit, project_id: str | None) -> Sequence[VolumeRow]:
    """Every volume of the project (every project's with None), oldest first."""
    query = select(VolumeRow).order_by(VolumeRow.created_at, VolumeRow.id)
    if project_id is not None:
        query = query.where(VolumeRow.project_id == project_id)
    return unit.session.scalars(query).all()


def set_volume_status(
    unit: VolumeUnit, volume_id: str, expected: Sequence[str], **values: object
) -> bool:
    """Change a volume only if its status is one of `expected` (a conditional write: two
    requests racing on one volume cannot both win). Returns whether it changed."""
    result = unit.session.execute(
        update(VolumeRow)
        .where(VolumeRow.id == volume_id, VolumeRow.status.in_(list(expected)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    unit.session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    query = select(SnapshotRow).order_by(SnapshotRow.created_at, SnapshotRow.id)
    if project_id is not None:
        query = query.where(SnapshotRow.project_id == project_id)
    if volume_id is not None:
        query = query.where(SnapshotRow.volume_id == volume_id)
    return unit.session.scalars(query).all()


def set_snapshot_status(
    unit: VolumeUnit, snapshot_id: str, expected: Sequence[str], **values: object
) -> bool:
    result = unit.session.execute(
        update(SnapshotRow)
        .where(SnapshotRow.id == snapshot_id, SnapshotRow.status.in_(list(expected)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    unit.session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
