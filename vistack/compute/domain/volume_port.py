"""What Nova needs of Cinder, as one narrow port.

Nova never reads Cinder's tables: attaching, detaching and boot-from-volume go through this
interface, which the volume service implements in process (`vistack.volume.domain.nova_port`).
Keeping the port small is what lets the compute side be tested with an in-memory stand-in and
lets Cinder change its storage without Nova noticing.

The attach protocol mirrors Cinder's attachments API (3.27+), which is what upstream Nova uses:
reserve (the volume becomes `attaching` or `reserved`), the compute driver adds the disk to the
VM, then complete (`in-use`) or unreserve (back to `available`) when the driver failed.
Detach is the same in reverse: begin (`detaching`), the driver removes the disk, then complete
(`available`) or roll back (`in-use`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vistack.common.context import RequestContext
from vistack.drivers.models import DiskIo


@dataclass(frozen=True)
class VolumeFacts:
    """A volume as Nova sees it."""

    id: str
    project_id: str
    name: str
    #: Cinder's status: creating, available, reserved, attaching, in-use, detaching, error, ...
    status: str
    size_gb: int
    availability_zone: str
    bootable: bool
    multiattach: bool
    #: The datastore path of the volume's disk, `[ds] volumes/<id>.vmdk`; None until created.
    path: str | None
    #: The servers the volume is attached to (or being attached to).
    server_ids: tuple[str, ...] = ()
    #: Cinder's `migration_status`: `migrating` while the volume service moves the volume,
    #: `target:<id>` on the volume it moves volume <id> onto (the only swaps Nova accepts).
    migration_status: str | None = None


@dataclass(frozen=True)
class AttachmentFacts:
    """One volume attachment (Cinder's attachment record)."""

    id: str
    volume_id: str
    server_id: str
    #: The datastore path of the disk the compute driver adds to or removes from the VM.
    path: str
    #: The guest device name Nova chose (`/dev/sdb`), None until the attach completes.
    device: str | None = None
    #: The volume type's front-end QoS for the disk on the VM (None: vSphere's defaults).
    io: DiskIo | None = None
    #: The volume is multiattach: its disk goes on each VM in multi-writer sharing, so the
    #: VMs that hold it can all open it (vSphere locks a disk file to one VM otherwise).
    multiattach: bool = False


class VolumePort(Protocol):
    """Cinder's side of attach, detach, boot from volume and the rebuild of a volume-backed
    server (re-imaging its root volume)."""

    def show(self, context: RequestContext, volume_id: str) -> VolumeFacts:
        """The volume, as `context` may see it.

        :raises NotFound: no such volume, or not visible to `context`.
        """
        ...

    def reserve(self, context: RequestContext, volume_id: str, server_id: str) -> AttachmentFacts:
        """Reserve the volume for `server_id`: `available` becomes `attaching` (as does an
        `in-use` multiattach volume, until this attachment completes).

        :raises NotFound: no such volume (or not visible).
        :raises Conflict: the volume is not `available` (and not multiattach), or is already
            attached to this server; the message says which status it has.
        """
        ...

    def complete_attach(self, attachment_id: str, device: str) -> AttachmentFacts:
        """The disk is on the VM: the volume is `in-use`, attached at `device`.

        :raises NotFound: no such attachment.
        """
        ...

    def unreserve(self, attachment_id: str) -> None:
        """The attach failed: drop the attachment; the volume is `available` again.

        Idempotent: an attachment already gone is not an error.
        """
        ...

    def begin_detach(
        self, context: RequestContext, volume_id: str, server_id: str
    ) -> AttachmentFacts:
        """Start detaching the volume from `server_id`: `in-use` becomes `detaching`.

        :raises NotFound: no such volume, or it is not attached to `server_id`.
        :raises Conflict: the volume is in a state that cannot detach (e.g. `attaching`).
        """
        ...

    def complete_detach(self, attachment_id: str) -> None:
        """The disk is off the VM: drop the attachment; `available` when none is left.

        Idempotent: an attachment already gone is not an error.
        """
        ...

    def roll_back_detach(self, attachment_id: str) -> None:
        """The detach failed: the volume is `in-use` again."""
        ...

    def attachments_of(self, server_id: str) -> list[AttachmentFacts]:
        """Every attachment of the server (reserved or complete), oldest first."""
        ...

    def migrate_volume_completion(
        self, old_volume_id: str, new_volume_id: str, *, error: bool
    ) -> str:
        """Cinder's `os-migrate_volume_completion`, after a swap: the id of the volume the
        server's mapping now names (the migrated volume's own id, which then names the new
        disk; `new_volume_id` when the swap was no migration). With `error` nothing changes.
        """
        ...

    def create_for_boot(
        self,
        context: RequestContext,
        *,
        size_gb: int,
        name: str,
        image_id: str | None = None,
        availability_zone: str | None = None,
        volume_type: str | None = None,
    ) -> VolumeFacts:
        """Create a volume for block_device_mapping_v2 (`source_type` image or blank,
        `destination_type` volume) and wait until it is `available`.

        With `image_id` the image's disk is copied into the volume, which is then bootable.

        :raises BadRequest: the image cannot back a volume, or `size_gb` is smaller than it.
        :raises NotFound: no such image or volume type.
        :raises Conflict: Cinder's quota would be exceeded (the message says which).
        :raises ServiceUnavailable: no datastore has room.
        """
        ...

    def reimage(
        self, context: RequestContext, volume_id: str, image_id: str, server_id: str
    ) -> VolumeFacts:
        """Replace the volume's disk with a copy of the image's, grown to the volume's size
        (Cinder's `os-reimage`, which Nova's 2.93 rebuild of a volume-backed server uses):
        the volume stays `in-use`, attached to `server_id`, and its `volume_image_metadata`
        names the new image. The caller has taken the disk off every VM (vCenter refuses to
        delete a disk a VM has). Repeating it after an interruption is safe.

        :raises NotFound: no such volume (or not visible), or no such image.
        :raises Conflict: the volume is not `in-use` attached to `server_id` alone.
        :raises BadRequest: the image cannot back a volume, or is bigger than the volume.
        :raises ServiceUnavailable: the copy failed: the volume is now `error` with the
            reason, and no disk is left over.
        """
        ...

    def delete(self, context: RequestContext, volume_id: str) -> None:
        """Delete a detached volume and its disk (delete_on_termination, and the undo of a
        failed boot from a volume Nova created).

        :raises NotFound: no such volume.
        :raises Conflict: it is still attached.
        """
        ...
