"""Nova's server state machine: vm_state, task_state and power_state, and the API status a
client sees for each pair (Nova's own mapping, so `--wait` loops and Tempest waiters agree).
"""

from __future__ import annotations

from vistack.drivers.models import PowerState

# vm_states
ACTIVE = "active"
BUILDING = "building"
STOPPED = "stopped"
ERROR = "error"
DELETED = "deleted"
PAUSED = "paused"
SUSPENDED = "suspended"
RESIZED = "resized"
RESCUED = "rescued"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"
SOFT_DELETED = "soft-delete"

# task_states
SCHEDULING = "scheduling"
NETWORKING = "networking"
SPAWNING = "spawning"
DELETING = "deleting"
POWERING_ON = "powering-on"
POWERING_OFF = "powering-off"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"

#: The tasks of a build: a server in one of them after a restart has a build to finish.
BUILD_TASKS = (SCHEDULING, NETWORKING, SPAWNING)

# power_state numbers (Nova's `nova.compute.power_state`)
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7

POWER_NUMBERS = {
    PowerState.ON: RUNNING,
    PowerState.OFF: SHUTDOWN,
    PowerState.SUSPENDED: SUSPENDED_POWER,
    PowerState.UNKNOWN: NOSTATE,
}

_STATUS: dict[str, dict[str | None, str]] = {
    ACTIVE: {
        None: "ACTIVE",
        REBOOTING: "REBOOT",
        REBOOTING_HARD: "HARD_REBOOT",
    },
    BUILDING: {None: "BUILD"},
    STOPPED: {None: "SHUTOFF"},
    ERROR: {None: "ERROR"},
    DELETED: {None: "DELETED"},
    SOFT_DELETED: {None: "SOFT_DELETED"},
    PAUSED: {None: "PAUSED"},
    SUSPENDED: {None: "SUSPENDED"},
    RESIZED: {None: "VERIFY_RESIZE"},
    RESCUED: {None: "RESCUE"},
    SHELVED: {None: "SHELVED"},
    SHELVED_OFFLOADED: {None: "SHELVED_OFFLOADED"},
}


def status_of(vm_state: str, task_state: str | None) -> str:
    """The API status of a (vm_state, task_state) pair; UNKNOWN for a pair Nova lacks."""
    by_task = _STATUS.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task[None])


#: Statuses a `status` filter may name, and the vm_states each selects.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "ACTIVE": (ACTIVE,),
    "BUILD": (BUILDING,),
    "SHUTOFF": (STOPPED,),
    "ERROR": (ERROR,),
    "DELETED": (DELETED,),
    "SOFT_DELETED": (SOFT_DELETED,),
    "PAUSED": (PAUSED,),
    "SUSPENDED": (SUSPENDED,),
    "VERIFY_RESIZE": (RESIZED,),
    "RESCUE": (RESCUED,),
    "SHELVED": (SHELVED,),
    "SHELVED_OFFLOADED": (SHELVED_OFFLOADED,),
    "REBOOT": (ACTIVE,),
    "HARD_REBOOT": (ACTIVE,),
}
