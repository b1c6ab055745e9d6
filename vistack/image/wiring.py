"""Builds the image services from settings and drivers (called by the composition root only)."""

from __future__ import annotations

from pathlib import Path

from vistack.common.bus import WorkQueue
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import ConfigError, ImageSettings, Settings
from vistack.drivers.bundle import Drivers
from vistack.image.api.deps import ImageServices
from vistack.image.db.images import SqlImageRepository
from vistack.image.db.metadefs import SqlMetadefRepository
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageLimits, ImageService, LimitSource
from vistack.image.domain.imports import ImportService
from vistack.image.domain.metadefs import MetadefService
from vistack.image.domain.recovery import InFlight, recover
from vistack.image.domain.stores import DatastoreStore, FilesystemStore, ImageStore

MIB = 1 << 20


def parse_datastores(entries: list[str]) -> dict[str, int]:
    """`["ds1:100", "ds2"]` → `{"ds1": 100, "ds2": 0}`."""
    weights: dict[str, int] = {}
    for entry in entries:
        name, _, weight = entry.partition(":")
        name = name.strip()
        if not name:
            raise ConfigError(f"[image] datastores: empty datastore name in {entry!r}")
        try:
            weights[name] = int(weight) if weight.strip() else 0
        except ValueError:
            raise ConfigError(f"[image] datastores: weight of {name!r} is not an integer") from None
    return weights


def build_stores(
    settings: Settings, drivers: Drivers | None, vcenter: str
) -> dict[str, ImageStore]:
    options = settings.image
    stores: dict[str, ImageStore] = {}
    if drivers is not None:
        available = drivers.topology.datastores
        wanted = parse_datastores(options.datastores) or {name: 0 for name in available}
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise ConfigError(
                f"[image] datastores: {', '.join(unknown)} not found in vCenter {vcenter} "
                f"(it has {', '.join(available) or 'none'})"
            )
        for name, weight in wanted.items():
            stores[name] = DatastoreStore(
                drivers.images,
                vcenter=vcenter,
                datacenter=drivers.topology.datacenter,
                datastore=name,
                folder=options.folder,
                weight=weight,
            )
    if options.filesystem_store_dir:
        stores["file"] = FilesystemStore(Path(options.filesystem_store_dir).resolve())
    if options.default_store and options.default_store not in stores:
        raise ConfigError(
            f"[image] default_store {options.default_store!r} is not a store "
            f"(stores: {', '.join(stores) or 'none'})"
        )
    return stores


def image_registered_limits(options: ImageSettings) -> dict[str, int]:
    """The [image] quota options as Glance's unified-limit resources (sizes in MiB)."""
    return {
        "image_count_total": options.image_count_total,
        "image_size_total": options.image_size_total,
        "image_stage_total": options.image_stage_total,
        "image_count_uploading": options.image_count_uploading,
    }


def _bytes(mib: int) -> int:
    return -1 if mib < 0 else mib * MIB


def build_image_services(
    settings: Settings,
    database: Database,
    policy: PolicyEngine,
    bus: WorkQueue,
    drivers: Drivers | None,
    vcenter: str = "vcenter",
    limit_source: LimitSource | None = None,
) -> ImageServices:
    options = settings.image
    repository = SqlImageRepository(database)
    limits = ImageLimits(
        image_count_total=options.image_count_total,
        image_size_total=_bytes(options.image_size_total),
        image_stage_total=_bytes(options.image_stage_total),
        image_count_uploading=options.image_count_uploading,
    )
    images = ImageService(repository, policy, limits, limit_source)
    in_flight = InFlight(settings.image_staging_path)
    data = ImageDataService(
        repository,
        images,
        build_stores(settings, drivers, vcenter),
        staging_dir=settings.image_staging_path,
        default_store=options.default_store,
        in_flight=in_flight,
    )
    imports = ImportService(
        repository,
        images,
        data,
        in_flight,
        convert_on_import=options.convert_on_import,
        bus=bus,
    )
    images.on_delete(data.discard)
    recover(repository, in_flight, data.staging_file)
    metadefs = MetadefService(SqlMetadefRepository(database), policy)
    metadefs.load_seed()
    return ImageServices(images=images, data=data, imports=imports, metadefs=metadefs)
