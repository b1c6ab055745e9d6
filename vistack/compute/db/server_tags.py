"""Queries on server tags (`compute_server_tag`), and the list filters on them.

Tags are compared exactly in Python after the database matched them: MariaDB's collation pads
trailing spaces, so `"a "` and `"a"` would otherwise be one tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, delete, exists, not_, or_, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerRow, ServerTagRow


def of_server(unit: ComputeUnit, server_id: str) -> list[str]:
    """The server's tags, sorted (Nova answers them in a stable order)."""
    query = select(ServerTagRow.tag).where(ServerTagRow.server_id == server_id)
    return sorted(unit.session.scalars(query))


def of_servers(unit: ComputeUnit, server_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each listed server's tags in one query (a page of servers renders with one read)."""
    out: dict[str, list[str]] = {server_id: [] for server_id in server_ids}
    if not server_ids:
        return out
    query = select(ServerTagRow.server_id, ServerTagRow.tag).where(
        ServerTagRow.server_id.in_(list(server_ids))
    )
    for server_id, tag in unit.session.execute(query):
        out[server_id].append(tag)
    return {server_id: sorted(tags) for server_id, tags in out.items()}


def add(unit: ComputeUnit, server_id: str, tags: Iterable[str]) -> None:
    for tag in tags:
        unit.session.add(ServerTagRow(server_id=server_id, tag=tag))
    unit.flush()


def remove(unit: ComputeUnit, server_id: str, tag: str) -> None:
    unit.session.execute(
        delete(ServerTagRow).where(ServerTagRow.server_id == server_id, ServerTagRow.tag == tag)
    )


def clear(unit: ComputeUnit, server_id: str) -> None:
    unit.session.execute(delete(ServerTagRow).where(ServerTagRow.server_id == server_id))


def _has(tag: str) -> ColumnElement[bool]:
    return exists().where(ServerTagRow.server_id == ServerRow.id, ServerTagRow.tag == tag)


def _has_any(tags: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(ServerTagRow.server_id == ServerRow.id, ServerTagRow.tag.in_(tags))


def list_filter(
    *,
    tags: Sequence[str] = (),
    tags_any: Sequence[str] = (),
    not_tags: Sequence[str] = (),
    not_tags_any: Sequence[str] = (),
) -> ColumnElement[bool] | None:
    """Nova's four tag filters as one SQL condition on `ServerRow` (None: no tag filter).

    `tags` every one of them; `tags-any` at least one; `not-tags` not every one of them;
    `not-tags-any` none of them.
    """
    conditions: list[ColumnElement[bool]] = []
    if tags:
        conditions.append(and_(*(_has(tag) for tag in tags)))
    if tags_any:
        conditions.append(_has_any(tags_any))
    if not_tags:
        conditions.append(or_(*(not_(_has(tag)) for tag in not_tags)))
    if not_tags_any:
        conditions.append(not_(_has_any(not_tags_any)))
    return and_(*conditions) if conditions else None
