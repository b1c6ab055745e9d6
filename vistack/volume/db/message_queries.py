"""Queries on the user messages table, called by `domain/messages.py` with a `VolumeUnit`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from vistack.volume.db.message_tables import VolumeMessageRow
from vistack.volume.db.store import VolumeUnit


def message(unit: VolumeUnit, message_id: str) -> VolumeMessageRow | None:
    return unit.session.get(VolumeMessageRow, message_id)


def messages(unit: VolumeUnit, project_id: str | None, now: datetime) -> Sequence[VolumeMessageRow]:
    """The project's unexpired messages (every project's with None), oldest first."""
    query = (
        select(VolumeMessageRow)
        .where(VolumeMessageRow.expires_at > now)
        .order_by(VolumeMessageRow.created_at, VolumeMessageRow.id)
    )
    if project_id is not None:
        query = query.where(VolumeMessageRow.project_id == project_id)
    return unit.session.scalars(query).all()


def prune(unit: VolumeUnit, now: datetime) -> int:
    """Delete every message past its `expires_at`; returns how many went."""
    result = unit.session.execute(
        delete(VolumeMessageRow)
        .where(VolumeMessageRow.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
