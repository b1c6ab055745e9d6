"""How migrations render: `os-migrations` entries and a server's live migrations, with the
fields each microversion adds (2.23 `migration_type` and links, 2.59 `uuid`, 2.80 `user_id`
and `project_id`)."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from fastapi import Request

from vistack.common.web import service_url
from vistack.compute.api.microversion import Version
from vistack.compute.db.migrations import Migration
from vistack.compute.domain.resize import LIVE_IN_PROGRESS


def stamp(moment: datetime | None) -> str | None:
    """Nova's migration timestamps: `2026-11-24T08:00:00.000000`."""
    return moment.isoformat(timespec="microseconds") if moment is not None else None


def flavor_number(flavor_id: str | None) -> int | None:
    """Nova shows the flavor's integer database key here (an opaque number, not the flavor's
    id, and an integer in every client's schema). vistack keys flavors by their id: a numeric
    id is shown as its number, another as a stable number derived from it (CRC-32, 31 bits)."""
    if flavor_id is None or flavor_id == "None":
        return None
    if flavor_id.isascii() and flavor_id.isdigit():
        return int(flavor_id)
    return zlib.crc32(flavor_id.encode()) & 0x7FFFFFFF


def listed(request: Request, migration: Migration, version: Version) -> dict[str, Any]:
    """One `os-migrations` entry."""
    view: dict[str, Any] = {
        "created_at": stamp(migration.created_at),
        "dest_compute": migration.dest_compute,
        "dest_host": migration.dest_host,
        "dest_node": migration.dest_node,
        "id": migration.id,
        "instance_uuid": migration.server_id,
        "new_instance_type_id": flavor_number(migration.new_flavor_id),
        "old_instance_type_id": flavor_number(migration.old_flavor_id),
        "source_compute": migration.source_compute,
        "source_node": migration.source_node,
        "status": migration.status,
        "updated_at": stamp(migration.updated_at),
    }
    if version.at_least("2.23"):
        view["migration_type"] = migration.migration_type
        if migration.migration_type == "live-migration" and migration.status in LIVE_IN_PROGRESS:
            parts = ("servers", migration.server_id, "migrations", str(migration.id))
            view["links"] = [
                {"rel": "self", "href": service_url(request, "v2.1", *parts)},
                {"rel": "bookmark", "href": service_url(request, *parts)},
            ]
    if version.at_least("2.59"):
        view["uuid"] = migration.uuid
    if version.at_least("2.80"):
        view["user_id"] = migration.user_id
        view["project_id"] = migration.project_id
    return view


def in_progress(migration: Migration, version: Version) -> dict[str, Any]:
    """One of a server's live migrations (`/servers/{id}/migrations`). vCenter reports no
    byte counts for a vMotion through the API this cloud reads, so they are null."""
    view: dict[str, Any] = {
        "created_at": stamp(migration.created_at),
        "dest_compute": migration.dest_compute,
        "dest_host": migration.dest_host,
        "dest_node": migration.dest_node,
        "disk_processed_bytes": None,
        "disk_remaining_bytes": None,
        "disk_total_bytes": None,
        "id": migration.id,
        "memory_processed_bytes": None,
        "memory_remaining_bytes": None,
        "memory_total_bytes": None,
        "server_uuid": migration.server_id,
        "source_compute": migration.source_compute,
        "source_node": migration.source_node,
        "status": migration.status,
        "updated_at": stamp(migration.updated_at),
    }
    if version.at_least("2.59"):
        view["uuid"] = migration.uuid
    if version.at_least("2.80"):
        view["user_id"] = migration.user_id
        view["project_id"] = migration.project_id
    return view
