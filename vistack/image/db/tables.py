"""Image tables (SQLAlchemy 2.x). Their schema is owned by Alembic (`vistack/migrations`).

Owners are project ids kept as plain strings, not foreign keys to identity: Glance keeps an
image whose project was deleted (an administrator decides what happens to it), and the image
service must not need the identity tables to be in the same database in an HA layout.

Properties, tags, members and locations are rows of their own so that filters (`?tag=`,
`?member_status=`, `?os_distro=`) are indexed queries, not JSON scans.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(36)
PROJECT = String(64)
NAME = String(255)


class ImageRow(Base):
    __tablename__ = "image_image"
    __table_args__ = (Index("ix_image_image_owner_status", "owner", "status"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(NAME, index=True)
    owner: Mapped[str | None] = mapped_column(PROJECT)
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(16), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(32))
    container_format: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32), index=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128), index=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)


class ImagePropertyRow(Base):
    __tablename__ = "image_property"

    image_id: Mapped[str] = mapped_column(
        ID, ForeignKey("image_image.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImageTagRow(Base):
    __tablename__ = "image_tag"

    image_id: Mapped[str] = mapped_column(
        ID, ForeignKey("image_image.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(NAME, primary_key=True)


class ImageMemberRow(Base):
    __tablename__ = "image_member"
    __table_args__ = (UniqueConstraint("image_id", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ID, ForeignKey("image_image.id", ondelete="CASCADE"))
    member: Mapped[str] = mapped_column(PROJECT, index=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ImageLocationRow(Base):
    """Where an image's bytes are: one row per store holding a copy."""

    __tablename__ = "image_location"
    __table_args__ = (UniqueConstraint("image_id", "store"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ID, ForeignKey("image_image.id", ondelete="CASCADE"))
    store: Mapped[str] = mapped_column(NAME)
    url: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ImageTaskRow(Base):
    """An import (`api_image_import` task), shown at `/v2/images/{id}/tasks`."""

    __tablename__ = "image_task"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    image_id: Mapped[str] = mapped_column(
        ID, ForeignKey("image_image.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(PROJECT)
    user_id: Mapped[str | None] = mapped_column(PROJECT)
    request_id: Mapped[str | None] = mapped_column(String(64))
    input: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
