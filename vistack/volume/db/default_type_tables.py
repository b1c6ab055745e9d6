"""Cinder's project default volume types (3.62; schema owned by Alembic,
`0022_volume_default_types`): one row per project that overrides the configured default."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import ID, PROJECT


class DefaultTypeRow(Base):
    """The volume type a project's volumes get when a create names none."""

    __tablename__ = "volume_default_type"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    #: A type that is some project's default cannot be deleted (Cinder's rule), so the key
    #: restricts rather than cascades.
    volume_type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


def default_of(unit: VolumeUnit, project_id: str) -> DefaultTypeRow | None:
    return unit.session.get(DefaultTypeRow, project_id)


def all_defaults(unit: VolumeUnit) -> list[DefaultTypeRow]:
    query = select(DefaultTypeRow).order_by(DefaultTypeRow.project_id)
    return list(unit.session.scalars(query).all())


def projects_defaulting_to(unit: VolumeUnit, type_id: str) -> list[str]:
    query = select(DefaultTypeRow.project_id).where(DefaultTypeRow.volume_type_id == type_id)
    return list(unit.session.scalars(query).all())
