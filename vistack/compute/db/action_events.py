"""Queries on the steps of a server's actions (`compute_server_action_event`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from vistack.compute.db.lifecycle_tables import ServerActionEventRow
from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerActionRow


def action_of(unit: ComputeUnit, server_id: str, request_id: str) -> ServerActionRow | None:
    """The action a request started on a server (None: no such action)."""
    query = select(ServerActionRow).where(
        ServerActionRow.server_id == server_id, ServerActionRow.request_id == request_id
    )
    return unit.session.scalars(query).first()


def start_event(
    unit: ComputeUnit, action_id: int, event: str, *, host: str | None, at: datetime
) -> int:
    row = ServerActionEventRow(action_id=action_id, event=event, start_time=at, host=host)
    unit.add(row)
    return row.id


def finish_event(
    unit: ComputeUnit,
    event_id: int,
    *,
    result: str,
    at: datetime,
    traceback: str | None,
    details: str | None,
) -> None:
    unit.session.execute(
        update(ServerActionEventRow)
        .where(ServerActionEventRow.id == event_id)
        .values(finish_time=at, result=result, traceback=traceback, details=details)
    )


def events_of(unit: ComputeUnit, action_id: int) -> list[ServerActionEventRow]:
    """An action's events, the newest first (Nova's order)."""
    query = (
        select(ServerActionEventRow)
        .where(ServerActionEventRow.action_id == action_id)
        .order_by(ServerActionEventRow.start_time.desc(), ServerActionEventRow.id.desc())
    )
    return list(unit.session.scalars(query))
