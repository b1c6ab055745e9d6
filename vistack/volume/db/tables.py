"""Cinder's tables: volumes, their types (extra specs, project access), attachments, snapshots
and quotas. Their schema is owned by Alembic (`0016_volume`).

Metadata and the image metadata a volume keeps are JSON columns: they are read and written as a
whole with their volume, and a metadata filter on a list compares in Python after the project
filter, so a separate key/value table would buy nothing but joins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(36)
NAME = String(255)
PROJECT = String(64)
STATUS = String(32)


class VolumeTypeRow(Base):
    """A volume type: a name plus extra specs saying where and how its disks are made."""

    __tablename__ = "volume_type"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class VolumeTypeExtraSpecRow(Base):
    """One extra spec (`vmware:vmdk_type`, `vmware:datastore_regex`, anything an admin sets)."""

    __tablename__ = "volume_type_extra_spec"

    type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME)


class VolumeTypeAccessRow(Base):
    """A project allowed to use a private volume type."""

    __tablename__ = "volume_type_access"

    type_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_type.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True, index=True)


class VolumeRow(Base):
    """A volume: its request, its state machine and where its disk is."""

    __tablename__ = "volume_volume"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    size_gb: Mapped[int] = mapped_column(Integer)
    #: Cinder's status (creating, available, attaching, in-use, detaching, deleting, error...).
    status: Mapped[str] = mapped_column(STATUS, index=True)
    #: detached, attaching, attached, detaching.
    attach_status: Mapped[str] = mapped_column(STATUS, default="detached")
    availability_zone: Mapped[str] = mapped_column(NAME)
    volume_type_id: Mapped[str] = mapped_column(ID, index=True)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    #: None until os-update_readonly_flag sets it (Cinder then shows it in `metadata`).
    readonly: Mapped[bool | None] = mapped_column(Boolean)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    source_volid: Mapped[str | None] = mapped_column(ID)
    snapshot_id: Mapped[str | None] = mapped_column(ID)
    image_id: Mapped[str | None] = mapped_column(String(64))
    metadata_items: Mapped[dict[str, str]] = mapped_column(JSON)
    #: What Cinder shows as `volume_image_metadata` (the image's fields and properties).
    image_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Where the disk is: `[ds] volumes/<id>.vmdk`; None until the create made it.
    path: Mapped[str | None] = mapped_column(Text)
    datastore: Mapped[str | None] = mapped_column(NAME)
    provisioning: Mapped[str] = mapped_column(String(32), default="thin")
    #: Why the volume is in `error` (kept for operators; Cinder shows it in user messages).
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    #: The generic volume group the volume belongs to (`group_tables.py`, `0021_volume_groups`).
    group_id: Mapped[str | None] = mapped_column(ID, index=True, default=None)
    #: Cinder's: `migrating` while an attached volume is moved through Nova's swap,
    #: `target:<id>` on the temporary volume it moves onto, then `success` or `error`
    #: (`0025_volume_migration_status`, `migrate_attached.py`).
    migration_status: Mapped[str | None] = mapped_column(String(64), default=None)


class VolumeAttachmentRow(Base):
    """A volume's attachment to a server: reserved, attached or being detached."""

    __tablename__ = "volume_attachment"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ID, ForeignKey("volume_volume.id", ondelete="CASCADE"), index=True
    )
    server_id: Mapped[str | None] = mapped_column(ID, index=True)
    host_name: Mapped[str | None] = mapped_column(NAME)
    device: Mapped[str | None] = mapped_column(NAME)
    #: reserved, attaching, attached, detaching.
    attach_status: Mapped[str] = mapped_column(STATUS)
    mode: Mapped[str] = mapped_column(String(8), default="rw")
    attached_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    #: The attachments API's (3.27): the host's connector, and the connection info Cinder
    #: answered it with (`0020_volume_attachments_messages`); None for Nova's in-process path.
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SnapshotRow(Base):
    """A volume snapshot: a copy of the volume's disk at `path`."""

    __tablename__ = "volume_snapshot"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    volume_id: Mapped[str] = mapped_column(ID, index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    size_gb: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    metadata_items: Mapped[dict[str, str]] = mapped_column(JSON)
    path: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    #: The group snapshot this snapshot was taken for (`0021_volume_groups`), else None.
    group_snapshot_id: Mapped[str | None] = mapped_column(ID, index=True, default=None)


class VolumeQuotaRow(Base):
    """A project's own limit for one resource (absent: the configured default applies)."""

    __tablename__ = "volume_quota"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class VolumeProjectLockRow(Base):
    """One row per project, updated first by every quota-checked create so that concurrent
    creates of one project serialise on it and each counts what the others committed."""

    __tablename__ = "volume_project_lock"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


def plain(value: Any) -> Any:
    """A JSON column's value as a fresh dict (SQLAlchemy tracks only reassignment)."""
    return dict(value or {})
