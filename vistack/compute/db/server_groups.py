"""Queries on server groups and their members (the server group domain calls these).

A member row outlives its server's soft delete (server rows are kept, `deleted_at` set), so
every read of members joins the live servers: a deleted server is no member, as in Nova.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerGroupMemberRow, ServerGroupRow, ServerRow


def get(unit: ComputeUnit, group_id: str) -> ServerGroupRow | None:
    return unit.session.get(ServerGroupRow, group_id)


def listing(
    unit: ComputeUnit, project_id: str | None, *, limit: int | None, offset: int
) -> list[ServerGroupRow]:
    """Groups of `project_id` (None: every project's), oldest first, one page of them."""
    query = select(ServerGroupRow)
    if project_id is not None:
        query = query.where(ServerGroupRow.project_id == project_id)
    query = query.order_by(ServerGroupRow.created_at, ServerGroupRow.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(unit.session.scalars(query))


def count(unit: ComputeUnit, project_id: str) -> int:
    query = (
        select(func.count())
        .select_from(ServerGroupRow)
        .where(ServerGroupRow.project_id == project_id)
    )
    return int(unit.session.scalar(query) or 0)


def remove(unit: ComputeUnit, group_id: str) -> None:
    """Delete the group and its member rows (explicitly: SQLite may not cascade)."""
    unit.session.execute(
        delete(ServerGroupMemberRow).where(ServerGroupMemberRow.group_id == group_id)
    )
    unit.session.execute(delete(ServerGroupRow).where(ServerGroupRow.id == group_id))


def members(unit: ComputeUnit, group_ids: Sequence[str]) -> dict[str, list[str]]:
    """group id → the ids of its live members, in the order they joined (by creation)."""
    if not group_ids:
        return {}
    query = (
        select(ServerGroupMemberRow.group_id, ServerRow.id)
        .join(ServerRow, ServerRow.id == ServerGroupMemberRow.server_id)
        .where(ServerGroupMemberRow.group_id.in_(group_ids), ServerRow.deleted_at.is_(None))
        .order_by(ServerRow.created_at, ServerRow.id)
    )
    found: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
    for group_id, server_id in unit.session.execute(query):
        found[group_id].append(server_id)
    return found


def placed_members(unit: ComputeUnit, group_id: str) -> list[tuple[str, str | None]]:
    """(server id, cluster) of the group's live members (cluster None: not scheduled yet)."""
    query = (
        select(ServerRow.id, ServerRow.cluster)
        .join(ServerGroupMemberRow, ServerRow.id == ServerGroupMemberRow.server_id)
        .where(ServerGroupMemberRow.group_id == group_id, ServerRow.deleted_at.is_(None))
        .order_by(ServerRow.created_at, ServerRow.id)
    )
    return [(server_id, cluster) for server_id, cluster in unit.session.execute(query)]


def user_member_count(unit: ComputeUnit, group_id: str, user_id: str) -> int:
    """The group's live members created by `user_id` (Nova counts `server_group_members` per
    user in a group)."""
    query = (
        select(func.count())
        .select_from(ServerGroupMemberRow)
        .join(ServerRow, ServerRow.id == ServerGroupMemberRow.server_id)
        .where(
            ServerGroupMemberRow.group_id == group_id,
            ServerRow.user_id == user_id,
            ServerRow.deleted_at.is_(None),
        )
    )
    return int(unit.session.scalar(query) or 0)


def add_members(unit: ComputeUnit, group_id: str, server_ids: Sequence[str]) -> None:
    for server_id in server_ids:
        unit.session.add(ServerGroupMemberRow(server_id=server_id, group_id=group_id))
    unit.flush()


def group_of(unit: ComputeUnit, server_id: str) -> ServerGroupRow | None:
    """The group a server (live or being deleted) is a member of."""
    query = (
        select(ServerGroupRow)
        .join(ServerGroupMemberRow, ServerGroupRow.id == ServerGroupMemberRow.group_id)
        .where(ServerGroupMemberRow.server_id == server_id)
    )
    return unit.session.scalars(query).first()


def server_cluster(unit: ComputeUnit, server_id: str) -> str | None:
    row = unit.session.get(ServerRow, server_id)
    return row.cluster if row is not None else None
