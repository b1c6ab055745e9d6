"""What Nova needs of Cinder's snapshots: the snapshot of a volume-backed server (createImage)
and the volumes a server booted from such an image gets (source_type snapshot).

Kept apart from `VolumePort` so a block storage service without snapshots for Nova (the
in-memory stand-in of the tests) still serves attach and boot from volume: Nova asks
`snapshot_port` and answers a documented 501 (createImage) or 400 (a snapshot mapping) when
the connected port does not offer this one. Cinder's in-process port
(`vistack.volume.domain.nova_port`) does.

Each call runs in the caller's thread, as `create_for_boot` does: Nova's jobs wait for the
copy, and waiting on a bus job from a bus worker could starve the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vistack.common.context import RequestContext
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import VolumeFacts


@dataclass(frozen=True)
class SnapshotFacts:
    """A volume snapshot as Nova sees it."""

    id: str
    volume_id: str
    #: Cinder's status: creating, available, error, deleting, ...
    status: str
    size_gb: int


@runtime_checkable
class SnapshotPort(Protocol):
    """Cinder's side of the snapshot of a volume-backed server and of booting from it."""

    def snapshot_volume(
        self, context: RequestContext, volume_id: str, *, name: str, description: str | None
    ) -> SnapshotFacts:
        """Snapshot the volume, attached or not (Nova's `create_snapshot_force`), copying its
        disk now; returns the snapshot `available`.

        :raises NotFound: no such volume (or not visible).
        :raises Conflict: Cinder's quota would be exceeded, or the volume's status allows no
            snapshot (the message says which).
        :raises ServiceUnavailable: the copy failed: no snapshot is left (its row and disk
            are removed), and the message says why.
        """
        ...

    def show_snapshot(self, context: RequestContext, snapshot_id: str) -> SnapshotFacts:
        """:raises NotFound: no such snapshot, or not visible to `context`."""
        ...

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        """Delete the snapshot and its disk now (the undo of a failed server snapshot).
        Idempotent: a snapshot already gone is not an error."""
        ...

    def volume_image_metadata(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        """The volume's `volume_image_metadata` (empty: none). :raises NotFound: no such volume."""
        ...

    def create_from_snapshot(
        self,
        context: RequestContext,
        snapshot_id: str,
        *,
        size_gb: int | None,
        name: str,
        availability_zone: str | None = None,
        volume_type: str | None = None,
    ) -> VolumeFacts:
        """A new volume with a copy of the snapshot's disk (`size_gb` None: the snapshot's
        size), `available`, bootable when the snapshot's volume was: a block device mapping
        with `source_type` snapshot.

        :raises NotFound: no such snapshot (deleted since the image was made, say).
        :raises BadRequest: the snapshot is not `available`, or `size_gb` is too small.
        :raises Conflict: Cinder's quota would be exceeded.
        :raises ServiceUnavailable: the copy failed or no datastore has room.
        """
        ...


def snapshot_port(link: VolumeLink | None) -> SnapshotPort | None:
    """The connected port's snapshot side, or None (no Cinder, or one without snapshots)."""
    port = link.port if link is not None else None
    return port if isinstance(port, SnapshotPort) else None
