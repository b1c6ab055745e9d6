"""QoS specs, their association with volume types, and volume type encryption specs.

A type has at most one QoS spec (Cinder's `qos_specs_id`), kept here as an association row so
that the types table stays as `0016_volume` made it; deleting a type drops its association and
its encryption spec with it (foreign keys on delete cascade). Schema owned by Alembic
(`0019_volume_transfers_qos`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.tables import ID, NAME


class QosSpecRow(Base):
    """A named set of QoS keys and who applies them (front-end, back-end or both)."""

    __tablename__ = "volume_qos_spec"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    consumer: Mapped[str] = mapped_column(String(16))
    specs: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class VolumeTypeQosRow(Base):
    """The QoS spec a volume type carries (one per type)."""

    __tablename__ = "volume_type_qos"

    type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True
    )
    qos_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_qos_spec.id", ondelete="CASCADE"), index=True
    )


class VolumeTypeEncryptionRow(Base):
    """A volume type's encryption spec (Cinder's `encryption` table)."""

    __tablename__ = "volume_type_encryption"

    type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True
    )
    encryption_id: Mapped[str] = mapped_column(ID, unique=True)
    provider: Mapped[str] = mapped_column(NAME)
    cipher: Mapped[str | None] = mapped_column(NAME)
    key_size: Mapped[int | None] = mapped_column(Integer)
    control_location: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
