"""Cinder's quota classes and per-volume-type quotas (schema owned by Alembic,
`0023_volume_quota_classes`), with the queries on them.

- `volume_quota_class`: a class's limit of one of the project-wide resources (`volumes`,
  `gigabytes`, `backups`...). The class `default` overrides the configured defaults.
- `volume_type_quota` and `volume_type_quota_class`: a project's, or a class's, limit of
  `volumes`, `snapshots` or `gigabytes` of one volume type.

Per-type limits are keyed by the type's id, not by the `volumes_<type name>` key the API shows:
a renamed type keeps its limits (the keys shown follow the new name, nothing is rewritten) and
a deleted one drops them with it (`ON DELETE CASCADE`), so no row can outlive or misname its
type. Usage per type is counted from the volumes' current type, their snapshots with them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import ID, NAME, PROJECT, SnapshotRow, VolumeRow

#: The resources a per-type limit may be of.
RESOURCE = String(16)

#: (volume type id, resource) -> limit.
TypeLimits = dict[tuple[str, str], int]


class QuotaClassRow(Base):
    """A quota class's limit of one project-wide resource."""

    __tablename__ = "volume_quota_class"

    class_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class TypeQuotaRow(Base):
    """A project's own limit of one resource of one volume type."""

    __tablename__ = "volume_type_quota"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    resource: Mapped[str] = mapped_column(RESOURCE, primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class TypeQuotaClassRow(Base):
    """A quota class's limit of one resource of one volume type."""

    __tablename__ = "volume_type_quota_class"

    class_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    resource: Mapped[str] = mapped_column(RESOURCE, primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


# -- classes ---------------------------------------------------------------------------------


def class_limits(unit: VolumeUnit, class_name: str) -> dict[str, int]:
    query = select(QuotaClassRow).where(QuotaClassRow.class_name == class_name)
    return {row.resource: row.hard_limit for row in unit.session.scalars(query)}


def set_class_limit(unit: VolumeUnit, class_name: str, resource: str, limit: int) -> None:
    row = unit.session.get(QuotaClassRow, (class_name, resource))
    if row is None:
        unit.add(QuotaClassRow(class_name=class_name, resource=resource, hard_limit=limit))
    else:
        row.hard_limit = limit
        unit.flush()


def class_type_limits(unit: VolumeUnit, class_name: str, type_id: str | None = None) -> TypeLimits:
    """The class's per-type limits (of one type only when `type_id` is given)."""
    query = select(TypeQuotaClassRow).where(TypeQuotaClassRow.class_name == class_name)
    if type_id is not None:
        query = query.where(TypeQuotaClassRow.volume_type_id == type_id)
    return {(r.volume_type_id, r.resource): r.hard_limit for r in unit.session.scalars(query)}


def set_class_type_limit(
    unit: VolumeUnit, class_name: str, type_id: str, resource: str, limit: int
) -> None:
    row = unit.session.get(TypeQuotaClassRow, (class_name, type_id, resource))
    if row is None:
        unit.add(
            TypeQuotaClassRow(
                class_name=class_name, volume_type_id=type_id, resource=resource, hard_limit=limit
            )
        )
    else:
        row.hard_limit = limit
        unit.flush()


# -- projects' per-type limits ---------------------------------------------------------------


def type_limits(unit: VolumeUnit, project_id: str, type_id: str | None = None) -> TypeLimits:
    """The project's own per-type limits (of one type only when `type_id` is given)."""
    query = select(TypeQuotaRow).where(TypeQuotaRow.project_id == project_id)
    if type_id is not None:
        query = query.where(TypeQuotaRow.volume_type_id == type_id)
    return {(r.volume_type_id, r.resource): r.hard_limit for r in unit.session.scalars(query)}


def set_type_limit(
    unit: VolumeUnit, project_id: str, type_id: str, resource: str, limit: int
) -> None:
    row = unit.session.get(TypeQuotaRow, (project_id, type_id, resource))
    if row is None:
        unit.add(
            TypeQuotaRow(
                project_id=project_id, volume_type_id=type_id, resource=resource, hard_limit=limit
            )
        )
    else:
        row.hard_limit = limit
        unit.flush()


def delete_type_limits(unit: VolumeUnit, project_id: str) -> None:
    unit.session.execute(delete(TypeQuotaRow).where(TypeQuotaRow.project_id == project_id))


# -- usage -----------------------------------------------------------------------------------


def usage_by_type(
    unit: VolumeUnit, project_id: str, type_ids: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """type id -> {volumes, snapshots, gigabytes} the project uses of it (volumes and their
    snapshots, by the volume's type); types it uses nothing of are absent."""
    wanted = None if type_ids is None else list(type_ids)
    volumes = select(
        VolumeRow.volume_type_id,
        func.count(VolumeRow.id),
        func.coalesce(func.sum(VolumeRow.size_gb), 0),
    ).where(VolumeRow.project_id == project_id)
    snapshots = (
        select(
            VolumeRow.volume_type_id,
            func.count(SnapshotRow.id),
            func.coalesce(func.sum(SnapshotRow.size_gb), 0),
        )
        .join(VolumeRow, VolumeRow.id == SnapshotRow.volume_id)
        .where(SnapshotRow.project_id == project_id)
    )
    if wanted is not None:
        volumes = volumes.where(VolumeRow.volume_type_id.in_(wanted))
        snapshots = snapshots.where(VolumeRow.volume_type_id.in_(wanted))
    out: dict[str, dict[str, int]] = {}
    for type_id, count, size in unit.session.execute(volumes.group_by(VolumeRow.volume_type_id)):
        used = out.setdefault(type_id, {"volumes": 0, "snapshots": 0, "gigabytes": 0})
        used["volumes"] += int(count)
        used["gigabytes"] += int(size)
    for type_id, count, size in unit.session.execute(snapshots.group_by(VolumeRow.volume_type_id)):
        used = out.setdefault(type_id, {"volumes": 0, "snapshots": 0, "gigabytes": 0})
        used["snapshots"] += int(count)
        used["gigabytes"] += int(size)
    return out
