"""Cinder's user messages (3.3): what went wrong with a user's request after its answer was
sent (a volume that could not be built, an attach refused...). Schema owned by Alembic
(`0020_volume_attachments_messages`).

The text is stored as rendered (`user_message`) next to its `event_id`, so a message reads the
same after an upgrade changes the wording of newer ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.tables import ID, PROJECT


class VolumeMessageRow(Base):
    """One user message, kept until `expires_at` (Cinder's `guaranteed_until`)."""

    __tablename__ = "volume_message"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    request_id: Mapped[str] = mapped_column(String(255))
    #: VOLUME, VOLUME_SNAPSHOT, VOLUME_BACKUP...
    resource_type: Mapped[str | None] = mapped_column(String(64))
    resource_uuid: Mapped[str | None] = mapped_column(ID, index=True)
    #: VOLUME_<resource>_<action>_<detail>, e.g. VOLUME_VOLUME_001_003.
    event_id: Mapped[str] = mapped_column(String(64))
    message_level: Mapped[str] = mapped_column(String(32))
    user_message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    expires_at: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)
