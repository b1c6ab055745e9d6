"""`os-hosts` (microversions 2.1 to 2.42): the hosts of this cloud's services, a compute host's
capacity and use, and enabling or disabling it.

A compute host here is a cluster (its `nova-compute`), the scheduler and conductor run on the
controller. Maintenance mode and power actions are the ESXi hosts' and vCenter's to decide
(DRS evacuates a host entering maintenance mode, vSphere powers hosts): they are refused with
501, as Nova's VMware driver refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, NotImplementedByBackend
from vistack.common.policy import PolicyEngine
from vistack.compute.db import host_usage
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import COMPUTE, ClusterService, Hypervisor

POWER_ACTIONS = ("reboot", "shutdown", "startup")
_POWER_RULES = {"reboot": "reboot", "shutdown": "shutdown", "startup": "start"}


class HostService:
    """The reads and changes of `os-hosts`."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, clusters: ClusterService) -> None:
        self._store = store
        self._policy = policy
        self._clusters = clusters

    def list_hosts(self, context: RequestContext, zone: str | None) -> list[dict[str, str]]:
        """Every service's host, named by its topic (`compute`, `scheduler`, `conductor`);
        `zone` keeps those of one availability zone (an empty one keeps all, as Nova)."""
        self._policy.authorize("os_compute_api:os-hosts:list", context, {})
        states = self._clusters.services(context)
        return [
            {"host_name": s.host, "service": s.binary.removeprefix("nova-"), "zone": s.zone}
            for s in states
            if not zone or s.zone == zone
        ]

    def _compute(self, context: RequestContext, host: str) -> Hypervisor:
        for hypervisor in self._clusters.hypervisors(context, detail=True):
            if hypervisor.name == host:
                return hypervisor
        raise NotFound(f"Compute host {host} could not be found.")

    def show(self, context: RequestContext, host: str) -> list[dict[str, Any]]:
        """The host's capacity `(total)`, its use `(used_now)` and `(used_max)` (its servers'
        flavors summed: the same here, as nothing is used beyond what flavors hold), and each
        project's part."""
        self._policy.authorize("os_compute_api:os-hosts:show", context, {})
        node = self._compute(context, host)
        with self._store.transaction() as unit:
            projects = host_usage.by_project(unit, host)

        def resource(project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
            values = {"project": project, "cpu": cpu, "memory_mb": memory_mb, "disk_gb": disk_gb}
            return {"resource": {"host": host, **values}}

        used = (node.vcpus_used, node.memory_mb_used, node.local_gb_used)
        return [
            resource("(total)", node.vcpus, node.memory_mb, node.local_gb),
            resource("(used_now)", *used),
            resource("(used_max)", *used),
            *(resource(p, c, m, d) for p, c, m, d in projects),
        ]

    def update(self, context: RequestContext, host: str, body: Any) -> dict[str, str]:
        """`{"status": "enable"|"disable", "maintenance_mode": "enable"|"disable"}`.

        :raises BadRequest: a malformed body. :raises NotFound: no compute host of that name.
        :raises NotImplementedByBackend: maintenance mode (vSphere's own).
        """
        self._policy.authorize("os_compute_api:os-hosts:update", context, {})
        if not isinstance(body, Mapping) or not body or set(body) - {"status", "maintenance_mode"}:
            raise BadRequest(
                "Invalid input for field/attribute body: it takes 'status' and/or "
                "'maintenance_mode', each 'enable' or 'disable'."
            )
        for key, value in body.items():
            if value not in ("enable", "disable"):
                raise BadRequest(
                    f"Invalid input for field/attribute {key}. Value: {value}. "
                    f"{value!r} is not one of ['enable', 'disable']"
                )
        self._compute(context, host)
        if "maintenance_mode" in body:
            raise NotImplementedByBackend("Virt driver does not implement host maintenance mode.")
        action = str(body["status"])
        state = self._clusters.update_service(context, action, {"host": host, "binary": COMPUTE})
        return {"host": host, "status": "disabled" if state.disabled else "enabled"}

    def power(self, context: RequestContext, host: str, action: str) -> None:
        """reboot, shutdown, startup: the ESXi hosts' power is vCenter's, never this cloud's.

        :raises NotFound: no compute host of that name. :raises NotImplementedByBackend: always.
        """
        self._policy.authorize(f"os_compute_api:os-hosts:{_POWER_RULES[action]}", context, {})
        self._compute(context, host)
        raise NotImplementedByBackend("Virt driver does not implement host power management.")
