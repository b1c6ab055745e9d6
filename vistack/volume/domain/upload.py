"""`os-volume_upload_image`: a Glance image made from a volume's disk.

The request records the volume as `uploading` and creates the image (queued, as its owner, so
Glance's own rules and quotas apply); a bus job then reads the disk's bytes off the datastore and
writes them through the image service's upload pipeline (format check, checksums, store). A
`vmdk` image is a streamOptimized VMDK, what Cinder's VMware driver uploads and what vSphere
imports; a `raw` one is the disk's bytes as the guest sees them, its full capacity. A job that
fails deletes the image (no half image is ever left) and puts the volume back to its status with
the reason in `error_message`.

An in-use volume (with `force`) is copied first, next to its disk, and the copy is read: a
datastore will not hand out the extent of a disk a running VM holds, and the copy is the
crash-consistent image Cinder's force promises.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable, VistackError
from vistack.compute.domain.work import context_of, context_payload
from vistack.drivers.errors import DriverError
from vistack.drivers.volumes import VolumeDriver
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image, Status
from vistack.image.domain.quota import byte_quota
from vistack.image.formats.convert import convert_to_stream_optimized_vmdk
from vistack.image.formats.errors import ConversionError, InvalidImage
from vistack.volume.db import queries
from vistack.volume.domain import convert, requests
from vistack.volume.domain.disk_jobs import failure_reason, undo_disk
from vistack.volume.domain.models import ATTACHED, AVAILABLE, IN_USE, Volume, VolumeType
from vistack.volume.domain.types import provisioning_of
from vistack.volume.domain.volumes import VolumeService

LOG = logging.getLogger(__name__)

UPLOAD = "volume.upload_image"
UPLOADING = "uploading"
GIB = 2**30
CHUNK = 1 << 20
#: What a volume's disk can be written as (Cinder's VMware driver: vmdk; raw is the extent).
DISK_FORMATS = ("vmdk", "raw")
#: Cinder's container formats; only a bare disk is made here (an OVA needs an OVF descriptor
#: of a VM this volume is not).
CONTAINER_FORMATS = ("bare",)
VISIBILITIES = ("public", "private", "shared", "community")
#: `volume_image_metadata` keys that describe the old image rather than being its properties.
NOT_PROPERTIES = frozenset(
    {
        "id",
        "image_id",
        "image_name",
        "name",
        "checksum",
        "container_format",
        "disk_format",
        "min_disk",
        "min_ram",
        "size",
        "virtual_size",
        "status",
        "owner",
        "visibility",
        "protected",
        "os_hidden",
        "created_at",
        "updated_at",
        "os_hash_algo",
        "os_hash_value",
        "direct_url",
        "locations",
        "location",
        "deleted",
        "deleted_at",
        "stores",
        "tags",
    }
)


@dataclass(frozen=True)
class UploadRequest:
    image_name: str
    disk_format: str
    container_format: str
    visibility: str
    protected: bool
    force: bool


@dataclass(frozen=True)
class UploadStarted:
    """What the answer shows: the volume (now `uploading`), its type, the queued image."""

    volume: Volume
    volume_type: VolumeType | None
    image: Image
    #: Set on the image once its data is in (`VolumeUpload._image_fields`).
    protected: bool = False


def parse(body: Any, *, v3_1: bool) -> UploadRequest:
    """The action's arguments; `visibility` and `protected` are read from 3.1 on, as Cinder.

    :raises BadRequest: a missing name, an unknown format or visibility.
    """
    args = body.get("os-volume_upload_image") if isinstance(body, dict) else None
    if not isinstance(args, dict):
        raise BadRequest("Malformed request body: 'os-volume_upload_image' must be an object.")
    name = args.get("image_name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("No image_name was specified in request.")
    if len(name) > 255:
        raise BadRequest("Invalid input received: image_name is longer than 255 characters.")
    disk_format = args.get("disk_format") or "vmdk"
    if disk_format not in DISK_FORMATS:
        raise BadRequest(
            f"Invalid disk-format '{disk_format}' is specified. Allowed disk-formats are "
            f"{', '.join(DISK_FORMATS)} (a vSphere volume is a VMDK; raw is its bytes)."
        )
    container_format = args.get("container_format") or "bare"
    if container_format not in CONTAINER_FORMATS:
        raise BadRequest(
            f"Invalid container-format '{container_format}' is specified. Allowed "
            f"container-formats are {', '.join(CONTAINER_FORMATS)}."
        )
    visibility, protected = "private", False
    if v3_1:
        visibility = args.get("visibility") or "private"
        if visibility not in VISIBILITIES:
            raise BadRequest(
                f"Invalid visibility '{visibility}'; use one of {', '.join(VISIBILITIES)}."
            )
        protected = requests.boolean("protected", args.get("protected", False))
    force = requests.boolean("force", args.get("force", False))
    return UploadRequest(name, disk_format, container_format, visibility, protected, force)


class VolumeUpload:
    """The action (`start`) and its bus job (`run`)."""

    def __init__(
        self,
        volumes: VolumeService,
        driver: VolumeDriver,
        images: ImageService,
        data: ImageDataService,
    ) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._driver = driver
        self._images = images
        self._data = data

    def register(self, bus: WorkQueue) -> None:
        bus.register(UPLOAD, self.run)

    # -- the request -----------------------------------------------------------------------------

    def start(
        self, context: RequestContext, volume_id: str, body: Any, *, v3_1: bool
    ) -> UploadStarted:
        request = parse(body, v3_1=v3_1)
        bus = self._volumes.bus
        if bus is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be uploaded.")
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize(
                "volume_extension:volume_actions:upload_image", context, row.project_id
            )
            if request.visibility == "public":
                self._volumes.authorize(
                    "volume_extension:volume_actions:upload_public", context, row.project_id
                )
            if row.status == IN_USE and not request.force:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available to upload it; it "
                    "is in-use (set force to upload an attached volume's crash-consistent copy)."
                )
            if row.status not in (AVAILABLE, IN_USE) or row.path is None:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available or in-use to "
                    f"upload it, but it is {row.status}."
                )
            prior = row.status
            row.status, row.error_message, row.updated_at = UPLOADING, None, utcnow()
            unit.flush()
            type_row = queries.volume_type(unit, row.volume_type_id)
            volume_type = (
                convert.volume_type(type_row, queries.extra_specs(unit, type_row.id))
                if type_row is not None
                else None
            )
            volume = self._volumes.view(unit, row)
        try:
            image = self._images.create(context, self._image_fields(volume, request))
        except BaseException:
            self._settle(volume_id, prior, None)
            raise
        payload = {
            "volume_id": volume_id,
            "image_id": image.id,
            "prior_status": prior,
            "disk_format": request.disk_format,
            "protected": request.protected,
            "context": context_payload(context),
        }
        try:
            bus.submit(UPLOAD, payload)
        except BaseException:
            self._discard(context, image.id)
            self._settle(volume_id, prior, "The upload could not be queued.")
            raise
        return UploadStarted(volume, volume_type, image, request.protected)

    @staticmethod
    def _image_fields(volume: Volume, request: UploadRequest) -> dict[str, Any]:
        """Glance's fields: the request's, and the properties the volume's image had.
        `protected` is set once the data is in (a protected image could not be removed if the
        upload failed)."""
        fields: dict[str, Any] = {
            "name": request.image_name,
            "disk_format": request.disk_format,
            "container_format": request.container_format,
            "visibility": request.visibility,
        }
        inherited = volume.image_metadata or {}
        for key in ("min_ram", "min_disk"):
            with contextlib.suppress(KeyError, ValueError):
                fields[key] = max(0, int(inherited[key]))
        for key, value in inherited.items():
            if key not in NOT_PROPERTIES and not key.startswith("os_glance"):
                fields[key] = str(value)
        return fields

    # -- the job -------------------------------------------------------------------------------

    def run(self, payload: Mapping[str, Any]) -> None:
        volume_id, image_id = str(payload["volume_id"]), str(payload["image_id"])
        prior = str(payload["prior_status"])
        context = context_of(dict(payload["context"]))
        try:
            self.upload(
                context,
                volume_id,
                image_id,
                prior,
                str(payload["disk_format"]),
                bool(payload.get("protected")),
            )
        except Exception as exc:  # every failure is recorded on the volume, none re-raised
            message = f"Upload of volume {volume_id} to image {image_id} failed: "
            message += failure_reason(exc)
            LOG.warning("%s", message)
            self._discard(context, image_id)
            self._settle(volume_id, prior, message)
            return
        self._settle(volume_id, prior, None)

    def upload(
        self,
        context: RequestContext,
        volume_id: str,
        image_id: str,
        prior: str,
        disk_format: str,
        protected: bool,
    ) -> Image:
        """Read the disk (a copy of it for an in-use volume) into the queued image."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != UPLOADING or row.path is None:
                raise NotFound(f"Volume {volume_id} is no longer being uploaded.")
            path, datastore, size_gb = row.path, row.datastore, row.size_gb
            provisioning = provisioning_of({"vmware:vmdk_type": row.provisioning})
        image = self._images.get(context, image_id)
        if image.status != Status.QUEUED:
            raise BadRequest(f"Image {image_id} is {image.status}, not queued.")
        stores = self._data.ordered_stores()
        if not stores:
            raise ServiceUnavailable("This cloud has no image store to upload volumes to.")
        self._data.begin_adopt(image)
        copy: str | None = None
        try:
            source = path
            if prior == IN_USE:
                if datastore is None:
                    raise NotFound(f"Volume {volume_id} has no datastore.")
                name = f"upload-{image_id}"
                copy = self._driver.copy_disk(path, datastore, name, provisioning).path
                source = copy
            limit = self._images.limits_for(image.owner).image_size_total
            cap = None if limit < 0 else limit
            if disk_format == "raw":
                # A raw image is the whole capacity: refused up front when it cannot fit.
                byte_quota("image_size_total", limit, 0, size_gb * GIB)
            data = padded(self._driver.read_disk(source), size_gb * GIB)
            if disk_format == "vmdk":
                return self._write_vmdk(image, data, protected, cap)
            return self._write(image, data, protected, cap)
        finally:
            undo_disk(self._driver, copy, "upload's copy")

    def _write(
        self, image: Image, data: Iterable[bytes], protected: bool, cap: int | None
    ) -> Image:
        """Through Glance's upload pipeline (quota meter, format check, checksums) to the
        preferred store, then active; `cap` is the most bytes the project's quota allows."""
        store = self._data.ordered_stores()[0]
        stored, facts, digests = self._data.write(image, data, None, store, cap)
        columns = {"protected": True} if protected else None
        return self._data.activate(
            image, store, stored, facts, digests, frozenset({Status.SAVING.value}), None, columns
        )

    def _write_vmdk(
        self, image: Image, data: Iterable[bytes], protected: bool, cap: int | None
    ) -> Image:
        """Stage the disk as a sparse raw file (zeros are holes, so a mostly empty volume costs
        little), convert it to a streamOptimized VMDK with qemu-img, and upload that."""
        scratch = self._data.scratch()
        raw = scratch / f"{image.id}.volume.raw"
        vmdk = scratch / f"{image.id}.volume.vmdk"
        try:
            stage_sparse(data, raw)
            try:
                convert_to_stream_optimized_vmdk(raw, "raw", vmdk)
            except (ConversionError, InvalidImage) as exc:
                raise ServiceUnavailable(f"The disk could not be made a VMDK: {exc}") from exc
            return self._write(image, file_chunks(vmdk), protected, cap)
        finally:
            raw.unlink(missing_ok=True)
            vmdk.unlink(missing_ok=True)

    # -- endings -------------------------------------------------------------------------------

    def _settle(self, volume_id: str, prior: str, message: str | None) -> None:
        """Back to the status the upload started from (the attachments decide if that was
        changed meanwhile), with `message` when it failed."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            status = prior
            if row is not None:
                status = IN_USE if row.attach_status == ATTACHED else AVAILABLE
            queries.set_volume_status(
                unit,
                volume_id,
                [UPLOADING],
                status=status,
                error_message=message,
                updated_at=utcnow(),
            )

    def _discard(self, context: RequestContext, image_id: str) -> None:
        """Delete the image of a failed upload; what it wrote goes with it."""
        try:
            self._images.delete(context, image_id)
        except NotFound:
            pass
        except (VistackError, DriverError):
            LOG.exception("could not delete image %s of a failed volume upload", image_id)

    def recover(self) -> None:
        """After a restart no upload runs: `uploading` volumes go back (their queued images
        are the owner's to delete; nothing names them here)."""
        with self._store.transaction() as unit:
            stuck = [v.id for v in queries.volumes(unit, None) if v.status == UPLOADING]
        for volume_id in stuck:
            self._settle(volume_id, AVAILABLE, "Interrupted by a restart of the volume service.")


def padded(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The disk's bytes, cut or zero-filled to `size` (a datastore keeps no trailing zeros)."""
    left = size
    for chunk in chunks:
        if left <= 0:
            break
        piece = chunk[:left]
        left -= len(piece)
        yield piece
    zeros = bytes(CHUNK)
    while left > 0:
        piece = zeros[: min(CHUNK, left)]
        left -= len(piece)
        yield piece


def stage_sparse(chunks: Iterable[bytes], target: Path) -> None:
    """Write `chunks` to `target`, leaving holes where a chunk is all zeros."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as stream:
        length = 0
        for chunk in chunks:
            if chunk.count(0) == len(chunk):
                stream.seek(len(chunk), os.SEEK_CUR)
            else:
                stream.write(chunk)
            length += len(chunk)
        stream.truncate(length)


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk
