"""Moving and resizing a VM on vSphere: relocation between clusters (vMotion when powered on,
a cold relocation when off), a resize in one reconfiguration, and the disk copies a resize keeps
for its revert.

`VSphereCompute` delegates here; this module owns the calls:

- `RelocateVM_Task` with the target cluster's root resource pool and one of its hosts (vCenter
  with DRS could take the pool alone; a host is always named so that a cluster without DRS works
  too and so that the simulator, which only moves `runtime.host` when a host is given, reports
  the move). The disks stay where they are: the target cluster must see their datastore.
- `ReconfigVM_Task` with CPUs, cores per socket, memory and an `edit` of the root disk's
  capacity (`ExtendVirtualDisk_Task` would grow a detached disk only, and the simulator lacks it).
- `VirtualDiskManager.CopyVirtualDisk_Task` for the pre-resize copy of the root disk, and a
  `ReconfigVM_Task` that removes (destroying the file) and re-adds a disk for the revert: a disk
  never shrinks in place, so a revert puts the kept copy back instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from vistack.drivers.errors import InvalidStateError, NoCapacityError, NotFoundError
from vistack.drivers.hw_version import upgrade_needed
from vistack.drivers.models import VMInfo, VMTuning
from vistack.vsphere import devices
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.tuning import apply_allocations, upgrade_hardware
from vistack.vsphere.vmomi import vim, vmodl

#: `VSphereCompute._on_vm`: runs `fn(client, vm)` on the VM with this instance UUID.
OnVM = Callable[[Client, str, Callable[[Client, Any], Any]], Any]
#: `VSphereCompute._read`: the VMInfo of a VM reference.
ReadVM = Callable[[Client, Any], VMInfo]


class VMMoves:
    """Relocate, resize and disk copies for `VSphereCompute`."""

    def __init__(
        self,
        session: VCenterSession,
        lookup: Lookup,
        *,
        task_timeout: float,
        on_vm: OnVM,
        read: ReadVM,
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout
        self._on_vm = on_vm
        self._read = read

    # -- relocate -----------------------------------------------------------------------------

    def relocate_vm(self, instance_uuid: str, cluster: str, host: str | None) -> VMInfo:
        def run(client: Client, vm: Any) -> VMInfo:
            target = self._lookup.cluster(client, cluster)
            names = self._lookup.host_names(client)
            members = [(moref, names.get(moref, ("", moref))[1]) for moref in target.hosts]
            if not members:
                raise NoCapacityError(f"cluster {cluster} has no host")
            chosen = members[0]
            if host is not None:
                found = [m for m in members if m[1] == host]
                if not found:
                    raise NotFoundError(f"cluster {cluster} has no host {host!r}")
                chosen = found[0]
            props = retrieve_one(client, vm, ["runtime.host", "datastore"])
            if props is None:
                raise vmodl.fault.ManagedObjectNotFound(obj=vm)
            current = props.get("runtime.host") or ""
            if current in target.hosts and (host is None or current == chosen[0]):
                return self._read(client, vm)  # already there
            seen = {self._lookup.datastores(client).get(name) for name in target.datastores}
            unseen = [d for d in props.get("datastore") or () if d not in seen]
            if unseen:
                raise NoCapacityError(
                    f"cluster {cluster} does not see the datastore of VM {instance_uuid}"
                )
            spec = vim.vm.RelocateSpec(
                pool=client.moref("ResourcePool", target.pool),
                host=client.moref("HostSystem", chosen[0]),
            )
            task = vm.RelocateVM_Task(spec=spec, priority="defaultPriority")
            wait_for_task(client, task, self._timeout)
            return self._read(client, vm)

        return self._call(instance_uuid, run)

    # -- resize -------------------------------------------------------------------------------

    def resize_vm(
        self,
        instance_uuid: str,
        *,
        cpus: int,
        memory_mb: int,
        cores_per_socket: int,
        root_gb: int,
        tuning: VMTuning | None = None,
    ) -> VMInfo:
        def run(client: Client, vm: Any) -> VMInfo:
            config = vim.vm.ConfigSpec(
                numCPUs=cpus, numCoresPerSocket=cores_per_socket, memoryMB=memory_mb
            )
            upgrade = None
            if tuning is not None:
                apply_allocations(config, tuning)
                props = retrieve_one(client, vm, ["config.version"])
                version = str(props.get("config.version") or "") if props else ""
                if upgrade_needed(tuning.hw_version, version or None):
                    upgrade = tuning.hw_version
            disks = devices.disks(_device_list(client, vm))
            if disks and root_gb > 0:
                root = disks[0]
                current = devices.disk_gb(root)
                if root_gb < current:
                    raise InvalidStateError(
                        f"{devices.disk_path(root)} is {current} GB; disks never shrink"
                    )
                if root_gb > current:
                    config.deviceChange = [devices.grow(root, root_gb)]
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            if upgrade is not None:
                upgrade_hardware(client, vm, upgrade, self._timeout)
            return self._read(client, vm)

        return self._call(instance_uuid, run)

    # -- disks --------------------------------------------------------------------------------

    def copy_disk(self, source: str, destination: str) -> None:
        def run(client: Client) -> None:
            self._copy(client, source, destination)

        self._session.call(run, idempotent=False)

    def replace_disk(self, instance_uuid: str, path: str, source: str, size_gb: int) -> VMInfo:
        def run(client: Client, vm: Any) -> VMInfo:
            attached = [d for d in devices.disks(_device_list(client, vm)) if _path(d) == path]
            if attached:
                change = devices.remove(attached[0])
                change.fileOperation = devices.FileOperation.destroy
                config = vim.vm.ConfigSpec(deviceChange=[change])
                wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            else:
                # An earlier run detached it, and maybe copied part of the new file: start over.
                with contextlib.suppress(NotFoundError):
                    self._delete(client, path)
            self._copy(client, source, path)
            device_list = _device_list(client, vm)
            controller, unit = devices.free_scsi_slot(device_list, set())
            change = devices.existing_disk(-1, controller, unit, path)
            # vCenter reads the size from the descriptor; the simulator keeps what is sent.
            change.device.capacityInKB = size_gb * devices.KB_PER_GB
            config = vim.vm.ConfigSpec(deviceChange=[change])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            return self._read(client, vm)

        return self._call(instance_uuid, run)

    def _copy(self, client: Client, source: str, destination: str) -> None:
        manager = client.content.virtualDiskManager
        datacenter = self._lookup.datacenter(client)
        task = manager.CopyVirtualDisk_Task(
            sourceName=source,
            sourceDatacenter=datacenter,
            destName=destination,
            destDatacenter=datacenter,
            force=False,
        )
        wait_for_task(client, task, self._timeout)

    def _delete(self, client: Client, path: str) -> None:
        manager = client.content.virtualDiskManager
        task = manager.DeleteVirtualDisk_Task(name=path, datacenter=self._lookup.datacenter(client))
        wait_for_task(client, task, self._timeout)

    def _call(self, instance_uuid: str, run: Callable[[Client, Any], VMInfo]) -> VMInfo:
        def on(client: Client) -> VMInfo:
            info: VMInfo = self._on_vm(client, instance_uuid, run)
            return info

        return self._session.call(on, idempotent=False)


def _device_list(client: Client, vm: Any) -> list[Any]:
    props = retrieve_one(client, vm, ["config.hardware.device"])
    if props is None:
        raise vmodl.fault.ManagedObjectNotFound(obj=vm)
    return list(props.get("config.hardware.device") or ())


def _path(disk: Any) -> str:
    return devices.disk_path(disk)
