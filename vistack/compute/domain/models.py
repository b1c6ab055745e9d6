"""The values the compute domain hands to the API: a server as it is recorded, a list request,
and what a create asked for (already checked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Server:
    """A server's record (what `GET /servers/{id}` renders)."""

    id: str
    project_id: str
    user_id: str
    name: str
    hostname: str
    description: str | None
    flavor: dict[str, Any]
    image_id: str
    key_name: str | None
    config_drive: bool
    metadata: dict[str, str]
    addresses: dict[str, list[dict[str, Any]]]
    security_groups: list[str]
    availability_zone: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    cluster: str | None
    vm_host: str | None
    locked: bool
    launched_at: datetime | None
    terminated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    fault: dict[str, Any] | None
    user_data: str | None = None
    key_data: str | None = None
    #: What the create asked for, kept for the build (see `ServerRow.requested_networks`).
    requested_networks: tuple[dict[str, Any], ...] = ()
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None


@dataclass(frozen=True)
class ServerQuery:
    """One `GET /servers[/detail]` request, checked: `project_id` None lists every project."""

    project_id: str | None
    name: str | None = None
    vm_states: tuple[str, ...] | None = None
    image_id: str | None = None
    flavor_id: str | None = None
    cluster: str | None = None
    ip: str | None = None
    changes_since: datetime | None = None
    include_deleted: bool = False
    limit: int = 1000
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"


@dataclass(frozen=True)
class NetworkRequest:
    """One entry of a create's `networks`: a network to get a new port on (optionally with a
    fixed IP), or an existing port to plug."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


@dataclass(frozen=True)
class ServerRequest:
    """A checked `POST /servers`: what the build needs, copied before it starts."""

    name: str
    image_id: str
    flavor: dict[str, Any]
    networks: tuple[NetworkRequest, ...]
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    security_groups: tuple[str, ...] = ("default",)
    config_drive: bool = False
    min_count: int = 1
    max_count: int = 1
    admin_password: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
