"""Queries on servers and their actions (the compute domain calls these with its unit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update

from vistack.common.clock import utcnow
from vistack.compute.db import server_tags
from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerActionRow, ServerRow
from vistack.compute.domain.models import Server, ServerQuery

#: Sort keys a list may name → the column.
SORT_COLUMNS = {
    "created_at": ServerRow.created_at,
    "updated_at": ServerRow.updated_at,
    "display_name": ServerRow.name,
    "name": ServerRow.name,
    "uuid": ServerRow.id,
    "vm_state": ServerRow.vm_state,
    "task_state": ServerRow.task_state,
    "power_state": ServerRow.power_state,
    "launched_at": ServerRow.launched_at,
    "availability_zone": ServerRow.availability_zone,
    "image_ref": ServerRow.image_id,
    "host": ServerRow.cluster,
    "hostname": ServerRow.hostname,
    "project_id": ServerRow.project_id,
    "user_id": ServerRow.user_id,
}


def to_server(row: ServerRow) -> Server:
    return Server(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        name=row.name,
        hostname=row.hostname,
        description=row.description,
        flavor=dict(row.flavor),
        image_id=row.image_id,
        key_name=row.key_name,
        config_drive=row.config_drive,
        metadata=dict(row.metadata_items or {}),
        addresses=dict(row.addresses or {}),
        security_groups=list(row.security_groups or []),
        availability_zone=row.availability_zone,
        vm_state=row.vm_state,
        task_state=row.task_state,
        power_state=row.power_state,
        cluster=row.cluster,
        vm_host=row.vm_host,
        locked=row.locked,
        launched_at=row.launched_at,
        terminated_at=row.terminated_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        fault=row.fault,
        user_data=row.user_data,
        key_data=row.key_data,
        requested_networks=tuple(row.requested_networks or ()),
        access_ip_v4=row.access_ip_v4,
        access_ip_v6=row.access_ip_v6,
        locked_reason=row.locked_reason,
        system_metadata=dict(row.system_metadata or {}),
    )


def get(unit: ComputeUnit, server_id: str, *, deleted: bool = False) -> ServerRow | None:
    """The server (a deleted one only when `deleted`)."""
    row = unit.session.get(ServerRow, server_id)
    if row is None or (row.deleted_at is not None and not deleted):
        return None
    return row


def locked(unit: ComputeUnit, server_id: str) -> ServerRow | None:
    """The live server, row-locked to commit (state transitions read and write under it)."""
    query = (
        select(ServerRow)
        .where(ServerRow.id == server_id, ServerRow.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return unit.session.scalars(query).first()


def set_fields(unit: ComputeUnit, server_id: str, **values: Any) -> None:
    """Write some columns of a server (and its `updated_at`)."""
    values.setdefault("updated_at", utcnow())
    # A plain UPDATE: the ORM's session synchronisation (matching the statement against the
    # objects it holds) cost more than the statement itself.
    statement = update(ServerRow).where(ServerRow.id == server_id).values(**values)
    unit.session.execute(statement, execution_options={"synchronize_session": False})


def set_unless_deleting(unit: ComputeUnit, server_id: str, **values: Any) -> bool:
    """Write some columns unless a delete was asked (or the server is gone): one conditional
    UPDATE, so a delete committed between a read and this write is never overwritten (on
    SQLite a `FOR UPDATE` read locks nothing). False when nothing was written."""
    values.setdefault("updated_at", utcnow())
    statement = (
        update(ServerRow)
        .where(
            ServerRow.id == server_id,
            ServerRow.deleted_at.is_(None),
            or_(ServerRow.task_state.is_(None), ServerRow.task_state != "deleting"),
        )
        .values(**values)
    )
    result = unit.session.execute(statement, execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_if_task(unit: ComputeUnit, server_id: str, current_task: str, **values: Any) -> bool:
    """Write some columns only while the server's task is still `current_task` (a power job
    ending, which a delete may have replaced meanwhile). False when nothing was written."""
    values.setdefault("updated_at", utcnow())
    statement = (
        update(ServerRow)
        .where(ServerRow.id == server_id, ServerRow.task_state == current_task)
        .values(**values)
    )
    result = unit.session.execute(statement, execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def listing(unit: ComputeUnit, asked: ServerQuery, limit: int | None = None) -> list[ServerRow]:
    """Servers in the page's order, filtered in SQL where the filter is a column, at most
    `limit` of them (None: all that match, for a caller that filters the rest itself)."""
    query = select(ServerRow)
    if asked.project_id is not None:
        query = query.where(ServerRow.project_id == asked.project_id)
    if not asked.include_deleted:
        query = query.where(ServerRow.deleted_at.is_(None))
    if asked.vm_states is not None:
        query = query.where(ServerRow.vm_state.in_(asked.vm_states))
    if asked.image_id is not None:
        query = query.where(ServerRow.image_id == asked.image_id)
    if asked.cluster is not None:
        query = query.where(ServerRow.cluster == asked.cluster)
    if asked.changes_since is not None:
        query = query.where(ServerRow.updated_at >= asked.changes_since)
    if asked.changes_before is not None:
        query = query.where(ServerRow.updated_at <= asked.changes_before)
    if asked.locked is not None:
        query = query.where(ServerRow.locked.is_(asked.locked))
    tagged = server_tags.list_filter(
        tags=asked.tags,
        tags_any=asked.tags_any,
        not_tags=asked.not_tags,
        not_tags_any=asked.not_tags_any,
    )
    if tagged is not None:
        query = query.where(tagged)
    column = SORT_COLUMNS[asked.sort_key]
    descending = asked.sort_dir == "desc"
    if asked.marker is not None:
        marker = unit.session.get(ServerRow, asked.marker)
        if marker is not None:
            value = getattr(marker, column.key)
            after = column < value if descending else column > value
            tie = ServerRow.id < marker.id if descending else ServerRow.id > marker.id
            query = query.where(or_(after, and_(column == value, tie)))
    order = (column.desc(), ServerRow.id.desc()) if descending else (column, ServerRow.id)
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    return list(unit.session.scalars(query))


def marker_exists(unit: ComputeUnit, server_id: str, project_id: str | None) -> bool:
    row = unit.session.get(ServerRow, server_id)
    return row is not None and (project_id is None or row.project_id == project_id)


def live_in_build(unit: ComputeUnit, tasks: Sequence[str]) -> list[str]:
    """Servers a restart interrupted: building, or being deleted."""
    query = select(ServerRow.id).where(
        ServerRow.deleted_at.is_(None), ServerRow.task_state.in_(tasks)
    )
    return list(unit.session.scalars(query))


def settled(
    unit: ComputeUnit, *, before: datetime
) -> list[tuple[str, str, str | None, str | None]]:
    """(id, vm_state, cluster, vm_host) of the live, built servers with no task in progress,
    unchanged since `before`: what the power sync compares with vCenter."""
    query = select(ServerRow.id, ServerRow.vm_state, ServerRow.cluster, ServerRow.vm_host).where(
        ServerRow.updated_at < before,
        ServerRow.deleted_at.is_(None),
        ServerRow.task_state.is_(None),
        ServerRow.launched_at.is_not(None),
        ServerRow.vm_state.in_(("active", "stopped")),
    )
    return [(r[0], r[1], r[2], r[3]) for r in unit.session.execute(query)]


def settled_with_times(
    unit: ComputeUnit,
) -> list[tuple[str, str, str | None, str | None, datetime]]:
    """`settled` with no time bound, each with its `updated_at`: the watch-driven power sync
    judges the older ones on its picture and re-reads the VMs of the recent ones."""
    query = select(
        ServerRow.id, ServerRow.vm_state, ServerRow.cluster, ServerRow.vm_host, ServerRow.updated_at
    ).where(
        ServerRow.deleted_at.is_(None),
        ServerRow.task_state.is_(None),
        ServerRow.launched_at.is_not(None),
        ServerRow.vm_state.in_(("active", "stopped")),
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in unit.session.execute(query)]


def live_clusters(unit: ComputeUnit, server_ids: Sequence[str]) -> set[str]:
    """The clusters the live, placed servers among `server_ids` run in."""
    if not server_ids:
        return set()
    query = select(ServerRow.cluster).where(
        ServerRow.id.in_(list(server_ids)),
        ServerRow.deleted_at.is_(None),
        ServerRow.cluster.is_not(None),
    )
    return {str(cluster) for cluster in unit.session.scalars(query)}


def start_action(
    unit: ComputeUnit,
    server_id: str,
    action: str,
    *,
    request_id: str,
    user_id: str | None,
    project_id: str | None,
) -> None:
    unit.add(
        ServerActionRow(
            server_id=server_id,
            action=action,
            request_id=request_id,
            user_id=user_id,
            project_id=project_id,
            start_time=utcnow(),
        )
    )


def finish_action(unit: ComputeUnit, server_id: str, request_id: str, result: str) -> None:
    unit.session.execute(
        update(ServerActionRow)
        .where(ServerActionRow.server_id == server_id, ServerActionRow.request_id == request_id)
        .values(finish_time=utcnow(), result=result)
    )


def actions(unit: ComputeUnit, server_id: str) -> list[ServerActionRow]:
    query = (
        select(ServerActionRow)
        .where(ServerActionRow.server_id == server_id)
        .order_by(ServerActionRow.start_time.desc(), ServerActionRow.id.desc())
    )
    return list(unit.session.scalars(query))
