"""Waiting for tasks through the PropertyCollector: results, classified failures, deadlines."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.vsphere.conftest import create_vm
from vistack.drivers.errors import InvalidStateError, NotFoundError, TransientError
from vistack.vsphere import tasks
from vistack.vsphere.properties import PropertyCollector, retrieve
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.vmomi import vim, vmodl


def _a_vm(session: VCenterSession) -> str:
    vms = session.call(lambda c: retrieve(c, "VirtualMachine", ["name"]))
    if vms:
        return vms[0].moref
    return session.call(lambda c: create_vm(c, "tasks-vm", power_on=True), idempotent=False)


def _datacenter(client: Client) -> Any:
    (dc,) = retrieve(client, "Datacenter", ["name"])
    return client.moref("Datacenter", dc.moref)


def test_success_returns_morefs_as_strings(session: VCenterSession) -> None:
    vm = _a_vm(session)

    def clone(client: Client) -> Any:
        source = client.moref("VirtualMachine", vm)
        folder = retrieve(client, "Folder", ["name"])
        vm_folder = next(f for f in folder if f.props["name"] == "vm")
        task = source.CloneVM_Task(
            folder=client.moref("Folder", vm_folder.moref),
            name="tasks-clone",
            spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False),
        )
        return tasks.wait_for_task(client, task, 30)

    result = session.call(clone, idempotent=False)
    assert isinstance(result, str) and result.startswith("vm-")


def test_failure_is_classified(session: VCenterSession) -> None:
    vm = _a_vm(session)

    def power_on(client: Client) -> Any:
        task = client.moref("VirtualMachine", vm).PowerOnVM_Task()
        return tasks.wait_for_task(client, task, 30)

    if _power(session, vm) != "poweredOn":
        session.call(power_on)
    with pytest.raises(InvalidStateError) as caught:
        session.call(power_on)
    assert caught.value.fault == "vim.fault.InvalidPowerState"


def _power(session: VCenterSession, vm: str) -> str:
    found = session.call(lambda c: retrieve(c, "VirtualMachine", ["runtime.powerState"]))
    return str(next(f for f in found if f.moref == vm).props["runtime.powerState"])


def test_manager_owned_task_is_waited_on_by_path(session: VCenterSession) -> None:
    # A VirtualDiskManager task: reading task.info would fail in pyVmomi (entity is a manager).
    def create_disk(client: Client) -> Any:
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            capacityKb=1024, diskType="thin", adapterType="lsiLogic"
        )
        task = client.content.virtualDiskManager.CreateVirtualDisk_Task(
            "[LocalDS_0] no-such-dir/disk.vmdk", _datacenter(client), spec
        )
        return tasks.wait_for_task(client, task, 30)

    with pytest.raises(NotFoundError, match="no-such-dir"):
        session.call(create_disk)


def test_long_poll_path_against_the_simulator(session: VCenterSession) -> None:
    vm = _a_vm(session)

    def power_off_and_wait(client: Client) -> dict[str, Any]:
        if _power(session, vm) != "poweredOn":
            tasks.wait_for_task(client, client.moref("VirtualMachine", vm).PowerOnVM_Task(), 30)
        task = client.moref("VirtualMachine", vm).PowerOffVM_Task()
        return tasks._wait(client, task, time.monotonic() + 10)

    info = session.call(power_off_and_wait)
    assert info["info.state"] == "success"


class _FakeCollector:
    """A PropertyCollector whose task runs, then succeeds after `updates` long polls."""

    def __init__(self, task: Any, updates: list[str | None]) -> None:
        self.task = task
        self.updates = updates
        self.destroyed = False

    def RetrievePropertiesEx(self, specs: Any, options: Any) -> Any:  # noqa: N802
        return PropertyCollector.RetrieveResult(
            objects=[
                PropertyCollector.ObjectContent(
                    obj=self.task,
                    propSet=[vmodl.DynamicProperty(name="info.state", val="running")],
                )
            ]
        )

    def CreatePropertyCollector(self) -> _FakeCollector:  # noqa: N802
        return self

    def CreateFilter(self, spec: Any, partial: bool) -> None:  # noqa: N802
        return None

    def WaitForUpdatesEx(self, version: str, options: Any) -> Any:  # noqa: N802
        state = self.updates.pop(0) if self.updates else None
        if state is None:
            time.sleep(min(options.maxWaitSeconds, 0.05))
            return None
        change = PropertyCollector.Change(name="info.state", op="assign", val=state)
        return PropertyCollector.UpdateSet(
            version="1",
            filterSet=[
                PropertyCollector.FilterUpdate(
                    objectSet=[
                        PropertyCollector.ObjectUpdate(
                            kind="modify", obj=self.task, changeSet=[change]
                        )
                    ]
                )
            ],
        )

    def DestroyPropertyCollector(self) -> None:  # noqa: N802
        self.destroyed = True


class _FakeClient:
    def __init__(self, collector: _FakeCollector) -> None:
        self.content = type("Content", (), {"propertyCollector": collector})()


def test_running_task_is_followed_until_success() -> None:
    task = vim.Task("task-1", None)
    collector = _FakeCollector(task, [None, "success"])
    assert tasks.wait_for_task(_FakeClient(collector), task, 5) is None  # type: ignore[arg-type]
    assert collector.destroyed


def test_deadline_is_transient() -> None:
    task = vim.Task("task-1", None)
    collector = _FakeCollector(task, [])
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not finish in time"):
        tasks.wait_for_task(_FakeClient(collector), task, 0.2)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    assert collector.destroyed
