"""Cinder's backups table (schema owned by Alembic, `0018_volume_backups`).

A backup's data lives in the chunk store (`volume/domain/backup_store.py`); the row keeps what
the API shows and what the jobs need to move the volume and the backup through their states.
The chunk map itself is the store's manifest, so an exported record can be imported again
from the store alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.volume.db.tables import ID, NAME, PROJECT, STATUS


class BackupRow(Base):
    """A volume backup: its request, its state machine and where its chunks are."""

    __tablename__ = "volume_backup"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    volume_id: Mapped[str] = mapped_column(ID, index=True)
    #: The snapshot the data was read from (None: the volume itself).
    snapshot_id: Mapped[str | None] = mapped_column(ID)
    #: The backup an incremental one builds on (None: a full backup).
    parent_id: Mapped[str | None] = mapped_column(ID, index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    #: The chunk store's sub-folder (Cinder's container).
    container: Mapped[str] = mapped_column(NAME)
    availability_zone: Mapped[str] = mapped_column(NAME)
    #: creating, available, deleting, restoring, error, error_deleting.
    status: Mapped[str] = mapped_column(STATUS, index=True)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    #: The volume's size when backed up (what a restore needs and quotas count).
    size_gb: Mapped[int] = mapped_column(Integer)
    #: Chunk files this backup itself stored (the rest it shares with its parents).
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Bytes of disk data the backup holds (the disk's data extent when read).
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_items: Mapped[dict[str, str]] = mapped_column(JSON)
    #: When the data was taken: the backup's start, or its snapshot's creation.
    data_timestamp: Mapped[datetime] = mapped_column(PreciseDateTime)
    #: The volume's (or snapshot's) status before the job took it, given back at the end.
    previous_status: Mapped[str | None] = mapped_column(STATUS)
    #: The volume a running restore writes to.
    restore_volume_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
