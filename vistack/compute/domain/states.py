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
SUSPENDING = "suspending"
RESUMING = "resuming"

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

# Snapshots, backups, rebuild, shelve and rescue (domain/snapshots.py, rebuild.py, shelve.py,
# rescue.py): Nova's task states for them, and the statuses Nova shows during a rebuild.
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_BACKUP = "image_backup"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"

#: The tasks of a snapshot or backup (createImage, createBackup).
SNAPSHOT_TASKS = (IMAGE_SNAPSHOT, IMAGE_BACKUP, IMAGE_PENDING_UPLOAD, IMAGE_UPLOADING)
#: The tasks of a rebuild.
REBUILD_TASKS = (REBUILDING, REBUILD_BLOCK_DEVICE_MAPPING, REBUILD_SPAWNING)
#: The tasks of a shelve (its snapshot included) and of an offload.
SHELVE_TASKS = (
    SHELVING,
    SHELVING_IMAGE_PENDING_UPLOAD,
    SHELVING_IMAGE_UPLOADING,
    SHELVING_OFFLOADING,
)

for _rebuilding in (ACTIVE, STOPPED, ERROR):
    for _task in REBUILD_TASKS:
        _STATUS[_rebuilding][_task] = "REBUILD"

# Resize, cold and live migration (domain/moves.py, domain/resize.py): Nova's task states and
# the statuses Nova shows for them.
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
MIGRATING = "migrating"

#: The tasks of a resize or cold migration before VERIFY_RESIZE.
RESIZE_TASKS = (RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH)

for _moving in (ACTIVE, STOPPED):
    for _task in RESIZE_TASKS:
        _STATUS[_moving][_task] = "RESIZE"
_STATUS[ACTIVE][MIGRATING] = "MIGRATING"
_STATUS[RESIZED][RESIZE_REVERTING] = "REVERT_RESIZE"
STATUS_FILTERS.setdefault("RESIZE", (ACTIVE, STOPPED))
STATUS_FILTERS.setdefault("MIGRATING", (ACTIVE,))
STATUS_FILTERS.setdefault("REVERT_RESIZE", (RESIZED,))
