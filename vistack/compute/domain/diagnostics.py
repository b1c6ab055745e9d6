"""Server diagnostics (`GET /servers/{id}/diagnostics`, an administrator's): what vCenter
reports about the VM.

Before 2.48 Nova's VMware driver answers a free-form dictionary: the VM's `summary.config`,
`summary.quickStats` and `summary.runtime` fields, each prefixed `vmware:`; this answers the
same. From 2.48 the answer is Nova's standard format (state, driver, hypervisor, CPU, NIC,
disk and memory details); vSphere's quick stats carry no per-CPU, per-NIC or per-disk
counters, so those entries list the devices with their counters null, as Nova's VMware driver
leaves them unset. The simulator's quick stats are empty: uptime then comes from the boot time
and the memory used is unknown (null).

Nova asks the hypervisor only for a running guest: any other power state is a 409.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.access import authorized_server
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import NO_BACKEND
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import PowerState, VMStats

#: Nova's names of its power states (`nova.compute.power_state.STATE_MAP`).
POWER_NAMES = {
    PowerState.ON: "running",
    PowerState.OFF: "shutdown",
    PowerState.SUSPENDED: "suspended",
}
#: Nova's driver name for vSphere: its diagnostics field is an enum clients check.
DRIVER = "vmwareapi"
HYPERVISOR = "esxi"

_NIC_COUNTERS = (
    "rx_octets",
    "rx_errors",
    "rx_drop",
    "rx_packets",
    "rx_rate",
    "tx_octets",
    "tx_errors",
    "tx_drop",
    "tx_packets",
    "tx_rate",
)
_DISK_COUNTERS = ("read_bytes", "read_requests", "write_bytes", "write_requests", "errors_count")


class DiagnosticsService:
    """Reads a server's VM figures for an administrator."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, drivers: Drivers | None):
        self._store = store
        self._policy = policy
        self._drivers = drivers

    def _server(self, context: RequestContext, server_id: str) -> Server:
        return authorized_server(
            self._store, self._policy, context, server_id, "os_compute_api:os-server-diagnostics"
        )

    def _stats(self, context: RequestContext, server_id: str) -> tuple[Server, VMStats]:
        server = self._server(context, server_id)
        if not server.cluster:
            raise Conflict(f"Instance {server_id} is not ready")  # Nova's InstanceNotReady
        if self._drivers is None:
            raise Conflict(NO_BACKEND)
        try:
            stats = self._drivers.compute.vm_stats(server_id)
        except NotFoundError:
            raise NotFound(f"The VM of instance {server_id} is not in vCenter.") from None
        if stats.power_state is not PowerState.ON:
            state = POWER_NAMES.get(stats.power_state, "pending")
            raise Conflict(
                f"Cannot 'get_diagnostics' instance {server_id} while it is in power_state {state}"
            )
        return server, stats

    def legacy(self, context: RequestContext, server_id: str) -> dict[str, Any]:
        """The pre-2.48 answer: vCenter's figures, `vmware:`-prefixed as Nova's driver does."""
        _, stats = self._stats(context, server_id)
        return {f"vmware:{key}": value for key, value in sorted(stats.raw.items())}

    def standard(self, context: RequestContext, server_id: str) -> dict[str, Any]:
        """The 2.48 standard format."""
        server, stats = self._stats(context, server_id)
        cpus = [{"id": index, "time": None, "utilisation": None} for index in range(stats.cpus)]
        nics = [{"mac_address": mac, **dict.fromkeys(_NIC_COUNTERS)} for mac in stats.nic_macs]
        disks = [dict.fromkeys(_DISK_COUNTERS) for _ in stats.disk_paths]
        return {
            "state": POWER_NAMES.get(stats.power_state, "pending"),
            "driver": DRIVER,
            "hypervisor": HYPERVISOR,
            "hypervisor_os": HYPERVISOR,
            "uptime": stats.uptime_seconds,
            "config_drive": bool(server.config_drive),
            "num_cpus": len(cpus),
            "num_nics": len(nics),
            "num_disks": len(disks),
            "cpu_details": cpus,
            "nic_details": nics,
            "disk_details": disks,
            "memory_details": {"maximum": stats.memory_mb, "used": stats.guest_memory_used_mb},
        }
