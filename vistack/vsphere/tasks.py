"""Waiting for vSphere tasks through the PropertyCollector, with a deadline.

`task.info` is never read: pyVmomi deserializes the whole TaskInfo, and for tasks owned by
non-entity managers (VirtualDiskManager, FileManager, VStorageObjectManager) the simulator puts
the manager in `info.entity`, which pyVmomi 9 rejects. Only `info.state`, `info.error` and
`info.result` are read, by path. The first read is immediate (the simulator, and many quick vCenter
tasks, are done by then); after that a private PropertyCollector long-polls with
`WaitForUpdatesEx`, so there is no polling interval to tune and no shared filter to race on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from vistack.drivers.errors import TransientError
from vistack.vsphere import faults
from vistack.vsphere.properties import PropertyCollector, moref_of, plain, retrieve_one
from vistack.vsphere.vmomi import vim

if TYPE_CHECKING:
    from vistack.vsphere.session import Client

TASK_PATHS = ("info.state", "info.error", "info.result")
#: Longest single long poll; the session's read timeout must be well above it.
MAX_POLL_SECONDS = 60


def wait_for_task(client: Client, task: Any, timeout: float) -> Any:
    """Wait until `task` (a pyVmomi reference or a moref string) ends; its result.

    Managed object results come back as moref strings (`CloneVM_Task` → `"vm-42"`).

    :raises DriverError: the task failed; the subclass is chosen by the fault's type.
    :raises TransientError: it did not finish within `timeout` seconds (it may still finish).
    """
    if isinstance(task, str):
        task = client.moref("Task", task)
    deadline = time.monotonic() + timeout
    info = _read(client, task)
    if not _finished(info):
        info = _wait(client, task, deadline)
    return _outcome(task, info)


def _read(client: Client, task: Any) -> dict[str, Any]:
    found = retrieve_one(client, task, TASK_PATHS)
    return found.props if found is not None else {}


def _finished(info: dict[str, Any]) -> bool:
    return info.get("info.state") in ("success", "error")


def _outcome(task: Any, info: dict[str, Any]) -> Any:
    if info.get("info.state") == "success":
        return plain(info.get("info.result"))
    error = info.get("info.error")
    if error is None:
        error = vim.fault.NotFound(msg=f"task {moref_of(task)} vanished before it ended")
    raise faults.classify(error) from error


def _wait(client: Client, task: Any, deadline: float) -> dict[str, Any]:
    collector = client.content.propertyCollector.CreatePropertyCollector()
    try:
        collector.CreateFilter(
            PropertyCollector.FilterSpec(
                objectSet=[PropertyCollector.ObjectSpec(obj=task, skip=False)],
                propSet=[
                    PropertyCollector.PropertySpec(
                        type=vim.Task, pathSet=list(TASK_PATHS), all=False
                    )
                ],
            ),
            True,
        )
        info: dict[str, Any] = {}
        version = ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"task {moref_of(task)} did not finish in time "
                    f"(state {info.get('info.state', 'unknown')}); it may still complete",
                    fault="timeout",
                )
            options = PropertyCollector.WaitOptions(
                maxWaitSeconds=max(1, min(int(remaining + 0.999), MAX_POLL_SECONDS))
            )
            update = collector.WaitForUpdatesEx(version, options)
            if update is None:
                continue
            version = update.version
            for filter_set in update.filterSet or ():
                for change_set in filter_set.objectSet or ():
                    for change in change_set.changeSet or ():
                        info[change.name] = change.val if change.op != "remove" else None
            if _finished(info):
                return info
    finally:
        collector.DestroyPropertyCollector()
