"""The values the compute domain hands to the API: a server as it is recorded, a list request,
and what a create asked for (already checked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The `system_metadata` key of the image a create named when that image's mappings made the
#: server volume-backed (`Server.image_ref`).
IMAGE_REF_KEY = "image_ref"

#: The `system_metadata` key of the server group a create put the server in ("" for none):
#: a server joins a group only at its create, so a build or move of one created outside any
#: group need not look for its group (`Server.may_be_in_group`).
SERVER_GROUP_KEY = "server_group"


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
    locked_reason: str | None = None
    #: Per-server scratch state (`reservation_id`, `launch_index` of its create, ...).
    system_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def image_ref(self) -> str:
        """Nova's `instance.image_ref`, what the server shows as its image: `image_id`, or
        for a server booted from an image whose block device mappings made it volume-backed
        (a volume-backed server's snapshot) that image, which Nova keeps as the server's
        image though its root is a volume (`image_id` "" says that here)."""
        return self.image_id or str(self.system_metadata.get(IMAGE_REF_KEY) or "")

    @property
    def may_be_in_group(self) -> bool:
        """False only for a server its create recorded outside any server group (servers
        recorded before the key existed may be members)."""
        return self.system_metadata.get(SERVER_GROUP_KEY, None) != ""


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
    #: 2.66's `changes-before` (servers changed at or before it, deleted ones included).
    changes_before: datetime | None = None
    #: 2.73's `locked` filter.
    locked: bool | None = None
    #: Attribute filters (`server_filters`): (name, value) pairs.
    attributes: tuple[tuple[str, str], ...] = ()
    #: `ip6` (a regular expression on IPv6 addresses, 2.5).
    ip6: str | None = None
    #: The tag filters (2.26): all of, any of, not all of, none of.
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()


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
    #: False for `networks: none` (2.37): no network even where the project has one.
    auto_networks: bool = True
    #: The cluster an administrator asked for (`zone:host`, or 2.74's `host` /
    #: `hypervisor_hostname`); the build goes there or fails.
    requested_cluster: str | None = None
    #: Whether it was named by `zone:host` (policy `create:forced_host`) rather than 2.74's
    #: fields (policy `create:requested_destination`).
    forced_host: bool = False
    #: The hostname asked for (2.90; else made from the name).
    hostname: str | None = None
    #: The server's description (2.19) and tags (2.52).
    description: str | None = None
    tags: tuple[str, ...] = ()
    #: `OS-DCF:diskConfig` as asked (shown back; vSphere grows the root disk either way).
    disk_config: str = "MANUAL"
    #: Personality: (path, contents) of the files the config drive carries (personality.py).
    injected_files: tuple[tuple[str, bytes], ...] = ()
