"""The services behind Nova's small operator and guest APIs, built together (one field of
`ComputeServices`, one construction in `wiring.py`): the posted server password
(`os-server-password`), the usage audit report (`os-instance_usage_audit_log`) and Neutron's
and Cinder's callbacks (`os-server-external-events`), and the extension list (`extensions`)."""

from __future__ import annotations

from dataclasses import dataclass

from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.assisted_snapshots import AssistedSnapshots
from vistack.compute.domain.extension_list import ExtensionList
from vistack.compute.domain.external_events import ExternalEvents
from vistack.compute.domain.server_password import ServerPasswordService
from vistack.compute.domain.usage_audit import UsageAuditLog
from vistack.drivers.bundle import Drivers
from vistack.network.domain.service import NetworkService


@dataclass(frozen=True)
class SmallApis:
    passwords: ServerPasswordService
    audit_log: UsageAuditLog
    external_events: ExternalEvents
    extensions: ExtensionList
    assisted_snapshots: AssistedSnapshots


def build_small_apis(
    store: ComputeStore, policy: PolicyEngine, networks: NetworkService, drivers: Drivers | None
) -> SmallApis:
    return SmallApis(
        passwords=ServerPasswordService(store, policy),
        audit_log=UsageAuditLog(store, policy),
        external_events=ExternalEvents(store, policy, networks, drivers),
        extensions=ExtensionList(policy),
        assisted_snapshots=AssistedSnapshots(policy),
    )


def required(value: SmallApis | None) -> SmallApis:
    """The services, which the composition root always builds (None only in a hand-made
    `ComputeServices` that does not serve these routes)."""
    if value is None:
        raise RuntimeError("ComputeServices was built without its small APIs")
    return value
