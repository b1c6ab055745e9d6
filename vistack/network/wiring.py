"""Builds the network services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

from pathlib import Path

from vistack.common.db import Database
from vistack.common.lanes import WorkLane, database_lane_width
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.drivers.bundle import Drivers
from vistack.network.api.deps import NetworkServices
from vistack.network.dataplane.dhcp_ports import DhcpPorts
from vistack.network.dataplane.metadata import build_metadata_relay
from vistack.network.dataplane.sync import EdgeSync
from vistack.network.db.repository import NetworkStore
from vistack.network.domain.agents import AgentReporter
from vistack.network.domain.models import network_options
from vistack.network.domain.service import NetworkService


def build_network_services(
    settings: Settings, database: Database, policy: PolicyEngine, drivers: Drivers | None
) -> NetworkServices:
    """Without drivers (no vCenter) networks can be listed but not created: a network must be
    a port group, and there is no switch to put it on."""
    options = network_options(settings.network, settings.data_dir)
    driver = drivers.networks if drivers is not None else None
    # A vCenter without a distributed switch has nowhere to put networks: like no driver.
    dvs = (drivers.topology.dvs or None) if drivers is not None else None
    service = NetworkService(NetworkStore(database), policy, options, driver, dvs)
    if options.backend == "edge":
        # Edge mode serves DHCP: each network's DHCP port follows its subnets.
        service.dhcp_port_sync = DhcpPorts(service).reconcile
    lane = WorkLane(database_lane_width(settings.database_url))
    return NetworkServices(networks=service, database_lane=lane)


def metadata_upstream(settings: Settings) -> str:
    """Where 169.254.169.254 leads: `[network] metadata_url`, else this cloud's own
    `/metadata` (the compute service's metadata API, served by the same process)."""
    if settings.network.metadata_url:
        return settings.network.metadata_url
    host, _, port = settings.server.bind.rpartition(":")
    if host in {"", "0.0.0.0", "::", "[::]"}:
        host = "127.0.0.1"
    return f"http://{host}:{port}/metadata"


def build_edge_sync(settings: Settings, services: NetworkServices) -> EdgeSync | None:
    """Edge mode: the thread that programs this node's data plane from the database (not
    started; the composition root starts it once everything is built, and stops it on close).
    Its first pass also repairs every network's DHCP port."""
    service = services.networks
    options = service._options
    if options.backend != "edge" or options.edge_state_dir is None:
        return None
    dhcp_ports = DhcpPorts(service)
    return EdgeSync.for_options(
        service._store,
        options.edge_state_dir,
        options.edge_trunk_interface,
        before_first_apply=dhcp_ports.reconcile_all,
        # The node's DHCP, L3 and metadata agents report (GET /v2.0/agents) from its passes.
        reporter=AgentReporter(service.agents, availability_zone=options.availability_zone),
        relay=build_metadata_relay(
            service._store,
            options.edge_state_dir,
            Path(settings.data_dir),
            metadata_upstream(settings),
            settings.compute.metadata_proxy_shared_secret,
        ),
    )
