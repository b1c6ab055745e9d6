"""Cinder's JSON views of volumes, snapshots, types and attachments, with the fields each
microversion adds (`version_of(request)`; see docs/cinder-microversions.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from vistack.common.web import service_url
from vistack.volume.api.microversion import MIN_VERSION
from vistack.volume.api.microversion import version_of as version_of
from vistack.volume.api.project_path import ORIGINAL_PATH_KEY
from vistack.volume.domain.backend import host_of
from vistack.volume.domain.models import Attachment, Snapshot, Volume, VolumeType
from vistack.volume.domain.requests import boolean


def with_count(request: Request) -> bool:
    """Whether a list answers its `count` of matches (3.45's `with_count=true`).

    :raises BadRequest: `with_count` is not a boolean.
    """
    raw = request.query_params.get("with_count")
    return version_of(request) >= (3, 45) and raw is not None and boolean("with_count", raw)


def service_uuid(host: str) -> str:
    """The cinder-volume service's uuid (3.48): stable for the host, as Cinder's is for its
    service row (one backend per vCenter here)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vistack:cinder-volume:{host_of(host)}"))


def timestamp(value: datetime | None) -> str | None:
    """Cinder's timestamps: ISO 8601 with microseconds, no zone (UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def links(request: Request, project_id: str, collection: str, ident: str) -> list[dict[str, str]]:
    self_href = service_url(request, "v3", project_id, collection, ident)
    bookmark = service_url(request, project_id, collection, ident)
    return [{"rel": "self", "href": self_href}, {"rel": "bookmark", "href": bookmark}]


def attachment(item: Attachment) -> dict[str, Any]:
    return {
        "server_id": item.server_id,
        "attachment_id": item.id,
        "attached_at": timestamp(item.attached_at),
        "host_name": item.host_name,
        "volume_id": item.volume_id,
        "device": item.device,
        "id": item.volume_id,
    }


def volume_summary(request: Request, volume: Volume) -> dict[str, Any]:
    return {
        "id": volume.id,
        "name": volume.name,
        "links": links(request, volume.project_id, "volumes", volume.id),
    }


def volume(
    request: Request, volume: Volume, *, admin: bool, host: str, extended: bool = True
) -> dict[str, Any]:
    """A volume; `extended` adds what Cinder's extensions add to reads (tenant, migration,
    host for administrators, image metadata), absent from create and update answers."""
    view: dict[str, Any] = {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "size": volume.size_gb,
        "status": volume.status,
        "availability_zone": volume.availability_zone,
        "created_at": timestamp(volume.created_at),
        "updated_at": timestamp(volume.updated_at),
        # Only completed attachments show, as in Cinder (a reservation has no server yet).
        "attachments": [attachment(a) for a in volume.attachments if a.attach_status != "reserved"],
        "links": links(request, volume.project_id, "volumes", volume.id),
        "metadata": dict(volume.metadata),
        "bootable": "true" if volume.bootable else "false",
        "encrypted": False,
        "multiattach": volume.multiattach,
        "replication_status": None,
        "consistencygroup_id": None,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "user_id": volume.user_id,
        "volume_type": volume.volume_type_name,
    }
    # Cinder's visible admin metadata: the read-only flag once set, the attach mode.
    if volume.readonly is not None:
        view["metadata"]["readonly"] = str(volume.readonly)
    attached = [a for a in volume.attachments if a.attach_status == "attached"]
    if attached:
        view["metadata"]["attached_mode"] = attached[0].mode
    if admin:
        view["migration_status"] = volume.migration_status  # administrators only, as Cinder
    _versioned_volume_fields(view, version_of(request), volume, admin=admin, host=host)
    if not extended:
        return view
    view["os-vol-tenant-attr:tenant_id"] = volume.project_id
    view["os-vol-mig-status-attr:migstat"] = volume.migration_status if admin else None
    view["os-vol-mig-status-attr:name_id"] = None
    if volume.image_metadata is not None:
        view["volume_image_metadata"] = dict(volume.image_metadata)
    if admin:
        view["os-vol-host-attr:host"] = (
            host_of(host, volume.datastore) if volume.datastore else None
        )
    return view


def _versioned_volume_fields(
    view: dict[str, Any], version: tuple[int, int], volume: Volume, *, admin: bool, host: str
) -> None:
    """What Cinder's v3 volume view adds by microversion (create, show and detail alike)."""
    if version >= (3, 13):
        view["group_id"] = volume.group_id  # its generic volume group (groups.py)
    if version >= (3, 21) and admin:
        # The backend's own id for the volume: its disk on the datastore.
        view["provider_id"] = volume.path
    if version >= (3, 48):
        # Disks are attached by vCenter to the VM, never through a host's iSCSI initiator:
        # os-brick has nothing to lock (false at every version, 3.69's tristate included).
        view["shared_targets"] = False
        view["service_uuid"] = service_uuid(host)
    if version >= (3, 61) and admin:
        view["cluster_name"] = None  # one cinder-volume per vCenter: no Active/Active cluster
    if version >= (3, 63):
        view["volume_type_id"] = volume.volume_type_id
    if version >= (3, 64):
        view["encryption_key_id"] = None  # set only for encrypted volumes
    if version >= (3, 65):
        view["consumes_quota"] = True  # every volume here counts against its project's quota


def next_links(
    request: Request, collection: str, items: list[Any], more: bool
) -> list[dict[str, str]] | None:
    """The `*_links` of a cut page: where the next page starts (the last id as marker)."""
    if not more or not items:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("marker", "offset")]
    query.append(("marker", items[-1].id))
    path = str(request.scope.get(ORIGINAL_PATH_KEY) or request.url.path).rstrip("/")
    base = str(request.base_url).rstrip("/")
    return [{"rel": "next", "href": f"{base}{path}?{urlencode(query)}"}]


def snapshot(
    snap: Snapshot, *, extended: bool = True, version: tuple[int, int] = MIN_VERSION
) -> dict[str, Any]:
    """A snapshot; `extended` (reads in detail) adds progress and project; `user_id` from
    3.41 and `consumes_quota` from 3.65."""
    view = {
        "id": snap.id,
        "name": snap.name,
        "description": snap.description,
        "size": snap.size_gb,
        "status": snap.status,
        "volume_id": snap.volume_id,
        "created_at": timestamp(snap.created_at),
        "updated_at": timestamp(snap.updated_at),
        "metadata": dict(snap.metadata),
    }
    if version >= (3, 14):
        view["group_snapshot_id"] = snap.group_snapshot_id  # the group snapshot it belongs to
    if version >= (3, 41):
        view["user_id"] = snap.user_id
    if version >= (3, 65):
        view["consumes_quota"] = True
    if extended:
        view["os-extended-snapshot-attributes:progress"] = snap.progress
        view["os-extended-snapshot-attributes:project_id"] = snap.project_id
    return view


def volume_type(item: VolumeType, *, shape: str = "show") -> dict[str, Any]:
    """A volume type as each answer has it: `show` (and lists) with the access flag and QoS
    id, `create` without the QoS id, `update` with neither (Cinder's three views)."""
    view: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "is_public": item.is_public,
        "extra_specs": dict(item.extra_specs),
    }
    if shape in ("show", "create"):
        view["os-volume-type-access:is_public"] = item.is_public
    if shape == "show":
        view["qos_specs_id"] = item.qos_specs_id
    return view
