"""Queries behind Nova's quotas: the stored limits (per project, and per quota class under a
reserved project id) and the usage they are checked against, counted live from the tables
(Nova counts too; there is no usage table to drift)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ComputeQuotaRow, KeypairRow, ServerGroupRow, ServerRow


@dataclass(frozen=True)
class ServerUsage:
    """What a project's live (not deleted) servers hold."""

    instances: int = 0
    cores: int = 0
    ram: int = 0


def limits(unit: ComputeUnit, owner: str) -> dict[str, int]:
    """The stored limits of `owner` (a project id, or a quota class's reserved id)."""
    query = select(ComputeQuotaRow.resource, ComputeQuotaRow.hard_limit).where(
        ComputeQuotaRow.project_id == owner
    )
    return {resource: int(limit) for resource, limit in unit.session.execute(query)}


def store_limits(unit: ComputeUnit, owner: str, values: Mapping[str, int]) -> None:
    """Create or overwrite `owner`'s limits for the resources of `values`."""
    for resource, limit in values.items():
        row = unit.session.get(ComputeQuotaRow, (owner, resource))
        if row is None:
            unit.add(ComputeQuotaRow(project_id=owner, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    unit.flush()


def forget_limits(unit: ComputeUnit, owner: str) -> None:
    unit.session.execute(delete(ComputeQuotaRow).where(ComputeQuotaRow.project_id == owner))


def server_usage(unit: ComputeUnit, project_id: str) -> ServerUsage:
    query = select(
        func.count(ServerRow.id),
        func.coalesce(func.sum(ServerRow.vcpus), 0),
        func.coalesce(func.sum(ServerRow.memory_mb), 0),
    ).where(ServerRow.project_id == project_id, ServerRow.deleted_at.is_(None))
    instances, cores, ram = unit.session.execute(query).one()
    return ServerUsage(int(instances), int(cores), int(ram))


def keypair_count(unit: ComputeUnit, user_id: str) -> int:
    query = select(func.count()).select_from(KeypairRow).where(KeypairRow.user_id == user_id)
    return int(unit.session.scalar(query) or 0)


def server_group_count(unit: ComputeUnit, project_id: str) -> int:
    query = (
        select(func.count())
        .select_from(ServerGroupRow)
        .where(ServerGroupRow.project_id == project_id)
    )
    return int(unit.session.scalar(query) or 0)
