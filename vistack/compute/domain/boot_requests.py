"""The create's side of block device mappings: checking them against Cinder and Glance before
anything is recorded, and recording them with the servers.

Nova checks at the API what a person can get wrong (a volume that does not exist or is in
use, an image too big for its volume) and leaves the rest to the build, which makes the
volumes (`boot_volumes.ServerVolumes`). Cinder's quota is Cinder's: a volume it refuses fails
the build with Cinder's message as the server's fault.

An image that carries block device mappings (the snapshot of a volume-backed server) boots
from them (`from_image`): the server is volume-backed, its volumes made from the image's
snapshots. A snapshot that is gone (deleted in Cinder since) is a 400 naming it, as in Nova.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db.store import ComputeUnit
from vistack.compute.domain.block_devices import SNAPSHOTS_UNSUPPORTED, DeviceRequest
from vistack.compute.domain.image_mappings import image_devices, merge
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_snapshot_port import snapshot_port
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image

GIB = 1024**3
MULTIATTACH_MICROVERSION = (
    "Multiattach volumes are only supported starting with compute API version 2.60."
)


class BootRequests:
    """Checks and records a create's block device mappings."""

    def __init__(self, link: VolumeLink, images: ImageService) -> None:
        self._link = link
        self._images = images

    def check(
        self,
        context: RequestContext,
        devices: Sequence[DeviceRequest],
        *,
        max_count: int,
        multiattach: bool = True,
    ) -> None:
        """`multiattach`: the microversion takes multiattach volumes (2.60), as Nova asks
        before it lets one be a server's disk.

        :raises BadRequest: a mapping Nova would refuse (its message says which).
        :raises ServiceUnavailable: mappings that need volumes, and no block storage."""
        if not devices:
            return
        port = self._link.require()
        if max_count > 1 and any(d.source_type == "volume" for d in devices):
            raise BadRequest("Cannot attach one or more volumes to multiple instances")
        for device in devices:
            if device.source_type == "volume":
                try:
                    volume = port.show(context, str(device.uuid))
                except NotFound:
                    raise BadRequest(
                        f"Block Device Mapping is Invalid: failed to get volume {device.uuid}."
                    ) from None
                if volume.multiattach and not multiattach:
                    raise BadRequest(MULTIATTACH_MICROVERSION)
                if volume.status != "available" and not volume.multiattach:
                    raise BadRequest(
                        f"Invalid volume: volume {volume.id} status must be 'available', "
                        f"not '{volume.status}'."
                    )
                if device.is_root_volume and not volume.bootable:
                    raise BadRequest(
                        f"Block Device Mapping is Invalid: volume {volume.id} is not bootable."
                    )
            elif device.source_type == "image":
                self._check_image(context, device)
            elif device.source_type == "snapshot":
                self._check_snapshot(context, device)

    def _check_snapshot(self, context: RequestContext, device: DeviceRequest) -> None:
        snapshots = snapshot_port(self._link)
        if snapshots is None:
            raise BadRequest(SNAPSHOTS_UNSUPPORTED)
        try:
            snapshot = snapshots.show_snapshot(context, str(device.uuid))
        except NotFound:
            raise BadRequest(
                f"Block Device Mapping is Invalid: failed to get snapshot {device.uuid}."
            ) from None
        if snapshot.status != "available":
            raise BadRequest(
                f"Invalid snapshot: snapshot {snapshot.id} status must be 'available', not "
                f"'{snapshot.status}'."
            )
        if device.volume_size is not None and device.volume_size < snapshot.size_gb:
            raise BadRequest(
                f"Volume size {device.volume_size} is smaller than snapshot {snapshot.id} "
                f"({snapshot.size_gb} GB)."
            )

    def from_image(
        self, context: RequestContext, image_id: str, devices: tuple[DeviceRequest, ...]
    ) -> tuple[str, tuple[DeviceRequest, ...], Image | None]:
        """The create's image and mappings once the image's own mappings are read: an image
        that maps its root volume (a volume-backed server's snapshot) makes the server
        volume-backed (image "" as for any boot from volume), with the image's mappings
        merged with the request's. Any other image is left to the create's checks, and is
        returned as read (None: not found) so those checks need not read it again.

        :raises BadRequest: the image's mappings cannot be booted from, or it is not active.
        """
        try:
            image = self._images.visible_image(context, image_id)
        except NotFound:
            return image_id, devices, None  # the create's own check says so
        mapped = image_devices(image.id, image.properties)
        if not mapped:
            return image_id, devices, image
        if not any(d.boot_index == 0 for d in mapped):
            raise BadRequest(
                f"Image {image.id} maps volumes but not its root disk, and has no disk of its "
                "own to boot from."
            )
        if image.status != "active":
            raise BadRequest(f"Image {image.id} is not active.")
        return "", merge(mapped, devices), None

    def _check_image(self, context: RequestContext, device: DeviceRequest) -> None:
        try:
            image = self._images.visible_image(context, str(device.uuid))
        except NotFound:
            raise BadRequest(
                f"Block Device Mapping is Invalid: failed to get image {device.uuid}."
            ) from None
        if image.status != "active":
            raise BadRequest(f"Image {image.id} is not active.")
        size = int(device.volume_size or 0)
        if image.size and image.size > size * GIB:
            raise BadRequest(
                f"Size of specified image {image.id} is larger than volume size {size}."
            )
        if image.min_disk and size < image.min_disk:
            raise BadRequest("Volume is smaller than the minimum size specified in image metadata.")

    @staticmethod
    def record(unit: ComputeUnit, server_id: str, devices: Sequence[DeviceRequest]) -> None:
        """The mappings of one new server, in the create's order (volumes made later)."""
        for device in devices:
            values: dict[str, Any] = {
                "boot_index": device.boot_index,
                "source_type": device.source_type,
                "destination_type": device.destination_type,
                "volume_id": device.uuid if device.source_type == "volume" else None,
                # The image or snapshot a volume is made from (`BlockDevice.snapshot_id`).
                "image_id": device.uuid if device.source_type in ("image", "snapshot") else None,
                "volume_size": device.volume_size,
                "volume_type": device.volume_type,
                "device_name": device.device_name,
                "delete_on_termination": device.delete_on_termination,
                "tag": device.tag,
            }
            bdm_queries.add(unit, server_id, str(uuid.uuid4()), **values)
