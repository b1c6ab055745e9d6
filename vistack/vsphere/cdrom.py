"""CD-ROMs backed by ISO files on a datastore: how the config drive reaches the guest.

A `VirtualCdrom` with an `IsoBackingInfo` on a free IDE slot (every vSphere VM has two IDE
controllers of two units each), `startConnected` so the guest sees the disc from its first
boot, added with one `ReconfigVM_Task` while the VM is off, as Nova's VMware driver attaches
its config drive. The ISO must exist first: vCenter checks the backing only at power-on, so the
file is looked up here and a missing one is a clear `NotFoundError` now rather than a VM that
will not start.
"""

from __future__ import annotations

from typing import Any

from vistack.drivers.errors import AlreadyExistsError, NoCapacityError, NotFoundError
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim, vmodl
from vistack.vsphere.volumes import retrieve_browser

#: Units per IDE controller.
IDE_UNITS = (0, 1)

DeviceSpec = vim.vm.device.VirtualDeviceSpec


def _devices(client: Client, vm: Any) -> list[Any]:
    props = retrieve_one(client, vm, ["config.hardware.device"])
    if props is None:
        raise vmodl.fault.ManagedObjectNotFound(obj=vm)
    return list(props.get("config.hardware.device") or ())


def _iso_of(device: Any) -> str | None:
    if not isinstance(device, vim.vm.device.VirtualCdrom):
        return None
    backing = device.backing
    if isinstance(backing, vim.vm.device.VirtualCdrom.IsoBackingInfo):
        return str(backing.fileName or "")
    return None


def list_isos(client: Client, vm: Any) -> list[str]:
    """The ISO paths the VM's CD-ROMs hold, in device key order."""
    found = [d for d in _devices(client, vm) if _iso_of(d) is not None]
    return [str(_iso_of(d)) for d in sorted(found, key=lambda d: int(d.key or 0))]


def free_ide_slot(devices: list[Any]) -> tuple[int, int]:
    """(controller key, unit) of the first free IDE slot.

    :raises NoCapacityError: both units of every IDE controller are taken.
    """
    used = {(d.controllerKey, d.unitNumber) for d in devices if d.controllerKey is not None}
    controllers = sorted(
        (d for d in devices if isinstance(d, vim.vm.device.VirtualIDEController)),
        key=lambda c: int(c.busNumber or 0),
    )
    for controller in controllers:
        for unit in IDE_UNITS:
            if (controller.key, unit) not in used:
                return int(controller.key), unit
    raise NoCapacityError("the VM has no free IDE slot for a CD-ROM")


def iso_exists(client: Client, lookup: Lookup, path: str, timeout: float) -> bool:
    """Whether the file at datastore `path` exists (a datastore browser search: vcsim needs
    the search spec and a match pattern, vCenter accepts both)."""
    datastore, relative = split_datastore_path(path)
    folder, _, name = relative.rpartition("/")
    ds = lookup.datastore(client, datastore)
    browser_ref = retrieve_browser(client, ds)
    browser_id = browser_ref if isinstance(browser_ref, str) else str(browser_ref._moId)
    browser = client.moref("HostDatastoreBrowser", browser_id)
    spec = vim.host.DatastoreBrowser.SearchSpec(
        matchPattern=[name], query=[vim.host.DatastoreBrowser.Query()]
    )
    try:
        task = browser.SearchDatastore_Task(
            datastorePath=datastore_path(datastore, folder), searchSpec=spec
        )
        result = wait_for_task(client, task, timeout)
    except (NotFoundError, vim.fault.FileNotFound):
        return False
    return any(str(f.path) == name for f in getattr(result, "file", None) or ())


def attach_iso(client: Client, vm: Any, lookup: Lookup, path: str, timeout: float) -> None:
    """Add a CD-ROM holding the ISO at `path`, connected at power-on.

    :raises AlreadyExistsError: a CD-ROM holds it already.
    :raises NotFoundError: no such ISO file.
    :raises NoCapacityError: no free IDE slot.
    """
    devices = _devices(client, vm)
    if any(_iso_of(d) == path for d in devices):
        raise AlreadyExistsError(f"a CD-ROM of the VM holds {path} already")
    if not iso_exists(client, lookup, path, timeout):
        raise NotFoundError(f"no ISO file at {path}")
    config = vim.vm.ConfigSpec(deviceChange=[add_iso_change(client, lookup, devices, path)])
    wait_for_task(client, vm.ReconfigVM_Task(spec=config), timeout)


def add_iso_change(client: Client, lookup: Lookup, devices: list[Any], path: str) -> Any:
    """The device change adding a CD-ROM that holds the ISO at `path` on the first free IDE
    slot of `devices` (a VM's device list; the new CD-ROM is appended to it, so a second call
    takes the next slot). The file is not checked: the caller has just written it.

    :raises NoCapacityError: no free IDE slot.
    """
    controller, unit = free_ide_slot(devices)
    datastore = lookup.datastore(client, split_datastore_path(path)[0])
    cdrom = vim.vm.device.VirtualCdrom(
        key=-1 - len(devices),
        controllerKey=controller,
        unitNumber=unit,
        backing=vim.vm.device.VirtualCdrom.IsoBackingInfo(fileName=path, datastore=datastore),
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=True, allowGuestControl=True, connected=False
        ),
    )
    devices.append(cdrom)
    return DeviceSpec(operation=DeviceSpec.Operation.add, device=cdrom)


def detach_iso(client: Client, vm: Any, path: str, timeout: float) -> None:
    """Remove the CD-ROM holding `path` (the ISO file stays).

    :raises NotFoundError: no CD-ROM holds it.
    """
    for device in _devices(client, vm):
        if _iso_of(device) == path:
            change = DeviceSpec(operation=DeviceSpec.Operation.remove, device=device)
            config = vim.vm.ConfigSpec(deviceChange=[change])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), timeout)
            return
    raise NotFoundError(f"no CD-ROM of the VM holds {path}")
