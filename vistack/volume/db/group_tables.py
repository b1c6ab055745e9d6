"""Cinder's generic volume groups: group types and their specs, groups (with the volume types
each allows) and group snapshots. Schema owned by Alembic (`0021_volume_groups`).

A volume's group is `volume_volume.group_id` and a snapshot's group snapshot is
`volume_snapshot.group_snapshot_id` (columns of `tables.py`, added by the same migration): a
member belongs to at most one group, so a column says it without a join table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.tables import ID, NAME, PROJECT, STATUS


class GroupTypeRow(Base):
    """A group type: a name plus group specs (what a backend must offer the group)."""

    __tablename__ = "volume_group_type"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class GroupTypeSpecRow(Base):
    """One group spec (`consistent_group_snapshot_enabled`, anything an admin sets)."""

    __tablename__ = "volume_group_type_spec"

    group_type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_group_type.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME)


class GroupRow(Base):
    """A generic volume group: volumes of the allowed types that are snapshotted together."""

    __tablename__ = "volume_group"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    #: creating, available, deleting, error, error_deleting (Cinder's group statuses).
    status: Mapped[str] = mapped_column(STATUS, index=True)
    availability_zone: Mapped[str] = mapped_column(NAME)
    group_type_id: Mapped[str] = mapped_column(ID, index=True)
    #: The group snapshot or group this one was made from (create-from-src), else None.
    group_snapshot_id: Mapped[str | None] = mapped_column(ID, index=True)
    source_group_id: Mapped[str | None] = mapped_column(ID, index=True)
    #: Why the group is in error (kept for operators).
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class GroupVolumeTypeRow(Base):
    """A volume type the group's volumes may have (given at create, in its order)."""

    __tablename__ = "volume_group_volume_type"

    group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_group.id", ondelete="CASCADE"), primary_key=True
    )
    volume_type_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class GroupSnapshotRow(Base):
    """A group snapshot: one snapshot per member volume (`volume_snapshot.group_snapshot_id`)."""

    __tablename__ = "volume_group_snapshot"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    group_id: Mapped[str] = mapped_column(ID, index=True)
    group_type_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


__all__ = ["GroupRow", "GroupSnapshotRow", "GroupTypeRow", "GroupTypeSpecRow", "GroupVolumeTypeRow"]
