"""The desired state of one edge node, as plain frozen dataclasses.

The Neutron service computes this from its database and hands the whole thing to
`EdgeAgent.apply`; the agent never reads the database itself, so it can run on a separate edge node
and be tested without one. Every field is already resolved: IPs come from Neutron's IPAM, remote
security groups are expanded by the caller into prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class Segment:
    """One tenant (or external) network's L2 segment on this node.

    `vlan` is the provider segmentation id; it is used only when the agent has a trunk interface.
    Each segment also gets its own conntrack zone (derived from the network id): networks may reuse
    the same addresses, and a zone per segment keeps their firewall connection tracking apart.
    """

    network_id: str
    vlan: int | None = None


@dataclass(frozen=True)
class DhcpHost:
    """A fixed MAC → IP binding (Neutron port), the only thing dnsmasq hands out.

    `options` are the port's own DHCP options (Neutron's `extra_dhcp_opts`, IPv4 only):
    (dnsmasq option name or number, value) pairs sent to this host alone."""

    mac: str
    ip: str
    hostname: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DhcpSubnet:
    """DHCP service for one subnet: a port (`port_ip`/`port_mac`) in the network's qdhcp namespace.

    All subnets of one network share that network's namespace, port and dnsmasq; they must then
    agree on `port_mac`. `metadata_via` picks the next hop of the 169.254.169.254/32 route given
    with option 121: the router (the subnet gateway) or this DHCP port (isolated networks).
    """

    network_id: str
    subnet_id: str
    cidr: str
    port_ip: str
    port_mac: str
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()
    hosts: tuple[DhcpHost, ...] = ()
    metadata_via: Literal["router", "dhcp"] | None = None
    lease_seconds: int = 86400

    @property
    def metadata_next_hop(self) -> str:
        """Where instances send metadata requests: the router when there is one, else DHCP."""
        via = self.metadata_via or ("router" if self.gateway_ip else "dhcp")
        if via == "router" and self.gateway_ip:
            return self.gateway_ip
        return self.port_ip


@dataclass(frozen=True)
class RouterInterface:
    """A router leg on a tenant subnet; `ip` is the subnet's gateway IP."""

    subnet_id: str
    network_id: str
    ip: str
    cidr: str
    mac: str | None = None


@dataclass(frozen=True)
class ExternalGateway:
    """The router's leg on the external network: its IP, and the upstream next hop."""

    network_id: str
    ip: str
    cidr: str
    nexthop: str | None = None
    enable_snat: bool = True
    mac: str | None = None


@dataclass(frozen=True)
class FloatingIp:
    """A 1:1 NAT between an external address and a fixed IP behind the router."""

    floating_ip: str
    fixed_ip: str


@dataclass(frozen=True)
class MeterRule:
    """One metering label rule: which traffic through the gateway leg it matches (`ingress`
    arrives from the external network, `egress` leaves to it; a None prefix matches any
    address). `excluded` rules are matched first and keep their traffic out of the count."""

    direction: Direction
    excluded: bool = False
    source_ip_prefix: str | None = None
    destination_ip_prefix: str | None = None


@dataclass(frozen=True)
class MeterLabel:
    """A metering label on a router: one traffic counter, named after the label."""

    label_id: str
    rules: tuple[MeterRule, ...] = ()


@dataclass(frozen=True)
class Router:
    router_id: str
    interfaces: tuple[RouterInterface, ...] = ()
    gateway: ExternalGateway | None = None
    routes: tuple[tuple[str, str], ...] = ()
    floating_ips: tuple[FloatingIp, ...] = ()
    #: Metering labels counting the gateway leg's traffic (none without a gateway).
    meters: tuple[MeterLabel, ...] = ()


@dataclass(frozen=True)
class FirewallRule:
    """One security group rule; `remote_ip_prefix` None means any address.

    For tcp/udp `port_min`/`port_max` are the destination port range; for icmp they are the ICMP
    type and code, as in Neutron. `protocol` None means every protocol.
    """

    direction: Direction
    protocol: str | None = None
    port_min: int | None = None
    port_max: int | None = None
    remote_ip_prefix: str | None = None
    ethertype: Literal["IPv4", "IPv6"] = "IPv4"
    #: A remote security group: the rule matches the addresses of `EdgeState.address_groups`
    #: of that id (a kernel set, so a group of N members is one rule, not N per port).
    remote_group: str | None = None


@dataclass(frozen=True)
class PortFirewall:
    """The security groups of one port, flattened into rules. Ports absent have no filtering."""

    port_id: str
    network_id: str
    mac: str
    ips: tuple[str, ...]
    rules: tuple[FirewallRule, ...] = ()


@dataclass(frozen=True)
class AddressGroup:
    """The addresses of one security group's member ports, named by rules' `remote_group`."""

    group_id: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class EdgeState:
    segments: tuple[Segment, ...] = ()
    dhcp: tuple[DhcpSubnet, ...] = ()
    routers: tuple[Router, ...] = ()
    firewalls: tuple[PortFirewall, ...] = ()
    address_groups: tuple[AddressGroup, ...] = ()
