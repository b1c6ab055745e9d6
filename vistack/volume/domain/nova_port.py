"""Cinder's side of Nova's `VolumePort` (vistack.compute.domain.volume_port), in process.

Nova reserves a volume for a server, has the compute driver add the disk, then completes the
attachment (or unreserves it when the driver failed); detaching mirrors that. Each step is
one transaction on the volume row read for update (`attachments.py`), so the volume's status
and `attachments` list always agree with what Nova was told.

Boot from volume creates the volume through the same rules as the API (types, quotas, image
checks) but builds it in the caller's thread: Nova's build job waits for it, and waiting on a
bus job from a bus worker could starve the pool. Re-imaging the root volume of a server being
rebuilt (`reimage.py`) runs in the caller's thread for the same reason.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from vistack.compute.domain.volume_port import AttachmentFacts, VolumeFacts
from vistack.compute.domain.volume_snapshot_port import SnapshotFacts
from vistack.drivers.models import DiskIo
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeAttachmentRow, VolumeRow
from vistack.volume.domain import attachments
from vistack.volume.domain.migrate_attached import complete_migration
from vistack.volume.domain.models import AVAILABLE, ERROR
from vistack.volume.domain.nova_snapshots import NovaSnapshots
from vistack.volume.domain.qos_specs import disk_io_of_type
from vistack.volume.domain.quotas import QuotaExceeded
from vistack.volume.domain.reimage import VolumeReimage
from vistack.volume.domain.requests import CreateVolume
from vistack.volume.domain.volumes import VolumeService


class CinderVolumePort:
    """`VolumePort` over the volume service."""

    def __init__(self, volumes: VolumeService, driver: VolumeDriver | None = None) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._reimage = VolumeReimage(volumes, driver)
        self._snapshots = NovaSnapshots(volumes)

    def show(self, context: RequestContext, volume_id: str) -> VolumeFacts:
        with self._store.transaction() as unit:
            return _facts(unit, self._volumes.visible(unit, context, volume_id))

    def reserve(self, context: RequestContext, volume_id: str, server_id: str) -> AttachmentFacts:
        with self._store.transaction() as unit:
            volume = self._volumes.visible(unit, context, volume_id, lock=True)
            row = attachments.reserve(unit, volume, server_id)
            return _attachment(row, volume, disk_io_of_type(unit, volume.volume_type_id))

    def complete_attach(self, attachment_id: str, device: str) -> AttachmentFacts:
        with self._store.transaction() as unit:
            row = self._attachment(unit, attachment_id)
            attachments.complete(unit, row, device)
            volume = attachments.locked_volume(unit, row.volume_id)
            return _attachment(row, volume)

    def unreserve(self, attachment_id: str) -> None:
        with self._store.transaction() as unit:
            row = queries.attachment(unit, attachment_id)
            if row is not None:
                attachments.remove(unit, row)

    def begin_detach(
        self, context: RequestContext, volume_id: str, server_id: str
    ) -> AttachmentFacts:
        with self._store.transaction() as unit:
            volume = self._volumes.visible(unit, context, volume_id, lock=True)
            row = attachments.begin_detach(unit, volume, server_id)
            return _attachment(row, volume)

    def complete_detach(self, attachment_id: str) -> None:
        with self._store.transaction() as unit:
            row = queries.attachment(unit, attachment_id)
            if row is not None:
                attachments.remove(unit, row)

    def roll_back_detach(self, attachment_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._attachment(unit, attachment_id)
            attachments.roll_back_detach(unit, row)

    def migrate_volume_completion(
        self, old_volume_id: str, new_volume_id: str, *, error: bool
    ) -> str:
        return complete_migration(self._store, old_volume_id, new_volume_id, error=error)

    def attachments_of(self, server_id: str) -> list[AttachmentFacts]:
        with self._store.transaction() as unit:
            out = []
            for row in queries.attachments_of_server(unit, server_id):
                volume = queries.volume(unit, row.volume_id)
                if volume is not None:
                    io = disk_io_of_type(unit, volume.volume_type_id)
                    out.append(_attachment(row, volume, io))
            return out

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
        self._volumes.authorize("volume:create", context, context.project_id)
        request = CreateVolume(
            size=size_gb,
            name=name,
            availability_zone=availability_zone,
            volume_type=volume_type,
            image_ref=image_id,
        )
        return self._create(context, request)

    def _create(self, context: RequestContext, request: CreateVolume) -> VolumeFacts:
        """Record the volume as the API would and build it in this thread."""
        try:
            row, source = self._volumes.record(context, request)
        except QuotaExceeded as exc:
            raise Conflict(exc.message) from None
        work = self._volumes.work
        if work is None:  # `record` refuses without a vCenter; kept for the type checker
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be created.")
        try:
            work.build(row.id, source.path, source.size_gb)
        except ServiceUnavailable:
            self._drop(row.id)
            raise
        with self._store.transaction() as unit:
            built = queries.volume(unit, row.id)
            if built is None or built.status != AVAILABLE:
                status = built.status if built is not None else "deleted"
                raise ServiceUnavailable(f"Volume {row.id} did not become available ({status}).")
            return _facts(unit, built)

    # -- snapshots (SnapshotPort: createImage of a volume-backed server, and booting from it)

    def snapshot_volume(
        self, context: RequestContext, volume_id: str, *, name: str, description: str | None
    ) -> SnapshotFacts:
        return self._snapshots.snapshot_volume(
            context, volume_id, name=name, description=description
        )

    def show_snapshot(self, context: RequestContext, snapshot_id: str) -> SnapshotFacts:
        return self._snapshots.show_snapshot(context, snapshot_id)

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        self._snapshots.delete_snapshot(context, snapshot_id)

    def volume_image_metadata(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        return self._snapshots.volume_image_metadata(context, volume_id)

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
        self._volumes.authorize("volume:create", context, context.project_id)
        size = self._snapshots.check_size(context, snapshot_id, size_gb)
        request = CreateVolume(
            size=size,
            name=name,
            availability_zone=availability_zone,
            volume_type=volume_type,
            snapshot_id=snapshot_id,
        )
        return self._create(context, request)

    def reimage(
        self, context: RequestContext, volume_id: str, image_id: str, server_id: str
    ) -> VolumeFacts:
        self._reimage.reimage(context, volume_id, image_id, server_id)
        with self._store.transaction() as unit:
            return _facts(unit, self._volumes.visible(unit, context, volume_id))

    def delete(self, context: RequestContext, volume_id: str) -> None:
        try:
            self._volumes.delete(context, volume_id)
        except BadRequest as exc:
            raise Conflict(exc.message) from None

    def _attachment(self, unit: VolumeUnit, attachment_id: str) -> VolumeAttachmentRow:
        row = queries.attachment(unit, attachment_id)
        if row is None:
            raise NotFound(f"Volume attachment {attachment_id} could not be found.")
        return row

    def _drop(self, volume_id: str) -> None:
        """A boot volume that failed to build goes (its disk was removed by the build)."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is not None and row.status == ERROR:
                unit.delete(row)


def _facts(unit: VolumeUnit, row: VolumeRow) -> VolumeFacts:
    servers = tuple(a.server_id for a in queries.attachments_of_volume(unit, row.id) if a.server_id)
    return VolumeFacts(
        id=row.id,
        project_id=row.project_id,
        name=row.name or "",
        status=row.status,
        size_gb=row.size_gb,
        availability_zone=row.availability_zone,
        bootable=row.bootable,
        multiattach=row.multiattach,
        path=row.path,
        server_ids=servers,
        migration_status=row.migration_status,
    )


def _attachment(
    row: VolumeAttachmentRow, volume: VolumeRow, io: DiskIo | None = None
) -> AttachmentFacts:
    return AttachmentFacts(
        id=row.id,
        volume_id=row.volume_id,
        server_id=row.server_id or "",
        path=volume.path or "",
        device=row.device if row.attach_status != attachments.ATT_RESERVED else None,
        io=io,
        multiattach=volume.multiattach,
    )
