"""The network service's options, parsed once from [network] at wiring."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistack.config import ConfigError, NetworkSettings

RESOURCES = ("network", "subnet", "port", "security_group", "security_group_rule")


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

    @property
    def physical_networks(self) -> set[str]:
        return {self.physical_network, *(r.physical_network for r in self.vlan_ranges)}


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


def network_options(settings: NetworkSettings) -> NetworkOptions:
    if settings.backend != "dvs":
        raise ConfigError(f"[network] backend {settings.backend!r} is not available yet; use 'dvs'")
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
        },
    )
