"""Queries on volume transfers, called by the domain with a `VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import SnapshotRow
from vistack.volume.db.transfer_tables import VolumeTransferRow


def transfer(unit: VolumeUnit, transfer_id: str) -> VolumeTransferRow | None:
    return unit.session.get(VolumeTransferRow, transfer_id)


def transfers(unit: VolumeUnit, project_id: str | None) -> Sequence[VolumeTransferRow]:
    """The project's open transfers (every project's with None), oldest first."""
    query = select(VolumeTransferRow).order_by(VolumeTransferRow.created_at, VolumeTransferRow.id)
    if project_id is not None:
        query = query.where(VolumeTransferRow.project_id == project_id)
    return unit.session.scalars(query).all()


def transfer_of_volume(unit: VolumeUnit, volume_id: str) -> VolumeTransferRow | None:
    return unit.session.scalars(
        select(VolumeTransferRow).where(VolumeTransferRow.volume_id == volume_id)
    ).first()


def move_snapshots(unit: VolumeUnit, volume_id: str, project_id: str, user_id: str) -> int:
    """Give every snapshot of the volume to `project_id`; returns how many moved."""
    result = unit.session.execute(
        update(SnapshotRow)
        .where(SnapshotRow.volume_id == volume_id)
        .values(project_id=project_id, user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    unit.session.expire_all()
    return int(result.rowcount)  # type: ignore[attr-defined]
