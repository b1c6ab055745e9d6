"""The servers simple tenant usage bills: those that ran during a window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerRow


def active_in(
    unit: ComputeUnit, start: datetime, stop: datetime, project_id: str | None = None
) -> list[ServerRow]:
    """Servers launched before `stop` and not ended (terminated, else deleted) by `start`,
    deleted ones included, oldest first; Nova's "active by window". A server never launched
    (its build failed) ran for no time and is left out."""
    ended = func.coalesce(ServerRow.terminated_at, ServerRow.deleted_at)
    query = (
        select(ServerRow)
        .where(
            ServerRow.launched_at.is_not(None),
            ServerRow.launched_at < stop,
            or_(ended.is_(None), ended > start),
        )
        .order_by(ServerRow.created_at, ServerRow.id)
    )
    if project_id is not None:
        query = query.where(ServerRow.project_id == project_id)
    return list(unit.session.scalars(query))
