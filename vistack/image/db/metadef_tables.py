"""Metadata definition (metadef) tables. Their schema is owned by Alembic (`vistack/migrations`).

Namespaces are addressed by name in the API but keyed by an integer here, so a rename (a PUT
with a new `namespace`) is one UPDATE and children never need rewriting. Names are unique per
parent by constraint, not by a check-then-insert: two API calls, or two processes seeding the
catalogue at once, cannot both win — the loser's INSERT fails and is reported (or ignored).

A property's or object's JSON-schema fragment is stored as JSON text: the service validates it
on the way in and nothing ever filters on what is inside it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

#: Glance's limit for every metadef name (namespace, object, property, tag, resource type).
NAME = String(80)


class MetadefNamespaceRow(Base):
    __tablename__ = "image_metadef_namespace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(NAME, unique=True)
    display_name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class MetadefObjectRow(Base):
    __tablename__ = "image_metadef_object"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("image_metadef_namespace.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    #: JSON list of the property names an instance of the object must set.
    required: Mapped[str] = mapped_column(Text)
    #: JSON object: property name → its JSON-schema fragment.
    properties: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class MetadefPropertyRow(Base):
    __tablename__ = "image_metadef_property"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("image_metadef_namespace.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(NAME)
    #: JSON object: the property's JSON-schema fragment (type, title, enum, …) without its name.
    json_schema: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class MetadefTagRow(Base):
    __tablename__ = "image_metadef_tag"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("image_metadef_namespace.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class MetadefResourceTypeRow(Base):
    """A kind of resource metadata applies to (`OS::Glance::Image`, `OS::Nova::Flavor`, …)."""

    __tablename__ = "image_metadef_resource_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class MetadefAssociationRow(Base):
    """A namespace applies to a resource type, its property names optionally prefixed."""

    __tablename__ = "image_metadef_association"

    # Named here: the naming convention's names for these exceed PostgreSQL's and MariaDB's
    # 63/64-character limit on identifiers.
    namespace_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey(
            "image_metadef_namespace.id",
            ondelete="CASCADE",
            name="fk_image_metadef_association_namespace",
        ),
        primary_key=True,
    )
    resource_type_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("image_metadef_resource_type.id", name="fk_image_metadef_association_type"),
        primary_key=True,
        index=True,
    )
    prefix: Mapped[str | None] = mapped_column(NAME)
    properties_target: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
