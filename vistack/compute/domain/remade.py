"""The last steps of the jobs that make a server's VM again (rebuild, of an image or of a
volume, and unshelve from offloaded).

However the VM was made, the server's row ends the same way: the task is over, the power
state and host are what vCenter reports for the new VM, `launched_at` is now and an earlier
fault is cleared. Both rebuilds also record the cluster before the VM is made (task
`rebuild_spawning`), so a failure or a delete meanwhile finds it.
"""

from __future__ import annotations

from collections.abc import Callable

from vistack.common.clock import utcnow
from vistack.compute.domain import states
from vistack.compute.domain.lifecycle import ActionDeps, step
from vistack.drivers.models import VMInfo


def record_made_vm(
    deps: ActionDeps, server_id: str, current: str, vm: VMInfo, *, vm_state: str
) -> None:
    """End the task `current`: the server is `vm_state` on its new VM `vm`.

    :raises Aborted: the task is not `current` any more (a delete took the server over).
    """
    step(
        deps,
        server_id,
        current,
        vm_state=vm_state,
        task_state=None,
        power_state=states.POWER_NUMBERS[vm.power_state],
        vm_host=vm.host,
        launched_at=utcnow(),
        fault=None,
    )


def spawn_rebuilt(
    deps: ActionDeps, server_id: str, cluster: str, make: Callable[[], VMInfo], *, stopped: bool
) -> None:
    """A rebuild's spawning: record the cluster, make the VM (`make`) and end the rebuild,
    the server stopped (SHUTOFF) when it was before, else ACTIVE.

    :raises Aborted: a delete took the server over.
    """
    step(
        deps,
        server_id,
        states.REBUILD_BLOCK_DEVICE_MAPPING,
        task_state=states.REBUILD_SPAWNING,
        cluster=cluster,
    )
    vm = make()
    vm_state = states.STOPPED if stopped else states.ACTIVE
    record_made_vm(deps, server_id, states.REBUILD_SPAWNING, vm, vm_state=vm_state)
