"""The volume driver on vSphere: VMDKs under `volumes/` made with the VirtualDiskManager.

First Class Disks would be the modern choice on vCenter, but vcsim lacks their extend and attach
calls, and the default must work against the embedded vCenter (DESIGN §3). Stock vcsim stores
no capacity in its descriptors (the project's launcher writes them) and a datastore search
reports none, so capacities read back from a datastore listing are whatever the server reports
(0 on vcsim); the volume service keeps the size it asked for in its own database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from vistack.drivers.errors import (
    AlreadyExistsError,
    DriverError,
    InvalidStateError,
    NotFoundError,
    UnsupportedError,
)
from vistack.drivers.models import DatastoreInfo, DiskInfo, Provisioning
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.drivers.volumes import VOLUME_FOLDER, volume_path
from vistack.vsphere import transport
from vistack.vsphere.devices import KB_PER_GB
from vistack.vsphere.disk_data import DiskReader
from vistack.vsphere.disk_writes import DiskWriter
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve, retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim, vmodl

LOG = logging.getLogger(__name__)

#: Cinder's vmdk_type → the VirtualDiskManager's disk type.
DISK_TYPES = {
    Provisioning.THIN: "thin",
    Provisioning.THICK: "preallocated",
    Provisioning.EAGER_ZEROED_THICK: "eagerZeroedThick",
}


#: Timeouts of the datastore HTTP reads of `read_disk` (a read may wait on a busy datastore).
HTTP_CONNECT_TIMEOUT = 10.0
HTTP_READ_TIMEOUT = 300.0


class VSphereVolumes:
    """`VolumeDriver` on a `VCenterSession`."""

    def __init__(
        self, session: VCenterSession, lookup: Lookup, *, task_timeout: float = 600.0
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout
        self._folders: set[tuple[int, str]] = set()
        self._folders_lock = threading.Lock()
        self._reader = DiskReader(
            session,
            lookup,
            transport.connection_factory(session.endpoint, HTTP_CONNECT_TIMEOUT, HTTP_READ_TIMEOUT),
        )
        self._writer = DiskWriter(
            session,
            lookup,
            transport.connection_factory(session.endpoint, HTTP_CONNECT_TIMEOUT, HTTP_READ_TIMEOUT),
            task_timeout=task_timeout,
        )

    def list_datastores(self) -> list[DatastoreInfo]:
        def run(client: Client) -> list[DatastoreInfo]:
            found = retrieve(
                client,
                "Datastore",
                ["name", "summary.capacity", "summary.freeSpace"],
                root=self._lookup.datacenter(client),
            )
            return [
                DatastoreInfo(
                    id=d.moref,
                    name=str(d.get("name")),
                    capacity_gb=int(d.get("summary.capacity") or 0) // 2**30,
                    free_gb=int(d.get("summary.freeSpace") or 0) // 2**30,
                )
                for d in found
            ]

        return self._session.call(run)

    def create_disk(
        self, datastore: str, name: str, size_gb: int, provisioning: Provisioning
    ) -> DiskInfo:
        path = volume_path(datastore, name)

        def run(client: Client) -> None:
            self._lookup.datastore(client, datastore)
            self.ensure_folder(client, datastore, VOLUME_FOLDER)
            spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
                capacityKb=size_gb * KB_PER_GB,
                adapterType="lsiLogic",
                diskType=DISK_TYPES[provisioning],
            )
            manager = client.content.virtualDiskManager
            task = manager.CreateVirtualDisk_Task(
                name=path, datacenter=self._lookup.datacenter(client), spec=spec
            )
            wait_for_task(client, task, self._timeout)

        self._session.call(run, idempotent=False)
        return DiskInfo(path, datastore, size_gb, provisioning)

    def copy_disk(
        self, source: str, datastore: str, name: str, provisioning: Provisioning
    ) -> DiskInfo:
        path = volume_path(datastore, name)

        def run(client: Client) -> None:
            self._lookup.datastore(client, datastore)
            self.ensure_folder(client, datastore, VOLUME_FOLDER)
            datacenter = self._lookup.datacenter(client)
            # Checked first so that the cleanup below only ever removes what this copy made.
            if self.search(client, datastore, VOLUME_FOLDER, [f"{name}.vmdk"], disks=False):
                raise AlreadyExistsError(f"a disk exists at {path}")
            try:
                self._copy(client, datacenter, source, path, provisioning)
            except BaseException:
                self._remove_partial(client, datacenter, path)
                raise

        self._session.call(run, idempotent=False)
        return DiskInfo(path, datastore, 0, provisioning)

    def _copy(
        self, client: Client, datacenter: Any, source: str, dest: str, provisioning: Provisioning
    ) -> None:
        """Copy with conversion to `provisioning`: vCenter writes the new disk's own descriptor
        and turns an uploaded one-file image (sparse, stream-optimized) into a disk a VM can
        use and that can grow. The simulator cannot convert (NotImplemented, or FileNotFound
        for the flat extent a one-file image lacks): see `_copy_into_new_disk`."""
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            diskType=DISK_TYPES[provisioning], adapterType="lsiLogic"
        )
        try:
            task = client.content.virtualDiskManager.CopyVirtualDisk_Task(
                sourceName=source,
                sourceDatacenter=datacenter,
                destName=dest,
                destDatacenter=datacenter,
                destSpec=spec,
            )
            wait_for_task(client, task, self._timeout)
            return
        except (UnsupportedError, NotFoundError) as exc:
            LOG.debug("converting copy of %s refused (%s); copying its bytes", source, exc)
        self._copy_into_new_disk(client, datacenter, source, dest, provisioning)

    def _copy_into_new_disk(
        self, client: Client, datacenter: Any, source: str, dest: str, provisioning: Provisioning
    ) -> None:
        """The simulator's way: a new disk (its own descriptor, as big as the source's says,
        else sized to hold the source's bytes) whose flat extent receives the source's data
        file: a two-file disk's flat file, or a one-file image as it is. vcsim never reads disk
        contents, so the copy keeps the bytes and, unlike a verbatim copy (whose descriptor
        would still name the source's flat file), can be extended like any disk. The capacity
        comes from the descriptor because vcsim keeps only the bytes written: a 3 GB volume's
        flat file may hold none, and a copy sized by it (a retype's move, a snapshot) would
        shrink the disk under its volume to 1 GB."""
        datastore, relative = split_datastore_path(source)
        folder, _, name = relative.rpartition("/")
        flat = name.removesuffix(".vmdk") + "-flat.vmdk"
        found = {
            f.path: f for f in self.search(client, datastore, folder, [name, flat], disks=False)
        }
        data_name = flat if flat in found else name
        if data_name not in found:
            raise NotFoundError(f"no disk at {source}")
        size = int(getattr(found[data_name], "fileSize", 0) or 0)
        capacity_kb = max(1, -(-size // 2**30)) * KB_PER_GB
        if data_name == flat:
            capacity_kb = max(capacity_kb, self._reader.capacity_kb(client, source) or 0)
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            capacityKb=capacity_kb,
            adapterType="lsiLogic",
            diskType=DISK_TYPES[provisioning],
        )
        create = client.content.virtualDiskManager.CreateVirtualDisk_Task(
            name=dest, datacenter=datacenter, spec=spec
        )
        wait_for_task(client, create, self._timeout)
        copy = client.content.fileManager.CopyDatastoreFile_Task(
            sourceName=datastore_path(datastore, f"{folder}/{data_name}" if folder else data_name),
            sourceDatacenter=datacenter,
            destinationName=dest.removesuffix(".vmdk") + "-flat.vmdk",
            destinationDatacenter=datacenter,
            force=True,
        )
        wait_for_task(client, copy, self._timeout)

    def _remove_partial(self, client: Client, datacenter: Any, path: str) -> None:
        """Whatever a failed copy left under the new name goes (never the source)."""
        files = client.content.fileManager
        for target in (path, path.removesuffix(".vmdk") + "-flat.vmdk"):
            try:
                task = files.DeleteDatastoreFile_Task(name=target, datacenter=datacenter)
                wait_for_task(client, task, self._timeout)
            except (DriverError, vim.fault.FileNotFound):
                continue

    def delete_disk(self, path: str) -> None:
        def run(client: Client) -> None:
            manager = client.content.virtualDiskManager
            task = manager.DeleteVirtualDisk_Task(
                name=path, datacenter=self._lookup.datacenter(client)
            )
            wait_for_task(client, task, self._timeout)

        self._session.call(run, idempotent=False)

    def extend_disk(self, path: str, size_gb: int) -> DiskInfo:
        def run(client: Client) -> None:
            manager = client.content.virtualDiskManager
            task = manager.ExtendVirtualDisk_Task(
                name=path,
                datacenter=self._lookup.datacenter(client),
                newCapacityKb=size_gb * KB_PER_GB,
                eagerZero=False,
            )
            try:
                wait_for_task(client, task, self._timeout)
            except DriverError as exc:
                # The one invalid argument of this call is a capacity below the disk's own.
                if isinstance(exc.__cause__, vmodl.fault.InvalidArgument):
                    raise InvalidStateError(f"{path} is larger than {size_gb} GB") from exc
                raise

        # Stock vcsim: MethodNotFound, classified as UnsupportedError by the session; the
        # project's launcher models the method.
        self._session.call(run, idempotent=False)
        return DiskInfo(path, split_datastore_path(path)[0], size_gb)

    def list_disks(self, datastore: str) -> list[DiskInfo]:
        def run(client: Client) -> list[DiskInfo]:
            files = self.search(client, datastore, VOLUME_FOLDER, ["*.vmdk"], disks=True)
            return [
                DiskInfo(
                    datastore_path(datastore, f"{VOLUME_FOLDER}/{f.path}"),
                    datastore,
                    -(-int(getattr(f, "capacityKb", 0) or 0) // KB_PER_GB),
                    Provisioning.THIN if getattr(f, "thin", True) else Provisioning.THICK,
                )
                for f in files
                if not f.path.endswith("-flat.vmdk")
            ]

        return self._session.call(run)

    def disk_exists(self, path: str) -> bool:
        datastore, relative = split_datastore_path(path)
        folder, _, name = relative.rpartition("/")

        def run(client: Client) -> bool:
            return bool(self.search(client, datastore, folder, [name], disks=False))

        return self._session.call(run)

    def key_providers(self) -> list[str]:
        """The KMS clusters of `CryptoManagerKmip.kmipServers`. A vCenter without VM
        encryption has no `cryptoManager` in its content; vcsim names one but serves no such
        object (its read fails as not found or not implemented), which is "no KMS" too."""

        def run(client: Client) -> list[str]:
            manager = getattr(client.content, "cryptoManager", None)
            if manager is None or not isinstance(manager, vim.encryption.CryptoManagerKmip):
                return []
            try:
                props = retrieve_one(client, manager, ["kmipServers"])
            except (vmodl.fault.MethodNotFound, vmodl.fault.NotSupported, vim.fault.NoPermission):
                return []
            clusters = (props.get("kmipServers") if props is not None else None) or ()
            return [str(c.clusterId.id) for c in clusters if getattr(c, "clusterId", None)]

        return self._session.call(run)

    # -- the data path --------------------------------------------------------------------------

    def read_disk(self, path: str) -> Iterator[bytes]:
        return self._reader.read(path)

    def write_disk(self, path: str, data: Iterable[bytes], size: int) -> None:
        self._writer.write(path, data, size)

    def replace_disk(self, source: str, path: str, provisioning: Provisioning) -> DiskInfo:
        """Copy `source` to `<path>-replace.vmdk`, then `MoveVirtualDisk_Task` it over `path`
        (force): the disk under `path` changes in one step, never half-copied."""
        temporary = path.removesuffix(".vmdk") + "-replace.vmdk"
        datastore, relative = split_datastore_path(path)
        folder, _, name = relative.rpartition("/")

        def run(client: Client) -> None:
            datacenter = self._lookup.datacenter(client)
            if not self.search(client, datastore, folder, [name], disks=False):
                raise NotFoundError(f"no disk at {path}")
            self._remove_partial(client, datacenter, temporary)  # an earlier attempt's
            try:
                self._copy(client, datacenter, source, temporary, provisioning)
                task = client.content.virtualDiskManager.MoveVirtualDisk_Task(
                    sourceName=temporary,
                    sourceDatacenter=datacenter,
                    destName=path,
                    destDatacenter=datacenter,
                    force=True,
                )
                wait_for_task(client, task, self._timeout)
            except BaseException:
                self._remove_partial(client, datacenter, temporary)
                raise

        self._session.call(run, idempotent=False)
        return DiskInfo(path, datastore, 0, provisioning)

    # -- shared with the image driver ---------------------------------------------------------

    def ensure_folder(self, client: Client, datastore: str, folder: str) -> None:
        """Create `[datastore] folder` once per session (the disk manager needs the parent)."""
        marker = (client.generation, datastore_path(datastore, folder))
        with self._folders_lock:
            if marker in self._folders:
                return
        # FileAlreadyExists: made earlier, by us or another vistack process; what we wanted.
        with contextlib.suppress(vim.fault.FileAlreadyExists):
            client.content.fileManager.MakeDirectory(
                name=marker[1],
                datacenter=self._lookup.datacenter(client),
                createParentDirectories=True,
            )
        with self._folders_lock:
            self._folders.add(marker)

    def search(
        self, client: Client, datastore: str, folder: str, patterns: list[str], *, disks: bool
    ) -> list[Any]:
        """Files in `[datastore] folder` matching `patterns`; [] when the folder is missing.

        `matchPattern` is always given: vcsim returns nothing for an empty pattern list and
        panics without a search spec.
        """
        ds = self._lookup.datastore(client, datastore)
        browser = client.moref("HostDatastoreBrowser", _browser_of(retrieve_browser(client, ds)))
        query = (
            [vim.host.DatastoreBrowser.VmDiskQuery()]
            if disks
            else [vim.host.DatastoreBrowser.Query()]
        )
        spec = vim.host.DatastoreBrowser.SearchSpec(
            matchPattern=patterns,
            query=query,
            details=vim.host.DatastoreBrowser.FileInfo.Details(fileType=True, fileSize=True),
        )
        try:
            task = browser.SearchDatastore_Task(
                datastorePath=datastore_path(datastore, folder), searchSpec=spec
            )
            result = wait_for_task(client, task, self._timeout)
        except (NotFoundError, vim.fault.FileNotFound):
            return []
        return list(getattr(result, "file", None) or ())


def retrieve_browser(client: Client, datastore: Any) -> Any:
    props = retrieve_one(client, datastore, ["browser"])
    if props is None:
        raise NotFoundError(f"datastore {client.ref(datastore)} is gone")
    return props.get("browser")


def _browser_of(value: Any) -> str:
    return value if isinstance(value, str) else str(value._moId)
