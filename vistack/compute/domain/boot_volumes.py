"""A server's volumes across its life: made and attached by the build, taken off the VM before
any VM of it is destroyed, put back on a VM made again, and detached (and deleted where asked)
by the delete.

The build side follows the create's block device mappings (recorded by `ServerService` with
the server): a volume Nova must make (source image or blank) is made through
`VolumePort.create_for_boot` and recorded at once (`nova_created`), each volume is reserved
for the server and its attachment recorded, the VM is created with the volumes' disks (the
root volume's as its first, boot disk: no template is cloned for a volume-backed server), and
the attachments are completed with the device names. Every step is recorded before the next,
so a failed build (or a delete meanwhile) finds what to undo: `teardown` takes each disk off
the VM, ends each attachment and deletes the volumes Nova made for the failed build.

vCenter deletes every disk still attached to a VM it destroys: `detach_disks` runs before any
VM of a server with volumes is destroyed (delete, shelve offload, rebuild), and
`attach_disks` puts them on the VM made again (unshelve, rebuild). The simulator keeps such
disks either way, so only the fake driver (which models vCenter) proves the order matters.

From 2.93 a rebuild of a volume-backed server has Cinder rewrite its root volume from the new
image while its disk is off every VM (`reimage_root`, through the port), and boots the new VM
from the same volumes (`boot_disks`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    VistackError,
)
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.block_devices import (
    SNAPSHOTS_UNSUPPORTED,
    BlockDevice,
    next_device,
)
from vistack.compute.domain.models import Server
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import VolumeFacts
from vistack.compute.domain.volume_snapshot_port import snapshot_port
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import AlreadyExistsError, DriverError, NotFoundError
from vistack.drivers.models import DiskIo, DiskSpec
from vistack.drivers.paths import split_datastore_path

LOG = logging.getLogger(__name__)

ROOT_DEVICE = "/dev/sda"


@dataclass(frozen=True)
class BootDisks:
    """The volume disks a new VM gets: the root volume's (None: the image is the root) and
    the others, in mapping order."""

    root: str | None
    others: tuple[str, ...]
    #: Disk path → its volume type's QoS on the VM (absent: vSphere's defaults).
    io: Mapping[str, DiskIo | None] = field(default_factory=dict)
    #: The disk paths of multiattach volumes: multi-writer sharing on the VM.
    shared: frozenset[str] = frozenset()

    @property
    def root_datastore(self) -> str | None:
        return split_datastore_path(self.root)[0] if self.root else None

    def specs(self) -> tuple[DiskSpec, ...]:
        root = (
            [
                DiskSpec(
                    path=self.root,
                    root=True,
                    io=self.io.get(self.root),
                    shared=self.root in self.shared,
                )
            ]
            if self.root
            else []
        )
        return (
            *root,
            *(DiskSpec(path=p, io=self.io.get(p), shared=p in self.shared) for p in self.others),
        )


class ServerVolumes:
    """The build's, the delete's and the VM-remaking actions' side of a server's volumes."""

    def __init__(self, store: ComputeStore, link: VolumeLink, drivers: Drivers) -> None:
        self._store = store
        self._link = link
        self._drivers = drivers

    def devices(self, server_id: str) -> list[BlockDevice]:
        """The server's volume mappings, the boot volume first."""
        with self._store.transaction() as unit:
            found = bdm_queries.of_server(unit, server_id)
        volumes = [d for d in found if d.destination_type == "volume"]
        return sorted(volumes, key=lambda d: (not d.is_root, d.boot_index is None))

    # ------------------------------------------------------------------ build

    def prepare(self, server: Server, context: RequestContext) -> BootDisks:
        """Make the volumes Nova must make and reserve every volume for the server, recording
        each step; returns the disks the VM gets.

        :raises VistackError: Cinder refused (no image, no room, quota), or no Cinder.
        """
        devices = self.devices(server.id)
        if not devices:
            return BootDisks(None, ())
        port = self._link.require()
        root: str | None = None
        others: list[str] = []
        for index, device in enumerate(devices):
            volume_id = device.volume_id
            if volume_id is None and device.snapshot_id is not None:
                made = self._from_snapshot(context, server, device, index)
                volume_id = made.id
                self._set(device.uuid, volume_id=made.id, nova_created=True, path=made.path)
            elif volume_id is None:
                made = port.create_for_boot(
                    context,
                    size_gb=int(device.volume_size or 1),
                    name=f"{server.name}-blockdevice-{index}",
                    image_id=device.image_id if device.source_type == "image" else None,
                    availability_zone=server.availability_zone,
                    volume_type=device.volume_type,
                )
                volume_id = made.id
                self._set(device.uuid, volume_id=made.id, nova_created=True, path=made.path)
            attachment_id = device.attachment_id
            path = device.path
            if attachment_id is None:
                attachment = port.reserve(context, volume_id, server.id)
                attachment_id, path = attachment.id, attachment.path
                self._set(device.uuid, attachment_id=attachment.id, path=attachment.path)
            if path is None:
                raise Conflict(f"Volume {volume_id} has no disk to attach yet.")
            if device.is_root:
                root = path
            else:
                others.append(path)
        return BootDisks(root, tuple(others), self._io(server.id), self._shared(server.id))

    def _from_snapshot(
        self, context: RequestContext, server: Server, device: BlockDevice, index: int
    ) -> VolumeFacts:
        """A volume made from the mapping's Cinder snapshot (source_type snapshot).

        :raises BadRequest: no block storage service that offers snapshots to Nova.
        :raises VistackError: Cinder refused (the snapshot is gone, say): the build's fault.
        """
        snapshots = snapshot_port(self._link)
        if snapshots is None:
            raise BadRequest(SNAPSHOTS_UNSUPPORTED)
        try:
            return snapshots.create_from_snapshot(
                context,
                str(device.snapshot_id),
                size_gb=device.volume_size,
                name=f"{server.name}-blockdevice-{index}",
                availability_zone=server.availability_zone,
                volume_type=device.volume_type,
            )
        except NotFound:
            raise BadRequest(
                f"Block Device Mapping is Invalid: failed to get snapshot {device.snapshot_id}: "
                "it was deleted from the block storage service."
            ) from None

    def complete(self, server_id: str) -> None:
        """The VM has the disks: complete each attachment with its device name (the root
        volume is `/dev/sda`; others as asked, else the next free name)."""
        port = self._link.require()
        devices = self.devices(server_id)
        taken = [d.device_name for d in devices if d.device_name]
        for device in devices:
            if device.attachment_id is None:
                continue
            name = device.device_name
            if device.is_root:
                name = ROOT_DEVICE
            elif name is None:
                name = next_device(taken)
                taken.append(name)
            port.complete_attach(device.attachment_id, name)
            self._set(device.uuid, device_name=name)

    # ------------------------------------------------------------------ teardown

    def teardown(self, server_id: str, context: RequestContext, *, failed_build: bool) -> list[str]:
        """Take every volume off the server's VM and end its attachment; delete the volumes
        the server's end takes with it: those with `delete_on_termination` (a delete), or
        those Nova made for a build that failed. Returns what could not be done; a volume
        whose disk could not be taken off the VM stays recorded, and the caller must not
        destroy the VM (vCenter would delete the volume's disk with it)."""
        devices = self.devices(server_id)
        if not devices:
            return []
        port = self._link.port
        if port is None:
            return [f"volumes {[d.volume_id for d in devices]}: no block storage service"]
        problems: list[str] = []
        for device in devices:
            try:
                self._end(device, server_id, context, failed_build=failed_build)
            except (VistackError, DriverError) as exc:
                problems.append(f"volume {device.volume_id}: {exc}")
            except Exception as exc:  # reported on the server, never lost
                LOG.exception("could not detach volume %s of %s", device.volume_id, server_id)
                problems.append(f"volume {device.volume_id}: {exc}")
        return problems

    def _end(
        self, device: BlockDevice, server_id: str, context: RequestContext, *, failed_build: bool
    ) -> None:
        port = self._link.require()
        if device.path is not None:
            with contextlib.suppress(NotFoundError):  # no VM, or the disk is off it already
                self._drivers.compute.detach_disk(server_id, device.path)
        if device.volume_id is not None and device.attachment_id is not None:
            try:
                attachment = port.begin_detach(context, device.volume_id, server_id)
                port.complete_detach(attachment.id)
            except NotFound:
                port.unreserve(device.attachment_id)  # never completed, or gone already
            except Conflict:
                port.unreserve(device.attachment_id)  # reserved or attaching: drop it
        doomed = device.nova_created if failed_build else device.delete_on_termination
        if doomed and device.volume_id is not None:
            try:
                port.delete(context, device.volume_id)
            except NotFound:
                pass
            except Conflict as exc:
                # A multiattach volume still on other servers stays (as Nova keeps it).
                LOG.info("volume %s kept at the end of %s: %s", device.volume_id, server_id, exc)
        with self._store.transaction() as unit:
            bdm_queries.remove(unit, device.uuid)

    # ------------------------------------------------------------------ VMs made again

    def detach_disks(self, server_id: str) -> None:
        """Take the volumes' disks off the VM (their attachments stay): before the VM is
        destroyed by an action that makes it again (shelve offload, rebuild).

        :raises DriverError: a disk could not be taken off (the VM must not be destroyed).
        """
        for device in self.devices(server_id):
            if device.path is None:
                continue
            with contextlib.suppress(NotFoundError):
                self._drivers.compute.detach_disk(server_id, device.path)

    def attach_disks(self, server_id: str) -> None:
        """Put the volumes' disks on the server's new VM (unshelve, rebuild), root first,
        each with its volume type's QoS as Cinder reports it for the attachment."""
        io = self._io(server_id)
        shared = self._shared(server_id)
        for device in self.devices(server_id):
            if device.path is None or device.attachment_id is None:
                continue
            with contextlib.suppress(AlreadyExistsError):
                self._drivers.compute.attach_disk(
                    server_id, device.path, io.get(device.path), shared=device.path in shared
                )

    # ------------------------------------------------------------------ rebuild (2.93)

    def root_device(self, server_id: str) -> BlockDevice | None:
        """The mapping of the server's root volume, None for an image-backed server."""
        return next((d for d in self.devices(server_id) if d.is_root), None)

    def root_volume(self, context: RequestContext, server_id: str) -> VolumeFacts:
        """The server's root volume as Cinder has it (its size bounds the image a rebuild
        may write into it).

        :raises Conflict: the server has no root volume Cinder knows.
        """
        device = self.root_device(server_id)
        if device is None or device.volume_id is None:
            raise Conflict(f"Server {server_id} has no root volume to rebuild.")
        try:
            return self._link.require().show(context, device.volume_id)
        except NotFound:
            raise Conflict(
                f"The root volume {device.volume_id} of server {server_id} could not be found."
            ) from None

    def reimage_root(self, server_id: str, context: RequestContext, image_id: str) -> None:
        """Have Cinder rewrite the root volume from `image_id`. The volume's disk must be off
        the VM (`detach_disks`); its attachment stays, and so do the other volumes'.

        :raises VistackError: Cinder refused, or the copy failed (the volume is `error`).
        """
        device = self.root_device(server_id)
        if device is None or device.volume_id is None:
            raise Conflict(f"Server {server_id} has no root volume to rebuild.")
        facts = self._link.require().reimage(context, device.volume_id, image_id, server_id)
        if facts.path is not None and facts.path != device.path:
            self._set(device.uuid, path=facts.path)

    def boot_disks(self, server_id: str) -> BootDisks:
        """The volume disks a VM of the server is made again with (rebuild): the root
        volume's first, then the others attached, in mapping order."""
        root: str | None = None
        others: list[str] = []
        for device in self.devices(server_id):
            if device.path is None or device.attachment_id is None:
                continue
            if device.is_root:
                root = device.path
            else:
                others.append(device.path)
        return BootDisks(root, tuple(others), self._io(server_id), self._shared(server_id))

    def _io(self, server_id: str) -> dict[str, DiskIo | None]:
        """Each attached volume's QoS on the VM, by disk path, as Cinder reports it."""
        port = self._link.port
        if port is None:
            return {}
        return {a.path: a.io for a in port.attachments_of(server_id)}

    def _shared(self, server_id: str) -> frozenset[str]:
        """The disk paths of the server's multiattach volumes (multi-writer on its VM)."""
        port = self._link.port
        if port is None:
            return frozenset()
        return frozenset(a.path for a in port.attachments_of(server_id) if a.multiattach)

    def _set(self, bdm_uuid: str, **values: Any) -> None:
        with self._store.transaction() as unit:
            bdm_queries.set_fields(unit, bdm_uuid, **values)


def volume_backed(devices: list[BlockDevice]) -> bool:
    """Whether a server's mappings make it volume-backed (its root disk is a volume)."""
    return any(d.is_root for d in devices)


# ---------------------------------------------------------------- what volume-backed servers refuse


def rebuild_refused(at_least: Callable[[str], bool]) -> BadRequest | None:
    """Rebuilding a volume-backed server: Nova refuses before 2.93; from 2.93 it re-images the
    root volume (`ServerVolumes.reimage_root`), so there is nothing to refuse."""
    if not at_least("2.93"):
        return BadRequest(
            "Rebuilding a volume-backed server is not supported before microversion 2.93."
        )
    return None


def rescue_refused(at_least: Callable[[str], bool], image_ref: str | None) -> BadRequest | None:
    """Rescuing a volume-backed server: Nova refuses before 2.87; from 2.87 the rescue disk
    boots with the volumes still attached, from an image the request names (the server has
    none of its own)."""
    if not at_least("2.87"):
        return BadRequest("Cannot rescue a volume-backed instance")
    if image_ref is None:
        return BadRequest(
            "A volume-backed server has no image of its own to rescue from: name a "
            "rescue_image_ref."
        )
    return None


SNAPSHOT_REFUSED = (
    "Snapshots of volume-backed servers (createImage) are not supported by this cloud: they "
    "need snapshots of the server's volumes, which its block storage service does not take "
    "for Nova. Snapshot the volume in the block storage service instead."
)
SHELVE_REFUSED = (
    "Shelving a volume-backed server is not supported by this cloud yet: stop the server "
    "instead (its volumes and data stay as they are)."
)
