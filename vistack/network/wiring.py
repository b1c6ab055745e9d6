"""Builds the network services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.drivers.bundle import Drivers
from vistack.network.api.deps import NetworkServices
from vistack.network.db.repository import NetworkStore
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
    return NetworkServices(networks=service)
