"""createImage of a volume-backed server: a Cinder snapshot of each of its volumes and a Glance
image with no data of its own that maps them (Nova's `snapshot_volume_backed`).

The server's root is a volume, so there is no disk to copy into Glance. As in Nova, every
volume mapped to the server (root and data volumes) gets a snapshot, taken with `force` since
they are attached, and the image carries the mappings: `bdm_v2`, `block_device_mapping` (a
volume made from each snapshot, with the mapping's boot index, device name, size and
delete_on_termination) and `root_device_name`, beside Nova's snapshot properties and what the
root volume's `volume_image_metadata` says of the image it was made from. The image is
activated with zero bytes (`raw`, `bare`, size 0: Nova has Glance activate it the same way),
so a client waiting for `active` sees it; a create with it as `imageRef` boots from volumes
made from the snapshots (`image_mappings.py`, `boot_requests.py`).

Unlike Nova, which takes the snapshots in the API request, the job takes them (the copies can
be long on vSphere) with the task states of an image-backed snapshot: image_snapshot →
image_pending_upload (the snapshots) → image_uploading (the image) → none. Each snapshot made
is remembered on the server before the next starts, so a failure (or a restart) deletes them
with the image: no image is left mapping snapshots that did not all succeed. vSphere has no
guest quiesce here: the snapshots are crash-consistent, one volume after the other.

Deleting the image leaves the snapshots (they are Cinder's, as in Nova); deleting a snapshot
the image maps is allowed, and a boot from the image then fails with a 400 naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, VistackError
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.domain import states
from vistack.compute.domain.block_devices import BlockDevice
from vistack.compute.domain.image_mappings import (
    ROOT_DEVICE_PROPERTY,
    image_mapping,
    mapping_properties,
)
from vistack.compute.domain.lifecycle import ActionDeps, remember, step
from vistack.compute.domain.models import Server
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_snapshot_port import SnapshotPort, snapshot_port
from vistack.image.domain.models import Image
from vistack.image.domain.patch import PatchOp

LOG = logging.getLogger(__name__)

#: The server's only boot device name (`boot_volumes.ROOT_DEVICE`).
ROOT_DEVICE = "/dev/sda"
#: What the job remembers of its work (`snapshots.JOB_KEY`'s value says `kind` volume).
KIND = "volume"
#: `volume_image_metadata` keys that describe the volume's source image rather than being
#: its properties: a snapshot image has its own (Nova keeps only the properties and the
#: image's minimums).
_IMAGE_FIELDS = frozenset(
    {"image_id", "image_name", "checksum", "size", "container_format", "disk_format"}
)


def inherited_from_volume(
    metadata: Mapping[str, str], not_inherited: frozenset[str]
) -> tuple[dict[str, str], int, int]:
    """(properties, min_disk, min_ram) a volume-backed server's snapshot takes from its root
    volume's `volume_image_metadata`, as Nova's image metadata of such a server carries
    them over."""
    properties = {
        k: v
        for k, v in metadata.items()
        if k not in _IMAGE_FIELDS
        and k not in ("min_disk", "min_ram")
        and k not in not_inherited
        and not k.startswith("os_glance")
    }
    return properties, _int(metadata.get("min_disk")), _int(metadata.get("min_ram"))


def _int(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


class VolumeSnapshots:
    """The volume-backed half of createImage (`snapshots.SnapshotService` calls it)."""

    def __init__(self, deps: ActionDeps, link: VolumeLink | None = None) -> None:
        self._deps = deps
        self.link = link

    def port(self) -> SnapshotPort | None:
        """Cinder's snapshot side, None when the block storage service offers none."""
        return snapshot_port(self.link)

    def devices(self, server_id: str) -> list[BlockDevice]:
        """The server's volumes, the root first (what gets a snapshot)."""
        with self._deps.store.transaction() as unit:
            found = bdm_queries.of_server(unit, server_id)
        volumes = [d for d in found if d.destination_type == "volume" and d.volume_id]
        return sorted(volumes, key=lambda d: (not d.is_root, d.boot_index is None))

    # ------------------------------------------------------------------ API half

    def make_image(
        self,
        context: RequestContext,
        server: Server,
        name: str,
        properties: Mapping[str, str],
        not_inherited: frozenset[str],
    ) -> Image:
        """The queued image of the snapshot, with Nova's snapshot properties and what the root
        volume's image metadata carries; the mappings come when the snapshots exist."""
        deps = self._deps
        port = self.port()
        inherited: dict[str, str] = {}
        min_disk, min_ram = 0, 0
        root = next((d for d in self.devices(server.id) if d.is_root), None)
        if port is not None and root is not None and root.volume_id is not None:
            try:
                metadata = port.volume_image_metadata(context, root.volume_id)
            except NotFound:
                metadata = {}
            inherited, min_disk, min_ram = inherited_from_volume(metadata, not_inherited)
        fields: dict[str, Any] = {
            **inherited,
            "name": name,
            # No data of its own: Glance needs formats to activate it with zero bytes.
            "disk_format": "raw",
            "container_format": "bare",
            "visibility": "private" if context.project_id == server.project_id else "shared",
            "min_disk": min_disk,
            "min_ram": min_ram,
            "image_type": "snapshot",
            "instance_uuid": server.id,
            "base_image_ref": server.image_id,
            "owner_id": server.project_id,
            "user_id": context.user_id or "",
            ROOT_DEVICE_PROPERTY: ROOT_DEVICE,
            **properties,
        }
        try:
            return deps.images.create(context, fields)
        except PayloadTooLarge as exc:
            raise Forbidden(f"Quota exceeded for image: {exc.message}") from None

    # ------------------------------------------------------------------ job half

    def snapshot(
        self, context: RequestContext, server: Server, image_id: str, job_key: str
    ) -> Image:
        """Snapshot each volume, then map the snapshots in the image and activate it, moving
        the task image_snapshot → image_pending_upload → image_uploading. Each snapshot made
        is remembered under `job_key` on the server before the next is taken.

        :raises VistackError: a snapshot failed, or the image went: the caller deletes the
            snapshots remembered on the server (`undo`) and the image.
        """
        deps = self._deps
        port = self.port()
        step(deps, server.id, server.task_state or "", task_state=states.IMAGE_PENDING_UPLOAD)
        if port is None:
            raise BadRequest("The block storage service went away: no volume can be snapshotted.")
        image = self._image(context, image_id)
        made: list[str] = []
        mappings: list[dict[str, Any]] = []
        for device in self.devices(server.id):
            snapshot = port.snapshot_volume(
                context, str(device.volume_id), name=f"snapshot for {image.name}", description=None
            )
            made.append(snapshot.id)
            job = {"image_id": image_id, "kind": KIND, "snapshots": list(made)}
            remember(deps, server.id, job_key, job)
            mappings.append(
                image_mapping(
                    snapshot.id,
                    volume_size=snapshot.size_gb,
                    boot_index=device.boot_index,
                    device=ROOT_DEVICE if device.is_root else device.device_name,
                    delete_on_termination=device.delete_on_termination,
                    volume_type=device.volume_type,
                )
            )
        step(deps, server.id, states.IMAGE_PENDING_UPLOAD, task_state=states.IMAGE_UPLOADING)
        properties = mapping_properties(mappings, ROOT_DEVICE)
        ops = [PatchOp("add", k, v) for k, v in properties.items()]
        deps.images.update(context, image_id, ops)
        # Zero bytes: Glance records the image active with size 0, as Nova has it do.
        return deps.image_data.upload(context, image_id, iter(()), 0)

    def _image(self, context: RequestContext, image_id: str) -> Image:
        try:
            return self._deps.images.visible_image(context, image_id)
        except NotFound:
            raise BadRequest(f"Image {image_id} was deleted during the snapshot.") from None

    def undo(self, context: RequestContext, job: Mapping[str, Any]) -> None:
        """Delete the snapshots a failed (or interrupted) job made (best effort, logged)."""
        snapshots = job.get("snapshots")
        if job.get("kind") != KIND or not isinstance(snapshots, list) or not snapshots:
            return
        port = self.port()
        if port is None:
            LOG.warning("snapshots %s of a failed server snapshot are left: no Cinder", snapshots)
            return
        for snapshot_id in snapshots:
            try:
                port.delete_snapshot(context, str(snapshot_id))
            except VistackError as exc:
                LOG.warning("could not delete snapshot %s: %s", snapshot_id, exc.message)
            except Exception:
                LOG.exception("could not delete snapshot %s", snapshot_id)
