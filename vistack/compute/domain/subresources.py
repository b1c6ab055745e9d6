"""The services behind a server's sub-resources and small actions, built together: its
interfaces, security groups, diagnostics, consoles and console logs, the administrator's
actions and the action events (one field of `ComputeServices`, one construction in
`wiring.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.action_events import ActionEvents
from vistack.compute.domain.admin_actions import AdminActions
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.console_output import ConsoleOutput
from vistack.compute.domain.consoles import ConsoleService
from vistack.compute.domain.diagnostics import DiagnosticsService
from vistack.compute.domain.interfaces import InterfaceService
from vistack.compute.domain.server_security_groups import ServerSecurityGroups
from vistack.drivers.bundle import Drivers
from vistack.network.domain.service import NetworkService


@dataclass(frozen=True)
class ServerSubResources:
    interfaces: InterfaceService
    security_groups: ServerSecurityGroups
    diagnostics: DiagnosticsService
    consoles: ConsoleService
    console_output: ConsoleOutput
    admin: AdminActions
    #: The read side of action events (`os-instance-actions/{request_id}`).
    events: ActionEvents


def build_sub_resources(
    store: ComputeStore,
    policy: PolicyEngine,
    networks: NetworkService,
    drivers: Drivers | None,
    work: ServerWork | None,
) -> ServerSubResources:
    return ServerSubResources(
        interfaces=InterfaceService(store, policy, networks, drivers, work),
        security_groups=ServerSecurityGroups(store, policy, networks),
        diagnostics=DiagnosticsService(store, policy, drivers),
        consoles=ConsoleService(store, policy, drivers),
        console_output=ConsoleOutput(store, policy, drivers),
        admin=AdminActions(store, policy, networks),
        events=ActionEvents(store, policy),
    )


def required(value: ServerSubResources | None) -> ServerSubResources:
    """The services, which the composition root always builds (None only in a hand-made
    `ComputeServices` that does not serve these routes)."""
    if value is None:
        raise RuntimeError("ComputeServices was built without its server sub-resources")
    return value
