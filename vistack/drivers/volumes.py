"""The volume driver interface: Cinder volumes as stand-alone VMDKs on datastores.

Disks live under a `volumes/` folder of their datastore and are named by the caller (the Cinder
volume id), so a disk's path is derivable and stable. Attaching is a compute operation
(`ComputeDriver.attach_disk`): a volume is a file, the VM is what changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from vistack.drivers.models import DatastoreInfo, DiskInfo, Provisioning

#: The folder on each datastore that holds volume disks.
VOLUME_FOLDER = "volumes"


def volume_path(datastore: str, name: str) -> str:
    """The datastore path of volume `name` on `datastore`: `[ds] volumes/<name>.vmdk`."""
    return f"[{datastore}] {VOLUME_FOLDER}/{name}.vmdk"


class VolumeDriver(Protocol):
    """Create, grow and delete stand-alone virtual disks."""

    def list_datastores(self) -> list[DatastoreInfo]:
        """Every datastore with its capacity and free space (Cinder's pools).

        :raises TransientError: the backend is unreachable.
        """
        ...

    def create_disk(
        self, datastore: str, name: str, size_gb: int, provisioning: Provisioning
    ) -> DiskInfo:
        """Create an empty disk at `volume_path(datastore, name)`.

        :raises NotFoundError: no such datastore.
        :raises AlreadyExistsError: a disk with that name exists on the datastore.
        :raises NoCapacityError: the datastore has no room.
        """
        ...

    def copy_disk(
        self, source: str, datastore: str, name: str, provisioning: Provisioning
    ) -> DiskInfo:
        """Copy the disk file `source` (a volume, a snapshot or an image's disk, on any
        datastore) to a new disk at `volume_path(datastore, name)`, allocated as `provisioning`
        where the backend can convert. A failed copy leaves no disk under the new name.

        The copy has the source's capacity; the caller grows it with `extend_disk` when the
        volume is bigger. `DiskInfo.capacity_gb` is the source's as far as the backend knows
        (0 when it does not report capacities, as vcsim).

        :raises NotFoundError: no disk at `source`, or no such datastore.
        :raises AlreadyExistsError: a disk with that name exists on the datastore.
        :raises NoCapacityError: the datastore has no room.
        """
        ...

    def delete_disk(self, path: str) -> None:
        """Delete a disk file; the caller makes sure no VM uses it (vCenter refuses if one does).

        :raises NotFoundError: no disk at `path`.
        :raises InvalidStateError: a VM has it attached.
        """
        ...

    def extend_disk(self, path: str, size_gb: int) -> DiskInfo:
        """Grow a detached disk (`ExtendVirtualDisk_Task`); attached disks grow through
        `ComputeDriver.grow_disk`.

        :raises NotFoundError: no disk at `path`.
        :raises InvalidStateError: `size_gb` is smaller than the disk, or it is attached.
        :raises UnsupportedError: the backend lacks `ExtendVirtualDisk_Task` (vcsim).
        """
        ...

    def list_disks(self, datastore: str) -> list[DiskInfo]:
        """Every disk in the datastore's volume folder.

        :raises NotFoundError: no such datastore.
        """
        ...

    def disk_exists(self, path: str) -> bool:
        """Whether a disk file exists at `path`.

        :raises TransientError: the backend is unreachable.
        """
        ...

    def key_providers(self) -> list[str]:
        """The key providers (KMS clusters) vCenter has for VM encryption, by cluster id;
        empty when it has none, or no CryptoManager at all (vcsim), so encrypted volumes
        cannot be made.

        :raises TransientError: the backend is unreachable.
        """
        ...

    def read_disk(self, path: str) -> Iterator[bytes]:
        """The data of the disk at `path` (its `-flat.vmdk` extent) from its first byte, in
        pieces of any size (what backups chunk and uploads to images stream). Errors are raised
        by this call, before the first piece.

        The data may be shorter than the disk's capacity: a datastore that keeps only the bytes
        written (vcsim) has nothing past them, and the disk reads as zeros there.

        :raises NotFoundError: no disk, or no data extent, at `path`.
        """
        ...

    # -- the data path: revert to snapshot (upload to image reads with `read_disk`) ----------

    def replace_disk(self, source: str, path: str, provisioning: Provisioning) -> DiskInfo:
        """Make the disk at `path` a copy of the disk `source` (revert a volume to its
        snapshot). The copy is made under a temporary name first and moved over `path` only
        once complete, so a failure leaves `path` as it was and no temporary disk behind.

        :raises NotFoundError: no disk at `source` or at `path`.
        :raises InvalidStateError: a VM has `path` attached.
        :raises NoCapacityError: the datastore has no room for the copy.
        """
        ...

    def write_disk(self, path: str, data: Iterable[bytes], size: int) -> None:
        """Replace the data of the detached disk at `path` with the `size` bytes `data`
        yields (a restore). The extent never gets shorter: past `size` it is zeroed up to its
        old length, so the disk keeps its capacity. The bytes go to a temporary file moved
        over the extent once complete: a failed write leaves the old data and no other file.

        :raises NotFoundError: no disk at `path`.
        :raises InvalidStateError: `data` did not yield `size` bytes, or a VM has the disk.
        :raises NoCapacityError: the datastore has no room.
        """
        ...
