"""What the edge node's agents report with their heartbeat: counts of what the last apply
programmed, per Neutron agent type (shown as `configurations` by `GET /v2.0/agents`)."""

from __future__ import annotations

from typing import Any, Protocol

from vistack.edge.state import EdgeState
from vistack.network.db.scheduling import DHCP, L3, METADATA


class Reporter(Protocol):
    """The agents' heartbeat (`vistack.network.domain.agents.AgentReporter`)."""

    def due(self) -> bool: ...

    def report(self, configurations: dict[str, dict[str, Any]] | None = None) -> bool: ...


def configurations(state: EdgeState) -> dict[str, dict[str, Any]]:
    """Neutron's agents report similar counts (`networks`, `ports`, `routers`, ...)."""
    return {
        DHCP: {
            "networks": len({s.network_id for s in state.dhcp}),
            "subnets": len(state.dhcp),
            "ports": sum(len(s.hosts) for s in state.dhcp),
        },
        L3: {
            "routers": len(state.routers),
            "interfaces": sum(len(r.interfaces) for r in state.routers),
            "ex_gw_ports": sum(1 for r in state.routers if r.gateway is not None),
            "floating_ips": sum(len(r.floating_ips) for r in state.routers),
        },
        METADATA: {},
    }
