"""Re-imaging an attached volume: its disk becomes a copy of an image's (Cinder's `os-reimage`,
what Nova's 2.93 rebuild of a volume-backed server asks for).

The volume keeps its id, size, type and attachment; only its disk and `volume_image_metadata`
change. While the copy runs it is `downloading` (as Cinder shows a re-image), so no other
action (detach, extend, snapshot, delete) can touch a disk that is being replaced. Nova has
taken the disk off the server's VM first: vCenter refuses to delete a disk a VM still has.

The old disk is deleted before the image is copied under its name: a re-image destroys the
volume's data by definition, and copying beside it first would double the copy time and the
space needed for every rebuild. A failed copy (no room, image file gone) leaves the volume in
`error` with the reason and no partial disk, which is what Cinder leaves after a failed
re-image; the user rebuilds again or deletes the server. Every driver step is safe to repeat,
so a rebuild redone after a restart re-images a volume left `downloading`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    VistackError,
)
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.paths import split_datastore_path
from vistack.drivers.volumes import VOLUME_FOLDER, VolumeDriver, volume_path
from vistack.image.domain.models import Image
from vistack.volume.db import queries
from vistack.volume.domain import attachments, messages
from vistack.volume.domain.disk_jobs import fail_volume, failure_reason, undo_disk
from vistack.volume.domain.models import AVAILABLE, ERROR, IN_USE
from vistack.volume.domain.sources import Source, image_source
from vistack.volume.domain.types import provisioning_of
from vistack.volume.domain.volumes import VolumeService

LOG = logging.getLogger(__name__)

#: Cinder's status of a volume whose disk is being rewritten from an image.
REIMAGING = "downloading"


class ReimageFailed(ServiceUnavailable):
    """The image could not be copied into the volume; it is in `error`, no disk left over."""


@dataclass(frozen=True)
class _Plan:
    path: str
    datastore: str
    name: str
    size_gb: int
    provisioning: str
    source: Source


class VolumeReimage:
    """Rewrites an attached volume's disk from an image, for Nova's port."""

    def __init__(self, volumes: VolumeService, driver: VolumeDriver | None) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._driver = driver

    def reimage(
        self, context: RequestContext, volume_id: str, image_id: str, server_id: str
    ) -> None:
        """Re-image the volume (see `VolumePort.reimage`).

        :raises NotFound, Conflict, BadRequest: refused; the volume is unchanged.
        :raises ReimageFailed: the copy failed; the volume is in `error`.
        """
        driver = self._driver
        images = self._volumes.images
        if driver is None or images is None:
            raise ServiceUnavailable(
                "Volumes cannot be re-imaged in this cloud: it has no vCenter or image service."
            )
        try:
            image = images.visible_image(context, image_id)
        except NotFound:
            raise NotFound(f"Image {image_id} could not be found.") from None
        plan = self._start(context, volume_id, server_id, image)
        self.rewrite(volume_id, plan)

    def rewrite(self, volume_id: str, plan: _Plan) -> None:
        """The disk part of a re-image whose volume `_start` (or `start_detached`) marked
        `downloading`: the old disk goes, the image's is copied under its name.

        :raises ReimageFailed: the copy failed; the volume is in `error`.
        """
        driver = self._driver
        if driver is None:
            raise ServiceUnavailable("Volumes cannot be re-imaged in this cloud: no vCenter.")
        try:
            with contextlib.suppress(NotFoundError):  # an earlier run deleted it already
                driver.delete_disk(plan.path)
            path = driver.copy_disk(
                str(plan.source.path),
                plan.datastore,
                plan.name,
                provisioning_of({"vmware:vmdk_type": plan.provisioning}),
            ).path
        except (DriverError, VistackError) as exc:
            self._fail(volume_id, exc, None)
            raise ReimageFailed(failure_reason(exc)) from exc
        try:
            if plan.size_gb > plan.source.size_gb:
                driver.extend_disk(path, plan.size_gb)
        except (DriverError, VistackError) as exc:
            self._fail(volume_id, exc, path)
            raise ReimageFailed(failure_reason(exc)) from exc
        self._finish(volume_id, path, plan)

    def _start(
        self,
        context: RequestContext,
        volume_id: str,
        server_id: str,
        image: Image,
    ) -> _Plan:
        """Check the volume and the image and mark the volume `downloading`, in one
        transaction on the locked row."""
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            servers = {a.server_id for a in queries.attachments_of_volume(unit, row.id)}
            if row.status not in (IN_USE, REIMAGING) or servers != {server_id}:
                raise Conflict(
                    f"Volume {volume_id} must be in-use and attached to server {server_id} "
                    f"alone to be re-imaged, but it is {row.status}"
                    + (f" and attached to {sorted(s or '' for s in servers)}." if servers else ".")
                )
            if row.path is None or row.datastore is None:
                raise Conflict(f"Volume {volume_id} has no disk to re-image.")
            source = image_source(image, row.size_gb)
            if source.path is None:  # image_source always names one; kept for the type checker
                raise BadRequest(f"Image {image.id} has no disk to copy.")
            row.status = REIMAGING
            row.error_message = None
            row.updated_at = utcnow()
            return _Plan(
                path=row.path,
                datastore=row.datastore,
                name=_disk_name(row.path, row.datastore, row.id),
                size_gb=row.size_gb,
                provisioning=row.provisioning or "thin",
                source=source,
            )

    def start_detached(self, context: RequestContext, volume_id: str, image_id: str) -> _Plan:
        """Cinder's `os-reimage` action (3.68) on a volume at rest: check it (available or
        error, attached nowhere) and the image, and mark it `downloading`; `rewrite` (on the
        bus) does the disk.

        :raises NotFound: no such volume or image.
        :raises BadRequest: the volume is not at rest, or the image has no disk to copy.
        """
        images = self._volumes.images
        if self._driver is None or images is None:
            raise ServiceUnavailable(
                "Volumes cannot be re-imaged in this cloud: it has no vCenter or image service."
            )
        try:
            image = images.visible_image(context, image_id)
        except NotFound:
            raise NotFound(f"Image {image_id} could not be found.") from None
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize("volume:reimage", context, row.project_id)
            if row.status not in (AVAILABLE, ERROR) or queries.attachments_of_volume(unit, row.id):
                raise BadRequest(
                    f"Invalid volume: Volume {volume_id} status must be available or error and "
                    f"attached nowhere to be re-imaged, but current status is: {row.status}."
                )
            if row.path is None or row.datastore is None:
                raise BadRequest(f"Invalid volume: Volume {volume_id} has no disk to re-image.")
            source = image_source(image, row.size_gb)
            row.status = REIMAGING
            row.error_message = None
            row.updated_at = utcnow()
            return _Plan(
                path=row.path,
                datastore=row.datastore,
                name=_disk_name(row.path, row.datastore, row.id),
                size_gb=row.size_gb,
                provisioning=row.provisioning or "thin",
                source=source,
            )

    def _finish(self, volume_id: str, path: str, plan: _Plan) -> None:
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id, lock=True)
            if row is not None:
                row.path = path
                row.bootable = True
                row.image_id = plan.source.image_id
                row.image_metadata = dict(plan.source.image_metadata or {})
                row.error_message = None
                attachments.settle(unit, row)  # in-use again: its attachment never changed
        if row is None:  # force-deleted meanwhile: its new disk must not outlive it
            self._undo(path)
            raise NotFound(f"Volume {volume_id} could not be found.")

    def _fail(self, volume_id: str, exc: BaseException, path: str | None) -> None:
        """The volume goes to `error` with the reason; a disk this run made goes."""
        self._undo(path)
        message = f"Re-imaging the volume failed: {failure_reason(exc)}"
        fail_volume(self._store, volume_id, REIMAGING, ERROR, message, messages.REIMAGE_FAILED)
        LOG.warning("volume %s failed to re-image: %s", volume_id, message)

    def _undo(self, path: str | None) -> None:
        if self._driver is not None:
            undo_disk(self._driver, path, "re-image")


def _disk_name(path: str, datastore: str, volume_id: str) -> str:
    """The name the new disk takes: the old one's when it lies in the volume folder (its path
    stays what Nova has recorded), else the volume id."""
    found, relative = split_datastore_path(path)
    folder, _, file_name = relative.rpartition("/")
    if found == datastore and folder == VOLUME_FOLDER and file_name.endswith(".vmdk"):
        name = file_name.removesuffix(".vmdk")
        if volume_path(datastore, name) == path:
            return name
    return volume_id


def plan_payload(plan: _Plan) -> dict[str, Any]:
    """A plan as a bus job's payload (plain JSON values)."""
    return dataclasses.asdict(plan)


def plan_of(payload: Mapping[str, Any]) -> _Plan:
    fields = dict(payload)
    return _Plan(**{**fields, "source": Source(**fields["source"])})
