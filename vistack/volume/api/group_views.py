"""Cinder's JSON views of group types, groups and group snapshots, by microversion."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from vistack.common.microversion import Version
from vistack.volume.api import gates
from vistack.volume.api.views import next_links, timestamp
from vistack.volume.domain.group_models import Group, GroupSnapshot, GroupType


def require(version: Version, minimum: str) -> None:
    """Below `minimum` the resource or action does not exist: Cinder's 404 for a method its
    version does not serve (VersionNotFoundForAPIMethod), as every gated route (`gates`)."""
    major, _, minor = minimum.partition(".")
    gates.refuse_below((version.major, version.minor), (int(major), int(minor)))


def page(
    request: Request, collection: str, items: list[dict[str, Any]], rows: list[Any], more: bool
) -> dict[str, Any]:
    """A group or group snapshot list's body: the items and, when the page was cut, the
    `group_links` / `group_snapshot_links` to the next one (Cinder's list view for both)."""
    body: dict[str, Any] = {collection: items}
    links = next_links(request, collection, rows, more)
    if links:
        body[f"{collection.removesuffix('s')}_links"] = links
    return body


def group_type(item: GroupType, *, specs: bool) -> dict[str, Any]:
    """`group_specs` only for who may read them (`group:access_group_types_specs`)."""
    view: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "is_public": item.is_public,
    }
    if specs:
        view["group_specs"] = dict(item.group_specs)
    return view


def group_summary(item: Group) -> dict[str, Any]:
    return {"id": item.id, "name": item.name}


def group(
    item: Group, version: Version, *, list_volume: bool = False, project: bool = False
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": item.id,
        "status": item.status,
        "availability_zone": item.availability_zone,
        "created_at": timestamp(item.created_at),
        "name": item.name,
        "description": item.description,
        "group_type": item.group_type_id,
        "volume_types": list(item.volume_type_ids),
    }
    if version.at_least("3.14"):
        view["group_snapshot_id"] = item.group_snapshot_id
        view["source_group_id"] = item.source_group_id
    if version.at_least("3.25") and list_volume:
        view["volumes"] = list(item.volume_ids)
    if version.at_least("3.38"):
        view["replication_status"] = "disabled"  # no array replication on vSphere datastores
    if version.at_least("3.58") and project:
        view["project_id"] = item.project_id
    return view


def group_snapshot_summary(item: GroupSnapshot) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "group_type_id": item.group_type_id}


def group_snapshot(
    item: GroupSnapshot, version: Version, *, project: bool = False
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": item.id,
        "group_id": item.group_id,
        "group_type_id": item.group_type_id,
        "status": item.status,
        "created_at": timestamp(item.created_at),
        "name": item.name,
        "description": item.description,
    }
    if version.at_least("3.58") and project:
        view["project_id"] = item.project_id
    return view
