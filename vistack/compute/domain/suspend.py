"""Suspend and resume: vSphere's `SuspendVM_Task` (the guest's memory is written to the VM's
directory and the host's CPU and memory freed) and a power-on, which resumes a suspended VM.

Nova's state machine: `suspend` from ACTIVE (task `suspending`) ends in vm_state `suspended`,
status SUSPENDED, power_state 7; `resume` from SUSPENDED (task `resuming`) ends ACTIVE. Any
other state is a 409, a locked server refuses its owner (409). A failed step leaves the server
where it was, with the fault recorded, as Nova's `reverts_task_state` does.

Pause has no vSphere equivalent of its own (the upstream VMware driver lacks it too); suspend
is what vSphere offers, and the API says so (`api/actions_suspend.py`).

The job holds the server's lock (`ServerWork.locks`) and writes only while its task is still
the one it started (`set_if_task`), so a delete arriving meanwhile always wins; a restart
redoes an interrupted one (each is idempotent against what vCenter already has).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import Conflict, NotImplementedByBackend
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.build import ServerWork, fault_of
from vistack.compute.domain.servers import NO_BACKEND, server_not_found, state_conflict
from vistack.compute.domain.work import context_payload
from vistack.drivers.compute import ComputeDriver
from vistack.drivers.errors import InvalidStateError
from vistack.drivers.models import PowerState, VMInfo

LOG = logging.getLogger(__name__)

SUSPEND_TOPIC = "compute.suspend"
NO_PAUSE = (
    "vSphere has no pause (a paused guest keeps its memory on the host, its CPUs stopped): "
    "its equivalent is suspend, which saves the memory to the datastore and frees the host. "
    "Use the 'suspend' action ('openstack server suspend'), and 'resume' to continue."
)
#: action → (the vm_state it starts from, its task_state).
STEPS = {
    "suspend": (states.ACTIVE, states.SUSPENDING),
    "resume": (states.SUSPENDED, states.RESUMING),
}


class SuspendService:
    """The `suspend` / `resume` actions: state checks here, the vSphere call in a bus job."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        bus: WorkQueue,
        work: ServerWork | None,
        compute: ComputeDriver | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._bus = bus
        self._work = work
        self._compute = compute
        bus.register(SUSPEND_TOPIC, self.run)

    def act(self, context: RequestContext, server_id: str, action: str) -> None:
        """Check the state and queue the job. :raises NotFound, Forbidden, Conflict:"""
        allowed, task = STEPS[action]
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            target = {"project_id": row.project_id} if row is not None else {}
            if row is None or not self._policy.check(
                "os_compute_api:servers:show", context, target
            ):
                raise server_not_found(server_id)
            self._policy.authorize(f"os_compute_api:os-suspend-server:{action}", context, target)
            if row.locked and "admin" not in context.roles:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state != allowed or row.task_state is not None:
                raise state_conflict(row, action)
            if self._work is None:
                raise Conflict(NO_BACKEND)
            queries.set_fields(unit, server_id, task_state=task)
            queries.start_action(
                unit,
                server_id,
                action,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
        self._bus.submit(
            SUSPEND_TOPIC,
            {
                "server_id": server_id,
                "action": action,
                "request_id": context.request_id,
                "context": context_payload(context),
            },
        )

    def refuse_pause(self, context: RequestContext, server_id: str, action: str) -> None:
        """`pause` / `unpause`: the server is checked (404, policy), then refused by name.

        :raises NotImplementedByBackend: always, naming suspend as vSphere's equivalent.
        """
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            target = {"project_id": row.project_id} if row is not None else {}
            if row is None or not self._policy.check(
                "os_compute_api:servers:show", context, target
            ):
                raise server_not_found(server_id)
        self._policy.authorize(f"os_compute_api:os-pause-server:{action}", context, target)
        raise NotImplementedByBackend(NO_PAUSE)

    # ------------------------------------------------------------------ the job

    def run(self, payload: Mapping[str, Any]) -> None:
        server_id = str(payload["server_id"])
        action = str(payload["action"])
        request_id = str(payload.get("request_id", ""))
        task = STEPS[action][1]
        if self._work is None or self._compute is None:
            return
        work, compute = self._work, self._compute
        with work.locks.of(server_id):
            with self._store.transaction() as unit:
                row = queries.get(unit, server_id)
                if row is None or row.task_state != task:
                    return  # deleted, or done by a job before this one
                cluster = row.cluster
            result = "Success"
            event = f"compute_{action}_instance"  # Nova's event names
            try:
                with work.events.record(server_id, request_id, event, host=cluster):
                    vm = _step(compute, server_id, action)
                values: dict[str, Any] = {
                    "power_state": states.POWER_NUMBERS[vm.power_state],
                    "vm_state": VM_STATES.get(vm.power_state, states.ERROR),
                    "vm_host": vm.host,
                }
            except Exception as exc:
                LOG.info("%s of server %s failed: %s", action, server_id, exc)
                values = {"fault": fault_of(exc, [])}
                result = "Error"
            with self._store.transaction() as unit:
                queries.set_if_task(unit, server_id, task, task_state=None, **values)
                queries.finish_action(unit, server_id, request_id, result)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Redo the suspends and resumes a restart interrupted."""
        if self._work is None:
            return
        actions = {task: action for action, (_, task) in STEPS.items()}
        with self._store.transaction() as unit:
            interrupted = queries.live_in_build(unit, tuple(actions))
            rows = [queries.get(unit, server_id) for server_id in interrupted]
        for row in rows:
            if row is not None and row.task_state in actions:
                self._bus.submit(
                    SUSPEND_TOPIC,
                    {"server_id": row.id, "action": actions[row.task_state], "request_id": ""},
                )

    def stop(self) -> None:
        """Nothing runs outside the bus's jobs."""


#: The vm_state a VM's power state means once a suspend or resume ended.
VM_STATES = {
    PowerState.SUSPENDED: states.SUSPENDED,
    PowerState.ON: states.ACTIVE,
    PowerState.OFF: states.STOPPED,
}


def _step(compute: ComputeDriver, server_id: str, action: str) -> VMInfo:
    """Suspend the VM, or power it on (which resumes it); the VM as it then is.

    :raises RuntimeError: the VM is not in the state asked afterwards.
    """
    # Already in the state asked (a resumed job, a change made in vCenter): nothing to do.
    with contextlib.suppress(InvalidStateError):
        if action == "suspend":
            compute.suspend(server_id)
        else:
            compute.power_on(server_id)
    vm = compute.get_vm(server_id)
    wanted = PowerState.SUSPENDED if action == "suspend" else PowerState.ON
    if vm.power_state != wanted:
        raise RuntimeError(
            f"The VM of server {server_id} is {vm.power_state.value} after the {action}, "
            f"not {wanted.value}."
        )
    return vm
