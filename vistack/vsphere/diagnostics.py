"""A VM's figures for Nova's diagnostics, read in one PropertyCollector call.

Nova's VMware driver reports `summary.config`, `summary.quickStats` and `summary.runtime`
flattened into one dictionary; this does the same (scalar fields only, morefs as their ids,
times in ISO 8601) and picks out what the 2.48 standard format needs. vcsim leaves
`quickStats` empty, so its uptime comes from `summary.runtime.bootTime` and usage stays unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vistack.drivers.models import PowerState, VMStats
from vistack.vsphere import devices
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client
from vistack.vsphere.vmomi import ManagedObject, vmodl

PATHS = ("summary.config", "summary.quickStats", "summary.runtime", "config.hardware.device")
_POWER = {
    "poweredOn": PowerState.ON,
    "poweredOff": PowerState.OFF,
    "suspended": PowerState.SUSPENDED,
}
Scalar = str | int | float | bool | None


def vm_stats(client: Client, vm: Any) -> VMStats:
    props = retrieve_one(client, vm, PATHS)
    if props is None:
        raise vmodl.fault.ManagedObjectNotFound(obj=vm)
    raw: dict[str, Scalar] = {}
    for path in PATHS[:3]:
        raw.update(flatten(props.get(path)))
    device_list = list(props.get("config.hardware.device") or ())
    uptime = _int(raw.get("uptimeSeconds"))
    power = _POWER.get(str(raw.get("powerState")), PowerState.UNKNOWN)
    if uptime is None and power is PowerState.ON and isinstance(raw.get("bootTime"), str):
        booted = datetime.fromisoformat(str(raw["bootTime"]))
        if booted.tzinfo is None:
            booted = booted.replace(tzinfo=UTC)
        uptime = max(0, int((datetime.now(UTC) - booted).total_seconds()))
    return VMStats(
        power_state=power,
        cpus=_int(raw.get("numCpu")) or 0,
        memory_mb=_int(raw.get("memorySizeMB")) or 0,
        uptime_seconds=uptime,
        guest_memory_used_mb=_int(raw.get("guestMemoryUsage")),
        cpu_usage_mhz=_int(raw.get("overallCpuUsage")),
        nic_macs=tuple(str(n.macAddress).lower() for n in devices.nics(device_list)),
        disk_paths=tuple(devices.disk_path(d) for d in devices.disks(device_list)),
        raw=raw,
    )


def flatten(data: Any) -> dict[str, Scalar]:
    """The scalar fields of a vSphere data object by name (nested objects and lists left out:
    Nova's driver shows the same one level)."""
    if data is None:
        return {}
    out: dict[str, Scalar] = {}
    for prop in data._GetPropertyList():
        value = getattr(data, prop.name, None)
        if value is None or prop.name in ("dynamicType", "dynamicProperty"):
            continue
        if isinstance(value, datetime):
            out[prop.name] = value.isoformat()
        elif isinstance(value, ManagedObject):
            out[prop.name] = str(value._moId)
        elif isinstance(value, str | int | float | bool):
            out[prop.name] = value
    return out


def _int(value: Scalar) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
