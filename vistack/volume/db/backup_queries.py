"""Queries on the backups table, called by the backup domain with a `VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from vistack.volume.db.backup_tables import BackupRow
from vistack.volume.db.store import VolumeUnit


def backup(unit: VolumeUnit, backup_id: str) -> BackupRow | None:
    return unit.session.get(BackupRow, backup_id)


def backups(
    unit: VolumeUnit, project_id: str | None, volume_id: str | None = None
) -> Sequence[BackupRow]:
    """The project's backups (every project's with None), of one volume if given, oldest
    first."""
    query = select(BackupRow).order_by(BackupRow.created_at, BackupRow.id)
    if project_id is not None:
        query = query.where(BackupRow.project_id == project_id)
    if volume_id is not None:
        query = query.where(BackupRow.volume_id == volume_id)
    return unit.session.scalars(query).all()


def children(unit: VolumeUnit, backup_id: str) -> Sequence[BackupRow]:
    """The incremental backups made on top of `backup_id`."""
    return unit.session.scalars(select(BackupRow).where(BackupRow.parent_id == backup_id)).all()


def parents_with_children(unit: VolumeUnit, ids: Sequence[str]) -> set[str]:
    """Which of `ids` have incremental children (`has_dependent_backups`), in one query."""
    if not ids:
        return set()
    rows = unit.session.scalars(
        select(BackupRow.parent_id).where(BackupRow.parent_id.in_(list(ids))).distinct()
    ).all()
    return {str(r) for r in rows if r is not None}


def set_backup_status(
    unit: VolumeUnit, backup_id: str, expected: Sequence[str], **values: object
) -> bool:
    """Change a backup only if its status is one of `expected`; returns whether it changed."""
    result = unit.session.execute(
        update(BackupRow)
        .where(BackupRow.id == backup_id, BackupRow.status.in_(list(expected)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # Only backups are refreshed: a volume row the same transaction is writing (a volume made
    # from a backup claims it before commit) must keep its pending state.
    for held in list(unit.session.identity_map.values()):
        if isinstance(held, BackupRow):
            unit.session.expire(held)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def usage(unit: VolumeUnit, project_id: str) -> dict[str, int]:
    """What counts against the project's `backups` and `backup_gigabytes` quotas."""
    count, size = unit.session.execute(
        select(func.count(BackupRow.id), func.coalesce(func.sum(BackupRow.size_gb), 0)).where(
            BackupRow.project_id == project_id
        )
    ).one()
    return {"backups": int(count), "backup_gigabytes": int(size)}
