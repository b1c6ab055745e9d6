"""What an image is to the domain: plain values, no SQLAlchemy, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Glance's image states (the `killed` and `pending_delete` states are never entered:
    a failed upload goes back to `queued`, and deletion removes the data at once)."""

    QUEUED = "queued"
    SAVING = "saving"
    UPLOADING = "uploading"  # staged for import
    IMPORTING = "importing"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    SHARED = "shared"
    COMMUNITY = "community"


class MemberStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


#: Attributes with a column of their own; everything else a user sets is a property.
CORE_ATTRIBUTES = (
    "id",
    "name",
    "owner",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "disk_format",
    "container_format",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "created_at",
    "updated_at",
)

#: Set by the service only; a PATCH or create naming them is refused (Glance: 403).
READ_ONLY = frozenset(
    {
        "status",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "created_at",
        "updated_at",
        "direct_url",
        "self",
        "file",
        "schema",
        "stores",
    }
)

#: Names a user may never use for a property.
RESERVED = frozenset({"deleted", "deleted_at", "location", "locations"})

#: Property prefix Glance reserves for itself (import bookkeeping).
GLANCE_PREFIX = "os_glance"


@dataclass
class Image:
    id: str
    name: str | None
    owner: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    #: store id → location URL, for images that hold data.
    locations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    image_id: str
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Usage:
    """A project's use of its image quota (sizes in bytes)."""

    image_count_total: int
    image_size_total: int
    image_stage_total: int
    image_count_uploading: int


@dataclass(frozen=True)
class ListQuery:
    """One page of `GET /v2/images`, already validated by the API layer."""

    #: Filters on core attributes: name → (operator, values).
    filters: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    #: Filters on properties: exact matches.
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    visibility: str | None = None
    member_status: str = "accepted"
    os_hidden: bool = False
    size_min: int | None = None
    size_max: int | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    marker: str | None = None
    limit: int = 25


@dataclass(frozen=True)
class ImageTask:
    """An import's record (Glance's `api_image_import` task)."""

    id: str
    image_id: str
    type: str
    status: str
    owner: str | None
    user_id: str | None
    request_id: str | None
    input: dict[str, Any]
    result: dict[str, Any] | None
    message: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
