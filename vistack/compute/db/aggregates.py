"""Queries on host aggregates, their hosts and metadata (`db/aggregate_tables.py`).

Every change to aggregates is serialised by `lock` (the first statement of its transaction):
whether a host may join a zone depends on the zones of every other aggregate holding it, a
check no single row's lock covers. Aggregate changes are rare administrator actions, so one
lock for all of them costs nothing and leaves no race to reason about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select

from vistack.common.clock import utcnow
from vistack.compute.db.aggregate_tables import (
    AggregateHostRow,
    AggregateMetadataRow,
    AggregateRow,
)
from vistack.compute.db.store import ComputeStore, ComputeUnit

#: The `compute_project_lock` row aggregate changes take (not a Keystone project id).
AGGREGATE_LOCK = "__compute_aggregates__"


def prepare(store: ComputeStore) -> None:
    """Make the lock row exist, so `lock` is an UPDATE that waits, never racing INSERTs."""
    store.ensure_project(AGGREGATE_LOCK)


def lock(unit: ComputeUnit) -> None:
    """Serialise this transaction against every other aggregate change, to commit."""
    unit.lock_project(AGGREGATE_LOCK)


def listing(unit: ComputeUnit) -> list[AggregateRow]:
    return list(unit.session.scalars(select(AggregateRow).order_by(AggregateRow.id)))


def get(unit: ComputeUnit, aggregate_id: int) -> AggregateRow | None:
    return unit.session.get(AggregateRow, aggregate_id, populate_existing=True)


def hosts_of(unit: ComputeUnit, aggregate_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each aggregate's hosts, by name."""
    ids = list(aggregate_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (
        select(AggregateHostRow.aggregate_id, AggregateHostRow.host)
        .where(AggregateHostRow.aggregate_id.in_(ids))
        .order_by(AggregateHostRow.aggregate_id, AggregateHostRow.host)
    )
    for aggregate_id, host in unit.session.execute(query):
        found[int(aggregate_id)].append(str(host))
    return found


def metadata_of(unit: ComputeUnit, aggregate_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(aggregate_ids)
    found: dict[int, dict[str, str]] = {i: {} for i in ids}
    if not ids:
        return found
    query = select(
        AggregateMetadataRow.aggregate_id, AggregateMetadataRow.key, AggregateMetadataRow.value
    ).where(AggregateMetadataRow.aggregate_id.in_(ids))
    for aggregate_id, key, value in unit.session.execute(query):
        found[int(aggregate_id)][str(key)] = str(value)
    return found


def add(unit: ComputeUnit, name: str, zone: str | None) -> AggregateRow:
    """A new aggregate.

    :raises Collision: the name is taken.
    """
    row = AggregateRow(name=name, availability_zone=zone, created_at=utcnow(), updated_at=None)
    unit.add(row)
    return row


def update(unit: ComputeUnit, row: AggregateRow, **values: str | None) -> None:
    """Write the name or zone of an aggregate.

    :raises Collision: the new name is taken.
    """
    for name, value in values.items():
        setattr(row, name, value)
    touch(unit, row)


def touch(unit: ComputeUnit, row: AggregateRow) -> None:
    row.updated_at = utcnow()
    unit.flush()


def add_host(unit: ComputeUnit, aggregate_id: int, host: str) -> None:
    unit.add(AggregateHostRow(aggregate_id=aggregate_id, host=host))


def remove_host(unit: ComputeUnit, aggregate_id: int, host: str) -> bool:
    """False when the host was not in the aggregate."""
    query = delete(AggregateHostRow).where(
        AggregateHostRow.aggregate_id == aggregate_id, AggregateHostRow.host == host
    )
    return bool(unit.session.execute(query).rowcount)  # type: ignore[attr-defined]


def remove_host_everywhere(unit: ComputeUnit, host: str) -> int:
    """Take a host out of every aggregate (its compute service is gone); how many it was in."""
    query = delete(AggregateHostRow).where(AggregateHostRow.host == host)
    return int(unit.session.execute(query).rowcount)  # type: ignore[attr-defined]


def set_metadata(unit: ComputeUnit, aggregate_id: int, changes: Mapping[str, str | None]) -> None:
    """Set each item to its value, or delete it for None (a missing item is no error)."""
    if not changes:
        return
    unit.session.execute(
        delete(AggregateMetadataRow).where(
            AggregateMetadataRow.aggregate_id == aggregate_id,
            AggregateMetadataRow.key.in_(list(changes)),
        )
    )
    for key, value in changes.items():
        if value is not None:
            unit.session.add(AggregateMetadataRow(aggregate_id=aggregate_id, key=key, value=value))
    unit.flush()


def remove(unit: ComputeUnit, row: AggregateRow) -> None:
    """Delete an aggregate and its metadata (it has no host left: the caller checked)."""
    unit.session.execute(
        delete(AggregateMetadataRow).where(AggregateMetadataRow.aggregate_id == row.id)
    )
    unit.session.execute(delete(AggregateHostRow).where(AggregateHostRow.aggregate_id == row.id))
    unit.delete(row)


def zones_holding(unit: ComputeUnit, hosts: Iterable[str]) -> list[tuple[int, str]]:
    """(aggregate id, zone) of the zoned aggregates holding any of `hosts`."""
    names = sorted(set(hosts))
    if not names:
        return []
    query = (
        select(AggregateRow.id, AggregateRow.availability_zone)
        .join(AggregateHostRow, AggregateHostRow.aggregate_id == AggregateRow.id)
        .where(AggregateHostRow.host.in_(names), AggregateRow.availability_zone.is_not(None))
        .distinct()
    )
    return [(int(i), str(zone)) for i, zone in unit.session.execute(query)]


def host_zones(unit: ComputeUnit) -> dict[str, str]:
    """The zone each host in a zoned aggregate is in. The API never lets a host be in two
    zones; should rows say otherwise, the lowest aggregate id wins, so every controller agrees."""
    query = (
        select(AggregateHostRow.host, AggregateRow.availability_zone)
        .join(AggregateRow, AggregateHostRow.aggregate_id == AggregateRow.id)
        .where(AggregateRow.availability_zone.is_not(None))
        .order_by(AggregateRow.id.desc())
    )
    return {str(host): str(zone) for host, zone in unit.session.execute(query)}
