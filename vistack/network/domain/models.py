"""The network service's options, parsed once from [network] at wiring."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vistack.config import ConfigError, NetworkSettings

Backend = Literal["dvs", "edge"]
L2_RESOURCES = ("network", "subnet", "port", "security_group", "security_group_rule")
L3_RESOURCES = ("router", "floatingip")
RESOURCES = L2_RESOURCES + L3_RESOURCES
#: The commands the local edge agent runs (iproute2, nftables, dnsmasq-base).
EDGE_COMMANDS = ("ip", "nft", "dnsmasq")
#: What Neutron accepts as an availability zone name.
ZONE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,255}")


@dataclass(frozen=True)
class VlanRange:
    physical_network: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class NetworkOptions:
    physical_network: str = "physnet1"
    mtu: int = 1500
    vlan_ranges: tuple[VlanRange, ...] = ()
    quotas: dict[str, int] = field(default_factory=dict)
    backend: Backend = "dvs"
    #: The local edge agent's state directory (edge backend only).
    edge_state_dir: Path | None = None
    edge_trunk_interface: str | None = None
    metadata_url: str = ""
    #: The zone the embedded edge agents report (`[network] availability_zone`).
    availability_zone: str = "nova"

    @property
    def physical_networks(self) -> set[str]:
        return {self.physical_network, *(r.physical_network for r in self.vlan_ranges)}

    @property
    def l3(self) -> bool:
        """Routers, floating IPs, DHCP and enforced security groups: the edge backend only."""
        return self.backend == "edge"

    @property
    def resources(self) -> tuple[str, ...]:
        """The quota resources this backend has."""
        return RESOURCES if self.l3 else L2_RESOURCES


def edge_unsupported_reason() -> str | None:
    """Why this host cannot run the local edge agent, or None when it can."""
    if os.geteuid() != 0:
        return "the edge agent needs root (network namespaces, nftables)"
    missing = [c for c in EDGE_COMMANDS if shutil.which(c) is None]
    if missing:
        return "missing commands: " + ", ".join(missing) + " (run tools/bootstrap.sh)"
    return None


def resolve_backend(requested: str) -> Backend:
    """`auto` means edge where this host allows it; `edge` on a host that cannot is an error."""
    if requested not in {"auto", "dvs", "edge"}:
        raise ConfigError(f"[network] backend {requested!r} must be one of auto, dvs, edge")
    reason = edge_unsupported_reason()
    if requested == "dvs" or (requested == "auto" and reason):
        return "dvs"
    if reason:
        raise ConfigError(f"[network] backend 'edge' cannot run here: {reason}")
    return "edge"


def parse_vlan_ranges(entries: list[str], physical_network: str) -> tuple[VlanRange, ...]:
    """`["100:3999", "physnet2:10:20"]` → ranges; refuses malformed or out-of-range entries."""
    ranges: list[VlanRange] = []
    for entry in entries:
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) == 2:
            parts.insert(0, physical_network)
        if len(parts) != 3 or not parts[0]:
            raise ConfigError(f"[network] vlan_ranges: {entry!r} is not physnet:min:max or min:max")
        try:
            low, high = int(parts[1]), int(parts[2])
        except ValueError:
            raise ConfigError(f"[network] vlan_ranges: {entry!r} has a non-integer bound") from None
        if not 1 <= low <= high <= 4094:
            raise ConfigError(
                f"[network] vlan_ranges: {entry!r} must satisfy 1 <= min <= max <= 4094"
            )
        ranges.append(VlanRange(parts[0], low, high))
    return tuple(ranges)


def network_options(settings: NetworkSettings, data_dir: str = ".vistack") -> NetworkOptions:
    backend = resolve_backend(settings.backend)
    if not ZONE_NAME.fullmatch(settings.availability_zone):
        raise ConfigError(
            f"[network] availability_zone {settings.availability_zone!r} must be 1-255 of "
            "letters, digits, '-', '_', '.' and ':'"
        )
    if not 68 <= settings.mtu <= 9000:
        raise ConfigError(f"[network] mtu {settings.mtu} must be within 68..9000")
    return NetworkOptions(
        physical_network=settings.physical_network,
        mtu=settings.mtu,
        vlan_ranges=parse_vlan_ranges(settings.vlan_ranges, settings.physical_network),
        quotas={
            "network": settings.quota_network,
            "subnet": settings.quota_subnet,
            "port": settings.quota_port,
            "security_group": settings.quota_security_group,
            "security_group_rule": settings.quota_security_group_rule,
            "router": settings.quota_router,
            "floatingip": settings.quota_floatingip,
        },
        backend=backend,
        edge_state_dir=Path(settings.edge_state_dir or Path(data_dir) / "edge"),
        edge_trunk_interface=settings.edge_trunk_interface or None,
        metadata_url=settings.metadata_url,
        availability_zone=settings.availability_zone,
    )
