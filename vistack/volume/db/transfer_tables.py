"""Volume transfers: a volume offered by its project to whichever project presents the key.

Only a salted hash of the key is kept (`crypt_hash`, `salt`): the key is shown once, in the
create's answer, and a database dump cannot be used to accept a transfer. Schema owned by
Alembic (`0019_volume_transfers_qos`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.tables import ID, NAME, PROJECT


class VolumeTransferRow(Base):
    """An open offer of one volume (gone once accepted or deleted)."""

    __tablename__ = "volume_transfer"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_volume.id", ondelete="CASCADE"), index=True
    )
    #: The giving project (the volume's when the offer was made).
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    salt: Mapped[str] = mapped_column(String(32))
    #: PBKDF2-SHA256 of the key with `salt`, hex.
    crypt_hash: Mapped[str] = mapped_column(String(128))
    #: 3.55: the volume moves without its snapshots (they stay with the giver).
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
