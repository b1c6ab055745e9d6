"""Queries on Nova's services (`compute_service`) and on what the servers of each cluster use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from vistack.common.clock import utcnow
from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ComputeProjectLockRow, ComputeServiceRow, ServerRow

#: The counter row service numbers are drawn from: a `compute_project_lock` row whose
#: generation is the last number handed out, so a deleted service's number is never given again
#: (max+1 would reuse the highest). The key cannot be a Keystone project id.
NUMBER_COUNTER = "__compute_service_number__"


@dataclass(frozen=True)
class ClusterUsage:
    """What a cluster's live servers were given (their flavors' sizes)."""

    servers: int = 0
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0


def services(unit: ComputeUnit) -> list[ComputeServiceRow]:
    """Every service, by number."""
    return list(unit.session.scalars(select(ComputeServiceRow).order_by(ComputeServiceRow.number)))


def by_number(unit: ComputeUnit, number: int) -> ComputeServiceRow | None:
    query = select(ComputeServiceRow).where(ComputeServiceRow.number == number)
    return unit.session.scalars(query).first()


def by_uuid(unit: ComputeUnit, service_uuid: str) -> ComputeServiceRow | None:
    return unit.session.get(ComputeServiceRow, service_uuid)


def by_host(unit: ComputeUnit, binary: str, host: str) -> ComputeServiceRow | None:
    query = select(ComputeServiceRow).where(
        ComputeServiceRow.binary == binary, ComputeServiceRow.host == host
    )
    return unit.session.scalars(query).first()


def host_known(unit: ComputeUnit, host: str) -> bool:
    query = select(func.count()).where(ComputeServiceRow.host == host)
    return bool(unit.session.scalar(query))


def next_number(unit: ComputeUnit) -> int:
    """A number no service has had: bumps the counter row (locking it to commit, which
    serialises registrations across controllers)."""
    unit.lock_project(NUMBER_COUNTER)
    counter = unit.session.get(ComputeProjectLockRow, NUMBER_COUNTER, populate_existing=True)
    assert counter is not None
    highest = unit.session.scalar(select(func.max(ComputeServiceRow.number))) or 0
    if counter.generation <= highest:  # rows older than the counter
        counter.generation = highest + 1
        unit.flush()
    return int(counter.generation)


def add(unit: ComputeUnit, binary: str, host: str) -> ComputeServiceRow:
    """Register a service under a new number.

    :raises Collision: another controller registered (binary, host) first.
    """
    now = utcnow()
    row = ComputeServiceRow(
        id=str(uuid.uuid4()),
        number=next_number(unit),
        binary=binary,
        host=host,
        disabled=False,
        disabled_reason=None,
        forced_down=False,
        created_at=now,
        updated_at=now,
    )
    unit.add(row)
    return row


def set_status(
    unit: ComputeUnit, row: ComputeServiceRow, *, disabled: bool, reason: str | None
) -> None:
    row.disabled = disabled
    row.disabled_reason = reason
    row.updated_at = utcnow()
    unit.flush()


def set_forced_down(unit: ComputeUnit, row: ComputeServiceRow, forced_down: bool) -> None:
    row.forced_down = forced_down
    row.updated_at = utcnow()
    unit.flush()


def touch(unit: ComputeUnit, rows: list[ComputeServiceRow]) -> None:
    """Mark services as seen running now (their `updated_at`, Nova's heartbeat time)."""
    now = utcnow()
    for row in rows:
        row.updated_at = now
    unit.flush()


def remove(unit: ComputeUnit, row: ComputeServiceRow) -> None:
    unit.delete(row)


def usage_by_cluster(unit: ComputeUnit) -> dict[str, ClusterUsage]:
    """Each cluster's live servers and their flavors' sizes summed."""
    query = (
        select(
            ServerRow.cluster,
            func.count(ServerRow.id),
            func.coalesce(func.sum(ServerRow.vcpus), 0),
            func.coalesce(func.sum(ServerRow.memory_mb), 0),
            func.coalesce(func.sum(ServerRow.root_gb), 0),
        )
        .where(ServerRow.deleted_at.is_(None), ServerRow.cluster.is_not(None))
        .group_by(ServerRow.cluster)
    )
    return {
        str(cluster): ClusterUsage(int(n), int(vcpus), int(memory), int(disk))
        for cluster, n, vcpus, memory, disk in unit.session.execute(query)
    }


def servers_on(unit: ComputeUnit, cluster: str) -> list[tuple[str, str]]:
    """(name, id) of the cluster's live servers, oldest first."""
    query = (
        select(ServerRow.name, ServerRow.id)
        .where(ServerRow.cluster == cluster, ServerRow.deleted_at.is_(None))
        .order_by(ServerRow.created_at, ServerRow.id)
    )
    return [(str(name), str(server_id)) for name, server_id in unit.session.execute(query)]


def count_on(unit: ComputeUnit, cluster: str) -> int:
    query = select(func.count()).where(ServerRow.cluster == cluster, ServerRow.deleted_at.is_(None))
    return int(unit.session.scalar(query) or 0)
