"""A flavor's resource tuning (`VMTuning`) as vSphere config, and read back from a VM.

CPU and memory limits, reservations and shares are `config.cpuAllocation` and
`config.memoryAllocation` (a `ResourceAllocationInfo` each); the hardware version is
`config.version`. vSphere's defaults (limit -1, reservation 0, normal shares) read back as
`None`, so a VM built without tuning compares equal to the empty `VMTuning()`.
"""

from __future__ import annotations

from typing import Any

from vistack.drivers.errors import UnsupportedError
from vistack.drivers.models import Allocation, VMTuning
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

#: The properties `tuning_of` reads.
TUNING_PATHS = ("config.cpuAllocation", "config.memoryAllocation", "config.version")

#: vSphere's share levels; `normal` is the default and reads back as None.
_LEVELS = ("low", "normal", "high", "custom")


def allocation_info(allocation: Allocation) -> Any:
    """The ResourceAllocationInfo that asks for `allocation` (every field set, so a change
    back to a default is applied too)."""
    info = vim.ResourceAllocationInfo(
        limit=-1 if allocation.limit is None else allocation.limit,
        reservation=0 if allocation.reservation is None else allocation.reservation,
    )
    level = allocation.shares_level or "normal"
    shares = vim.SharesInfo(level=level, shares=allocation.shares or 0)
    info.shares = shares
    return info


def apply_allocations(config: Any, tuning: VMTuning) -> None:
    """Set both allocations of `tuning` on a ConfigSpec."""
    config.cpuAllocation = allocation_info(tuning.cpu)
    config.memoryAllocation = allocation_info(tuning.memory)


def _allocation(info: Any) -> Allocation:
    if info is None:
        return Allocation()
    limit = getattr(info, "limit", None)
    reservation = getattr(info, "reservation", None)
    shares = getattr(info, "shares", None)
    level = str(getattr(shares, "level", "") or "") if shares is not None else ""
    return Allocation(
        limit=None if limit is None or limit < 0 else int(limit),
        reservation=int(reservation) if reservation else None,
        shares_level=level if level in _LEVELS and level != "normal" else None,
        shares=int(shares.shares) if level == "custom" and shares is not None else None,
    )


def tuning_of(props: Any) -> VMTuning:
    """What a VM has, from `TUNING_PATHS` properties (a mapping or ObjectProps)."""
    return VMTuning(
        cpu=_allocation(props.get("config.cpuAllocation")),
        memory=_allocation(props.get("config.memoryAllocation")),
        hw_version=str(props.get("config.version") or "") or None,
    )


def allocations_differ(wanted: VMTuning, actual: VMTuning) -> bool:
    return (wanted.cpu, wanted.memory) != (actual.cpu, actual.memory)


def upgrade_hardware(client: Client, vm: Any, version: str, timeout: float) -> None:
    """`UpgradeVM_Task` to `version` (the VM must be off), checked by reading it back.

    :raises UnsupportedError: the backend upgraded to another version (vcsim always goes to
        its own, vmx-13) or not at all: the flavor's version cannot be had there.
    """
    wait_for_task(client, vm.UpgradeVM_Task(version=version), timeout)
    props = retrieve_one(client, vm, ["config.version"])
    actual = str(props.get("config.version") or "") if props is not None else ""
    if actual != version:
        raise UnsupportedError(
            f"vCenter did not upgrade the VM's virtual hardware to {version} (it reports "
            f"{actual or 'none'}); choose a flavor without vmware:hw_version {version}"
        )
