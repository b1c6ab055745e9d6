"""The metadata route's Neutron side: who is asking, and the relay that forwards for them.

The edge library's namespace proxies tell the host relay only the asking address and the router
(or isolated network) the request came through; `MetadataResolver` turns that into the instance
(the port's device_id) and its project, which the relay signs for the compute metadata service.
An address is unique only within a router's subnets or one network, hence the two lookups.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select

from vistack.edge import MetadataRelay, MetadataTarget
from vistack.network.db.repository import NetworkStore
from vistack.network.db.tables import IpAllocationRow, PortRow

ROUTER_INTERFACE = "network:router_interface"
SECRET_FILE = "metadata_secret"
#: Requests for no instance (a DHCP or router port asking) are refused like unknown addresses.
NETWORK_OWNER_PREFIX = "network:"


class MetadataResolver:
    """`resolve(ip, router_id=..., network_id=...)` for `MetadataRelay`, from the database."""

    def __init__(self, store: NetworkStore) -> None:
        self._store = store

    def __call__(
        self, ip: str, router_id: str | None = None, network_id: str | None = None
    ) -> MetadataTarget | None:
        with self._store.transaction() as unit:
            session = unit.session
            query = (
                select(PortRow.device_id, PortRow.project_id, PortRow.device_owner)
                .join(IpAllocationRow, IpAllocationRow.port_id == PortRow.id)
                .where(IpAllocationRow.ip_address == ip)
            )
            if network_id is not None:
                query = query.where(IpAllocationRow.network_id == network_id)
            elif router_id is not None:
                legs = (
                    select(IpAllocationRow.subnet_id)
                    .join(PortRow, PortRow.id == IpAllocationRow.port_id)
                    .where(PortRow.device_id == router_id, PortRow.device_owner == ROUTER_INTERFACE)
                )
                query = query.where(IpAllocationRow.subnet_id.in_(legs))
            else:
                return None
            for device_id, project_id, owner in session.execute(query):
                if device_id and not (owner or "").startswith(NETWORK_OWNER_PREFIX):
                    return MetadataTarget(instance_id=device_id, project_id=project_id)
        return None


def shared_secret(data_dir: Path, configured: str = "") -> str:
    """The secret the relay signs instance ids with: `configured` (`[compute]
    metadata_proxy_shared_secret`) when set, else made once per cloud (0600 in the data dir).

    The compute metadata service reads the same to check `X-Instance-ID-Signature`."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def metadata_socket(state_dir: Path) -> Path:
    """Beside the agent's state dir (a unix socket path must stay under 108 bytes)."""
    return state_dir / "metadata.sock"


def build_metadata_relay(
    store: NetworkStore, state_dir: Path, data_dir: Path, upstream_url: str, secret: str = ""
) -> MetadataRelay:
    """The relay of this node (not started: `EdgeSync` starts and stops it with its thread)."""
    return MetadataRelay(
        metadata_socket(state_dir),
        upstream_url,
        MetadataResolver(store),
        shared_secret(data_dir, secret),
    )
