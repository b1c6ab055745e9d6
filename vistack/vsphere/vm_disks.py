"""A VM's disks as images: the root disk copied out for a snapshot, a rescue disk in and out,
and a volume's disk swapped for another one holding its data.

Snapshot (Nova's createImage, createBackup, shelve). The root disk of a running VM is being
written, so a copy of it is not consistent. The copy is taken the way vCenter's own clone of a
running VM does it: a VM snapshot (no memory, no quiescing: a crash-consistent disk, as Nova's
VMware driver makes) freezes the disk as the snapshot's base and sends new writes to a delta;
the base is copied while the VM runs on; the snapshot is then removed (its delta consolidated).

The copy is one self-contained VMDK file (`sparseMonolithic`, the monolithicSparse format an
uploaded Glance image is in), so the image store holds one file per image like every other
image: its download gives the disk, its delete removes it, and booting it makes a template the
same way as an uploaded image (`vsphere.images.VSphereImages.make_template`).

The simulator cannot convert a disk while copying (any `destSpec` is `NotImplemented`), and its
disks are a descriptor plus a flat file it never fills (clones get new empty files). There the
copy is the descriptor file as it is, and only when the flat extent holds no byte, so no data
can be lost by it; a disk with data on a backend that refuses the conversion is an error, never
a silent partial image. The simulator also leaves disk backings alone on a snapshot (no delta),
which changes nothing here: the base is then the disk itself.

Rescue (Nova's rescue): vSphere has no "boot from another disk once"; Nova's VMware driver adds
a copy of the rescue image as a second disk and makes it the first boot device. That is what
this does, with the disk kept in the VM's folder as `<vm>-rescue.vmdk` so an interrupted rescue
or unrescue finds it by name and finishes. Unrescue removes the disk (its file destroyed) and
makes the root disk the boot device again.

Swap (Nova's swap volume, the step of Cinder's move of an attached volume): the attached disk is
copied the way a snapshot copies the root disk (under a VM snapshot, crash-consistent; writes
the guest makes meanwhile are not carried over, as vSphere has no block mirror to offer) to
`<new>-swap.vmdk`, which `MoveVirtualDisk_Task` puts over the new volume's disk once complete;
one `ReconfigVM_Task` then removes the old disk (its file kept, no `fileOperation`) and adds the
new one at the same controller and unit, so the guest finds it where the old one was. The copy
keeps the old disk's format (the simulator cannot convert). A failure before the reconfiguration
leaves the VM as it was and no temporary file.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Callable
from typing import Any, TypeVar

from vistack.drivers.errors import (
    AlreadyExistsError,
    DriverError,
    NotFoundError,
    UnsupportedError,
)
from vistack.drivers.models import AttachedDisk, DiskIo, ImageFile
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.vsphere import devices
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

LOG = logging.getLogger("vistack.vsphere")
T = TypeVar("T")

#: The name of the VM snapshot a disk copy is taken under (removed once the copy is made).
SNAPSHOT_NAME = "vistack-image-copy"
RESCUE_SUFFIX = "-rescue.vmdk"
#: The VM snapshot a swap's copy is taken under, and the name its copy is made under first.
SWAP_SNAPSHOT_NAME = "vistack-swap-copy"
SWAP_SUFFIX = "-swap.vmdk"


class VMDisks:
    """Root-disk export and rescue disks for `VSphereCompute` (which delegates here)."""

    def __init__(self, session: VCenterSession, lookup: Lookup, *, task_timeout: float) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout

    # -- export -------------------------------------------------------------------------------

    def export_root_disk(self, instance_uuid: str, target: str) -> ImageFile:
        datastore, path = split_datastore_path(target)

        def run(client: Client, vm: Any) -> ImageFile:
            self._lookup.datastore(client, datastore)
            datacenter = self._lookup.datacenter(client)
            if self._file_size(client, target) is not None:
                raise AlreadyExistsError(f"{target} exists")
            self._make_folder(client, datacenter, datastore, posixpath.dirname(path))
            if not devices.disks(self._device_list(client, vm)):
                raise NotFoundError(f"VM {instance_uuid} has no disk to copy")
            task = vm.CreateSnapshot_Task(
                name=SNAPSHOT_NAME,
                description="vistack: the root disk is being copied into an image",
                memory=False,
                quiesce=False,
            )
            snapshot = wait_for_task(client, task, self._timeout)
            try:
                root = devices.disks(self._device_list(client, vm))[0]
                self._copy_to_one_file(client, datacenter, _base_of(root.backing), target)
            except BaseException:
                self._delete_file(client, datacenter, target)
                raise
            finally:
                self._remove_snapshot(client, snapshot)
            size = self._file_size(client, target)
            if size is None:
                raise NotFoundError(f"the copy {target} vanished")
            return ImageFile(datastore, path, size)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def _copy_to_one_file(self, client: Client, datacenter: Any, source: str, target: str) -> None:
        manager = client.content.virtualDiskManager
        spec = vim.VirtualDiskManager.VirtualDiskSpec(
            diskType="sparseMonolithic", adapterType="lsiLogic"
        )
        try:
            task = manager.CopyVirtualDisk_Task(
                sourceName=source,
                sourceDatacenter=datacenter,
                destName=target,
                destDatacenter=datacenter,
                destSpec=spec,
            )
            wait_for_task(client, task, self._timeout)
            return
        except UnsupportedError:
            flat = source.removesuffix(".vmdk") + "-flat.vmdk"
            if self._file_size(client, flat):
                raise  # the disk has data this backend will not convert: never copy half
            LOG.debug(
                "converting copy of %s refused; its extent is empty: copying as it is", source
            )
        task = client.content.fileManager.CopyDatastoreFile_Task(
            sourceName=source,
            sourceDatacenter=datacenter,
            destinationName=target,
            destinationDatacenter=datacenter,
            force=False,
        )
        wait_for_task(client, task, self._timeout)

    def _remove_snapshot(self, client: Client, snapshot: Any) -> None:
        """Remove the copy's snapshot, consolidating its delta into the disk; a failure is
        logged (the image is fine; the VM keeps a snapshot an operator can remove)."""
        try:
            ref = client.moref("VirtualMachineSnapshot", snapshot)
            task = ref.RemoveSnapshot_Task(removeChildren=False, consolidate=True)
            wait_for_task(client, task, self._timeout)
        except Exception as exc:
            LOG.warning("could not remove VM snapshot %s: %s", snapshot, exc)

    # -- swap (Nova's swap volume) -------------------------------------------------------------

    def swap_disk(
        self,
        instance_uuid: str,
        old_path: str,
        new_path: str,
        io: DiskIo | None = None,
        *,
        shared: bool = False,
    ) -> AttachedDisk:
        def run(client: Client, vm: Any) -> AttachedDisk:
            datacenter = self._lookup.datacenter(client)
            on_vm = devices.disks(self._device_list(client, vm))
            if not any(devices.disk_path(d) == old_path for d in on_vm):
                raise NotFoundError(f"{old_path} is not attached to VM {instance_uuid}")
            if any(devices.disk_path(d) == new_path for d in on_vm):
                raise AlreadyExistsError(f"{new_path} is attached to VM {instance_uuid} already")
            if self._file_size(client, new_path) is None:
                raise NotFoundError(f"no disk at {new_path}")
            self._copy_attached(client, vm, datacenter, old_path, new_path)
            # Read again: the snapshot the copy was taken under is gone, the backing is the
            # disk itself once more.
            old = self._attached_disk(client, vm, old_path)
            if old is None:
                raise NotFoundError(f"{old_path} vanished from VM {instance_uuid}")
            added = devices.existing_disk(
                -1, old.controllerKey, old.unitNumber, new_path, io, shared=shared
            )
            config = vim.vm.ConfigSpec(deviceChange=[devices.remove(old), added])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            found = self._attached_disk(client, vm, new_path)
            if found is None:
                raise NotFoundError(f"{new_path} vanished from VM {instance_uuid}")
            return devices.attached(found)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def clean_swap(self, instance_uuid: str, new_path: str) -> None:
        """What a swap cut short left: its VM snapshots (`SWAP_SNAPSHOT_NAME`, removed with
        their deltas consolidated) and the partial copy (`<new>-swap.vmdk`)."""

        def run(client: Client, vm: Any) -> None:
            props = retrieve_one(client, vm, ["snapshot"])
            info = props.get("snapshot") if props is not None else None
            for snapshot in _named_snapshots(getattr(info, "rootSnapshotList", None) or ()):
                ref = client.moref("VirtualMachineSnapshot", client.ref(snapshot))
                task = ref.RemoveSnapshot_Task(removeChildren=False, consolidate=True)
                wait_for_task(client, task, self._timeout)
            self._delete_swap_copy(client, self._lookup.datacenter(client), new_path)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=True)

    def _copy_attached(
        self, client: Client, vm: Any, datacenter: Any, source: str, target: str
    ) -> None:
        """Copy the attached disk `source` over the existing disk `target`: under a VM
        snapshot (the running guest writes to a delta meanwhile; the base is what is copied,
        crash-consistent, as for an image), to `<target>-swap.vmdk` first, moved over `target`
        only once complete, so a failure leaves `target` as it was and no other file."""
        temporary = target.removesuffix(".vmdk") + SWAP_SUFFIX
        self._delete_swap_copy(client, datacenter, target)  # an interrupted earlier swap's
        task = vm.CreateSnapshot_Task(
            name=SWAP_SNAPSHOT_NAME,
            description="vistack: a volume's disk is being copied for a swap",
            memory=False,
            quiesce=False,
        )
        snapshot = wait_for_task(client, task, self._timeout)
        try:
            disk = self._attached_disk(client, vm, source, base=True)
            base = _base_of(disk.backing) if disk is not None else source
            self._copy_disk_as_is(client, datacenter, base, temporary)
            move = client.content.virtualDiskManager.MoveVirtualDisk_Task(
                sourceName=temporary,
                sourceDatacenter=datacenter,
                destName=target,
                destDatacenter=datacenter,
                force=True,
            )
            wait_for_task(client, move, self._timeout)
        except BaseException:
            self._delete_swap_copy(client, datacenter, target)
            raise
        finally:
            self._remove_snapshot(client, snapshot)

    def _delete_swap_copy(self, client: Client, datacenter: Any, target: str) -> None:
        """Delete the copy a swap onto `target` makes first (`<target>-swap.vmdk` and its flat
        extent), where there is one."""
        temporary = target.removesuffix(".vmdk") + SWAP_SUFFIX
        for leftover in (temporary, temporary.removesuffix(".vmdk") + "-flat.vmdk"):
            self._delete_file(client, datacenter, leftover)

    def _copy_disk_as_is(self, client: Client, datacenter: Any, source: str, target: str) -> None:
        """A copy in the source's own format (vCenter copies a disk it has open under a
        snapshot); where the disk manager cannot (the simulator, for some files), the
        descriptor and the flat extent are copied as files."""
        try:
            task = client.content.virtualDiskManager.CopyVirtualDisk_Task(
                sourceName=source,
                sourceDatacenter=datacenter,
                destName=target,
                destDatacenter=datacenter,
                force=False,
            )
            wait_for_task(client, task, self._timeout)
            return
        except (UnsupportedError, NotFoundError) as exc:
            LOG.debug("copy of %s refused (%s); copying its files", source, exc)
        for suffix in (".vmdk", "-flat.vmdk"):
            task = client.content.fileManager.CopyDatastoreFile_Task(
                sourceName=source.removesuffix(".vmdk") + suffix,
                sourceDatacenter=datacenter,
                destinationName=target.removesuffix(".vmdk") + suffix,
                destinationDatacenter=datacenter,
                force=True,
            )
            wait_for_task(client, task, self._timeout)

    def _attached_disk(self, client: Client, vm: Any, path: str, *, base: bool = False) -> Any:
        """The VM's disk device whose file is `path` (with `base`, also one whose snapshot
        delta's parent is `path`); None when the VM has none."""
        for disk in devices.disks(self._device_list(client, vm)):
            if devices.disk_path(disk) == path or (base and _base_of(disk.backing) == path):
                return disk
        return None

    # -- rescue -------------------------------------------------------------------------------

    def attach_rescue_disk(self, instance_uuid: str, source: str) -> AttachedDisk:
        def run(client: Client, vm: Any) -> AttachedDisk:
            datacenter = self._lookup.datacenter(client)
            rescue = self._rescue_path(client, vm)
            found = self._rescue_device(client, vm, rescue)
            if found is None:
                # Left by an interrupted rescue: not attached, so it is ours to replace.
                if self._file_size(client, rescue) is not None:
                    self._delete_disk(client, datacenter, rescue)
                self._copy_disk(client, datacenter, source, rescue)
                device_list = self._device_list(client, vm)
                controller, unit = devices.free_scsi_slot(device_list, set())
                change = devices.existing_disk(-1, controller, unit, rescue)
                config = vim.vm.ConfigSpec(deviceChange=[change])
                wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
                found = self._rescue_device(client, vm, rescue)
                if found is None:
                    raise NotFoundError(f"the rescue disk {rescue} vanished from the VM")
            self._boot_from(client, vm, found.key)
            return devices.attached(found)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def detach_rescue_disk(self, instance_uuid: str) -> None:
        def run(client: Client, vm: Any) -> None:
            datacenter = self._lookup.datacenter(client)
            rescue = self._rescue_path(client, vm)
            found = self._rescue_device(client, vm, rescue)
            if found is not None:
                change = devices.DeviceSpec(
                    operation=devices.Operation.remove,
                    fileOperation=devices.FileOperation.destroy,
                    device=found,
                )
                config = vim.vm.ConfigSpec(deviceChange=[change])
                wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            elif self._file_size(client, rescue) is not None:
                self._delete_disk(client, datacenter, rescue)
            remaining = devices.disks(self._device_list(client, vm))
            if remaining:
                self._boot_from(client, vm, remaining[0].key)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def _boot_from(self, client: Client, vm: Any, key: int) -> None:
        boot = vim.vm.BootOptions(bootOrder=[vim.vm.BootOptions.BootableDiskDevice(deviceKey=key)])
        config = vim.vm.ConfigSpec(bootOptions=boot)
        wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)

    def _rescue_path(self, client: Client, vm: Any) -> str:
        props = retrieve_one(client, vm, ["name", "config.files.vmPathName"])
        if props is None:
            raise NotFoundError(f"VM {client.ref(vm)} is gone")
        datastore, vmx = split_datastore_path(str(props.get("config.files.vmPathName") or ""))
        name = str(props.get("name"))
        return datastore_path(
            datastore, posixpath.join(posixpath.dirname(vmx), name + RESCUE_SUFFIX)
        )

    def _rescue_device(self, client: Client, vm: Any, rescue: str) -> Any:
        for disk in devices.disks(self._device_list(client, vm)):
            if devices.disk_path(disk) == rescue:
                return disk
        return None

    def _copy_disk(self, client: Client, datacenter: Any, source: str, target: str) -> None:
        """Copy an image's disk to a thin disk a VM can use (as a template is made from an
        image; see `VSphereImages._copy_disk` for the simulator's fallbacks)."""
        manager = client.content.virtualDiskManager

        def copy(**spec: Any) -> None:
            task = manager.CopyVirtualDisk_Task(
                sourceName=source,
                sourceDatacenter=datacenter,
                destName=target,
                destDatacenter=datacenter,
                **spec,
            )
            wait_for_task(client, task, self._timeout)

        thin = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            diskType="thin", adapterType="lsiLogic"
        )
        try:
            copy(destSpec=thin)
            return
        except (UnsupportedError, NotFoundError) as exc:
            LOG.debug("converting copy of %s refused (%s); copying it as it is", source, exc)
        try:
            copy()
        except NotFoundError:
            for name in (target, target.removesuffix(".vmdk") + "-flat.vmdk"):
                task = client.content.fileManager.CopyDatastoreFile_Task(
                    sourceName=source,
                    sourceDatacenter=datacenter,
                    destinationName=name,
                    destinationDatacenter=datacenter,
                    force=True,
                )
                wait_for_task(client, task, self._timeout)

    # -- files --------------------------------------------------------------------------------

    def _file_size(self, client: Client, path: str) -> int | None:
        """The size of a datastore file, None when there is none (a datastore search: the
        simulator needs a `matchPattern`, and answers sizes)."""
        datastore, relative = split_datastore_path(path)
        folder, name = posixpath.split(relative)
        ds = self._lookup.datastore(client, datastore)
        props = retrieve_one(client, ds, ["browser"])
        if props is None:
            raise NotFoundError(f"no datastore named {datastore!r}")
        browser = props.get("browser")
        moref = browser if isinstance(browser, str) else str(browser._moId)
        spec = vim.host.DatastoreBrowser.SearchSpec(
            matchPattern=[name],
            details=vim.host.DatastoreBrowser.FileInfo.Details(fileSize=True),
        )
        try:
            task = client.moref("HostDatastoreBrowser", moref).SearchDatastore_Task(
                datastorePath=datastore_path(datastore, folder), searchSpec=spec
            )
            result = wait_for_task(client, task, self._timeout)
        except (NotFoundError, vim.fault.FileNotFound):
            return None
        for entry in getattr(result, "file", None) or ():
            if entry.path == name:
                return int(entry.fileSize or 0)
        return None

    def _make_folder(self, client: Client, datacenter: Any, datastore: str, folder: str) -> None:
        with contextlib.suppress(vim.fault.FileAlreadyExists):
            client.content.fileManager.MakeDirectory(
                name=datastore_path(datastore, folder),
                datacenter=datacenter,
                createParentDirectories=True,
            )

    def _delete_file(self, client: Client, datacenter: Any, path: str) -> None:
        """Best effort: the caller is about to raise the error that matters."""
        try:
            task = client.content.fileManager.DeleteDatastoreFile_Task(
                name=path, datacenter=datacenter
            )
            wait_for_task(client, task, self._timeout)
        except NotFoundError:
            pass
        except DriverError as exc:
            LOG.warning("could not remove %s: %s", path, exc)

    def _delete_disk(self, client: Client, datacenter: Any, path: str) -> None:
        task = client.content.virtualDiskManager.DeleteVirtualDisk_Task(
            name=path, datacenter=datacenter
        )
        try:
            wait_for_task(client, task, self._timeout)
        except NotFoundError:
            self._delete_file(client, datacenter, path)

    # -- helpers ------------------------------------------------------------------------------

    def _device_list(self, client: Client, vm: Any) -> list[Any]:
        props = retrieve_one(client, vm, ["config.hardware.device"])
        if props is None:
            raise NotFoundError(f"VM {client.ref(vm)} is gone")
        return list(props.get("config.hardware.device") or ())

    def _on_vm(self, client: Client, instance_uuid: str, fn: Callable[[Client, Any], T]) -> T:
        return fn(client, self._lookup.vm(client, instance_uuid))


def _named_snapshots(trees: Any) -> list[Any]:
    """The swap copies' VM snapshots in a VM's snapshot trees (their morefs), deepest first."""
    found: list[Any] = []
    for tree in trees:
        found.extend(_named_snapshots(getattr(tree, "childSnapshotList", None) or ()))
        if getattr(tree, "name", None) == SWAP_SNAPSHOT_NAME:
            found.append(tree.snapshot)
    return found


def _base_of(backing: Any) -> str:
    """The disk file a copy reads: the snapshot's base (the delta's parent) when vCenter made
    a delta for the snapshot, else the disk itself (the simulator makes none)."""
    parent = getattr(backing, "parent", None)
    if parent is not None and getattr(parent, "fileName", None):
        return str(parent.fileName)
    return str(backing.fileName)
