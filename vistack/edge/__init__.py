"""The edge node's data plane: routers, SNAT, floating IPs, DHCP and security groups on Linux.

The Neutron service (edge mode) computes an `EdgeState` and an `EdgeAgent` on each edge/DHCP node
applies it with `ip`, `nft` and `dnsmasq`; a `MetadataRelay` in the vistack process answers the
metadata proxies the agent runs in the namespaces. See docs/edge.md.
"""

from vistack.edge.agent import EdgeAgent, EdgeConfig
from vistack.edge.errors import EdgeCommandError, EdgeError
from vistack.edge.metadata import MetadataRelay, MetadataTarget
from vistack.edge.state import (
    AddressGroup,
    DhcpHost,
    DhcpSubnet,
    EdgeState,
    ExternalGateway,
    FirewallRule,
    FloatingIp,
    PortFirewall,
    Router,
    RouterInterface,
    Segment,
)

__all__ = [
    "AddressGroup",
    "DhcpHost",
    "DhcpSubnet",
    "EdgeAgent",
    "EdgeCommandError",
    "EdgeConfig",
    "EdgeError",
    "EdgeState",
    "ExternalGateway",
    "FirewallRule",
    "FloatingIp",
    "MetadataRelay",
    "MetadataTarget",
    "PortFirewall",
    "Router",
    "RouterInterface",
    "Segment",
]
