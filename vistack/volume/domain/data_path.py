"""The volume actions that move a disk's data, built together: upload to an image, revert to
a snapshot, grow an attached disk, move a disk to another datastore (retype, migrate). Each
has its bus job; they exist only with a vCenter (and an image service, for uploads)."""

from __future__ import annotations

from dataclasses import dataclass

from vistack.common.bus import WorkQueue
from vistack.drivers.bundle import Drivers
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageService
from vistack.volume.domain.attached_extend import AttachedExtend
from vistack.volume.domain.migrate import VolumeMigration
from vistack.volume.domain.revert import VolumeRevert
from vistack.volume.domain.upload import VolumeUpload
from vistack.volume.domain.volumes import VolumeService


@dataclass(frozen=True)
class DataPath:
    upload: VolumeUpload | None
    revert: VolumeRevert
    attached_extend: AttachedExtend
    migration: VolumeMigration

    def register(self, bus: WorkQueue) -> None:
        if self.upload is not None:
            self.upload.register(bus)
        self.revert.register(bus)
        self.attached_extend.register(bus)
        self.migration.register(bus)

    def recover(self) -> None:
        """Settle what a restart interrupted (see each job's `recover`)."""
        if self.upload is not None:
            self.upload.recover()
        self.revert.recover()
        self.migration.recover()


def build_data_path(
    volumes: VolumeService,
    drivers: Drivers,
    images: ImageService | None,
    image_data: ImageDataService | None,
    host: str,
) -> DataPath:
    upload = None
    if images is not None and image_data is not None:
        upload = VolumeUpload(volumes, drivers.volumes, images, image_data)
    return DataPath(
        upload=upload,
        revert=VolumeRevert(volumes, drivers.volumes),
        attached_extend=AttachedExtend(volumes.store, drivers.compute),
        migration=VolumeMigration(volumes, drivers.volumes, host),
    )
