"""Image data: the stores, and bytes in and out of them (upload, download, deletion).

Every byte of an upload passes once through a pipeline — quota meter, format inspector, md5 and
sha512 — on its way to a store, so nothing is held in memory and nothing is read twice. The
image row is claimed with a compare-and-set (`queued` → `saving`) before a byte is written, and
any failure on the way removes what reached the store and puts the image back to `queued`.
Imports (vistack.image.domain.imports) reuse `write` and `activate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    VistackError,
)
from vistack.drivers.errors import (
    DriverError,
    NoCapacityError,
    NotFoundError,
    RangeNotSatisfiableError,
)
from vistack.image.domain.digests import PipelinedDigests as _Digests
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image, Status
from vistack.image.domain.ports import ImageRepository
from vistack.image.domain.quota import ByteMeter, byte_quota, check_busy
from vistack.image.domain.recovery import InFlight
from vistack.image.domain.stores import DatastoreStore, ImageStore, StoredData
from vistack.image.formats import FormatInspector, ImageFacts, InvalidImage

LOG = logging.getLogger(__name__)
HASH_ALGO = "sha512"


class Gone(VistackError):
    """The image was deleted while its data was being written."""

    status = HTTPStatus.GONE


class RangeNotSatisfiable(VistackError):
    """A download's Range starts past the image's end."""

    status = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE


@dataclass(frozen=True)
class Download:
    image: Image
    chunks: Iterator[bytes]
    offset: int
    length: int


class ImageDataService:
    def __init__(
        self,
        repository: ImageRepository,
        images: ImageService,
        stores: Mapping[str, ImageStore],
        *,
        staging_dir: Path,
        default_store: str = "",
        in_flight: InFlight,
    ) -> None:
        self._repo = repository
        self._images = images
        self.stores = dict(stores)
        self.staging_dir = staging_dir
        self._default = default_store
        self._in_flight = in_flight

    # -- stores -------------------------------------------------------------------------------
    def ordered_stores(self) -> list[ImageStore]:
        """Stores by preference: the default first, then by weight (highest first)."""
        stores = sorted(self.stores.values(), key=lambda s: self.store_rank(s.info.id))
        stores.sort(key=lambda s: s.info.id != self._default)
        return stores

    def store_rank(self, store_id: str) -> tuple[int, str]:
        """Sort key listing stores as Glance does: highest weight first, then by id."""
        store = self.stores.get(store_id)
        return (-(store.info.weight if store else 0), store_id)

    @property
    def default_store_id(self) -> str | None:
        ordered = self.ordered_stores()
        return ordered[0].info.id if ordered else None

    def store(self, store_id: str) -> ImageStore:
        store = self.stores.get(store_id)
        if store is None:
            raise BadRequest(
                f"Store for identifier {store_id} not found; stores: "
                f"{', '.join(sorted(self.stores)) or 'none'}."
            )
        return store

    def _choose_store(self, store_id: str | None, size: int | None) -> ImageStore:
        if store_id:
            return self.store(store_id)
        candidates = self.ordered_stores()
        if not candidates:
            raise ServiceUnavailable("This cloud has no image store configured.")
        if size is None or self._default:
            return candidates[0]
        for store in candidates:
            free = store.free_bytes()
            if free is None or free >= size:
                return store
        raise PayloadTooLarge(f"No image store has room for {size} bytes.")

    # -- upload -------------------------------------------------------------------------------
    def upload(
        self,
        context: RequestContext,
        image_id: str,
        chunks: Iterable[bytes],
        size: int | None,
        store_id: str | None = None,
    ) -> Image:
        image = self._images.get(context, image_id)
        self._images.authorize("upload_image", context, image)
        self.require_formats(image)
        if image.status != Status.QUEUED:
            raise Conflict(
                f"Image status transition from {image.status} to saving is not allowed; "
                "data can only be uploaded to a queued image."
            )
        remaining = self._check_upload_quota(image, size)
        store = self._choose_store(store_id, size)
        if (
            self._repo.update(
                image_id, columns={"status": Status.SAVING.value}, expected_status=_QUEUED
            )
            is None
        ):
            raise Conflict(f"Image {image_id} is already being uploaded.")
        with self._in_flight.hold(image_id):
            try:
                stored, facts, digests = self.write(image, chunks, size, store, remaining)
            except BaseException:
                self._repo.update(
                    image_id,
                    columns={"status": Status.QUEUED.value},
                    expected_status=_SAVING,
                )
                raise
            return self.activate(image, store, stored, facts, digests, frozenset({Status.SAVING}))

    def write(
        self,
        image: Image,
        chunks: Iterable[bytes],
        size: int | None,
        store: ImageStore,
        remaining: int | None,
    ) -> tuple[StoredData, ImageFacts, _Digests]:
        """Stream to the store through the checks; on any failure remove what was written."""
        inspector = self._inspector(image)
        digests = _Digests()
        meter = ByteMeter(remaining, "image_size_total")

        def checked() -> Iterator[bytes]:
            for chunk in chunks:
                if not chunk:
                    continue
                meter.add(len(chunk))
                inspector.feed(chunk)
                digests.update(chunk)
                yield chunk

        stored: StoredData | None = None
        try:
            # Always streamed without a declared length: when a check fails mid-stream the
            # store can still end the transfer cleanly and remove what it wrote, whereas a
            # sized body can only be cut off (and a datastore may write the rest later).
            stored = store.put(file_name(image), checked(), None)
            if size is not None and stored.size != size:
                raise BadRequest(
                    f"The upload declared {size} bytes but sent {stored.size}; nothing was kept."
                )
            facts = inspector.finish()
            return stored, facts, digests
        except BaseException as exc:
            inspector.abort()
            if stored is not None:
                store.delete(stored.url)
            mapped = _user_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def activate(
        self,
        image: Image,
        store: ImageStore,
        stored: StoredData,
        facts: ImageFacts,
        digests: _Digests,
        expected: frozenset[str],
        extra_properties: Mapping[str, str] | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> Image:
        learned = {k: v for k, v in facts.properties.items() if k not in image.properties}
        ova = image.container_format == "ova"
        updated = self._repo.update(
            image.id,
            columns={
                "status": Status.ACTIVE.value,
                "size": stored.size,
                "virtual_size": facts.virtual_size,
                "checksum": digests.md5_hex(),
                "os_hash_algo": HASH_ALGO,
                "os_hash_value": digests.sha512_hex(),
                # Only an OVF states what the guest needs; a disk's size is not a requirement.
                "min_ram": max(image.min_ram, facts.min_ram or 0) if ova else image.min_ram,
                "min_disk": max(image.min_disk, facts.min_disk or 0) if ova else image.min_disk,
                **(columns or {}),
            },
            set_properties={**learned, **(extra_properties or {})},
            expected_status=frozenset(expected),
            location=(store.info.id, stored.url, stored.size),
        )
        if updated is None:
            store.delete(stored.url)
            raise Gone(f"Image {image.id} was deleted while its data was being saved.")
        return updated

    def _inspector(self, image: Image) -> FormatInspector:
        try:
            return FormatInspector(
                image.disk_format or "",
                image.container_format or "",
                declared=image.properties,
                scratch_dir=self.scratch(),
            )
        except InvalidImage as exc:
            raise BadRequest(exc.message) from None

    def scratch(self) -> Path:
        self.staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.staging_dir

    @staticmethod
    def require_formats(image: Image) -> None:
        if not image.disk_format or not image.container_format:
            raise BadRequest(
                "Properties disk_format, container_format must be set prior to saving data."
            )

    def _check_upload_quota(self, image: Image, size: int | None) -> int | None:
        """The most bytes this upload may send (None: unlimited), refusing it up front when the
        project is already over its image_size_total or has too many uploads running."""
        limits = self._images.limits_for(image.owner)
        usage = self._repo.usage(image.owner or "")
        check_busy(limits.image_count_uploading, usage.image_count_uploading)
        return byte_quota("image_size_total", limits.image_size_total, usage.image_size_total, size)

    # -- data vSphere writes itself (server snapshots) ----------------------------------------
    def snapshot_store(self, preferred: str | None) -> DatastoreStore:
        """The datastore store a server's disk is copied into: `preferred` (the VM's own
        datastore, so the copy never leaves it) when it is a store, else the first datastore
        store in preference order. :raises ServiceUnavailable: there is none."""
        stores = [s for s in self.ordered_stores() if isinstance(s, DatastoreStore)]
        for store in stores:
            if store.datastore == preferred:
                return store
        if not stores:
            raise ServiceUnavailable("This cloud has no datastore image store for snapshots.")
        return stores[0]

    def begin_adopt(self, image: Image) -> None:
        """Claim a queued image for data vSphere is about to write (`queued` → `saving`),
        refused as an upload would be when the project is over its image quota.

        :raises PayloadTooLarge: over quota. :raises Conflict: the image is not queued.
        """
        self.check_adopt_quota(image.owner)
        if (
            self._repo.update(
                image.id, columns={"status": Status.SAVING.value}, expected_status=_QUEUED
            )
            is None
        ):
            raise Conflict(f"Image {image.id} is not queued any more.")

    def check_adopt_quota(self, owner: str | None) -> None:
        """Refuse data for `owner`'s image while the project is over its image_size_total
        (Glance's rule for an upload of unknown size) or has too many uploads running.

        :raises PayloadTooLarge: over quota.
        """
        limits = self._images.limits_for(owner)
        usage = self._repo.usage(owner or "")
        check_busy(limits.image_count_uploading, usage.image_count_uploading)
        byte_quota("image_size_total", limits.image_size_total, usage.image_size_total, None)

    def adopt(
        self, image: Image, store: DatastoreStore, path: str, virtual_size: int | None
    ) -> Image:
        """Activate a `saving` image with the file vSphere wrote at `path` in `store`.

        The bytes never passed through Glance, so they are read once here for the checksum
        and multihash Glance keeps for every image (as a Glance upload of the same disk would).

        :raises Gone: the image was deleted meanwhile (the file is removed).
        """
        url = store.url_for(path)
        digests = _Digests()
        size = 0
        try:
            for chunk in store.get(url):
                digests.update(chunk)
                size += len(chunk)
        except BaseException:
            store.delete(url)
            raise
        facts = ImageFacts(virtual_size=virtual_size)
        return self.activate(image, store, StoredData(url, size), facts, digests, _SAVING)

    # -- download -----------------------------------------------------------------------------
    def download(
        self,
        context: RequestContext,
        image_id: str,
        offset: int = 0,
        length: int | None = None,
    ) -> Download | None:
        """The image's bytes (a range of them), or None when it has no data yet."""
        image = self._images.get(context, image_id)
        self._images.authorize("download_image", context, image)
        if image.status == Status.DEACTIVATED and not self._images.viewer(context).is_admin:
            raise Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        if not image.locations or image.size is None:
            return None
        if offset >= image.size and image.size > 0:
            raise RangeNotSatisfiable(
                f"Requested range starts at byte {offset} but the image has {image.size} bytes."
            )
        wanted = image.size - offset if length is None else min(length, image.size - offset)
        last_error: Exception | None = None
        for store_id, url in image.locations.items():
            store = self.stores.get(store_id)
            if store is None:
                continue
            try:
                chunks = store.get(url, offset, wanted)
            except (NotFoundError, RangeNotSatisfiableError, DriverError) as exc:
                last_error = exc
                LOG.warning("image %s: store %s could not serve it: %s", image_id, store_id, exc)
                continue
            return Download(image, chunks, offset, wanted)
        raise ServiceUnavailable(
            f"No store could serve the data of image {image_id}"
            + (f": {last_error}" if last_error else ".")
        )

    # -- staging area and deletion ------------------------------------------------------------
    def staging_file(self, image_id: str) -> Path:
        return self.staging_dir / image_id

    def delete_from_store(self, context: RequestContext, store_id: str, image_id: str) -> None:
        image = self._images.get(context, image_id)
        self._images.authorize("delete_image_location", context, image)
        store = self.store(store_id)
        if store_id not in image.locations:
            raise NotFound(f"Image {image_id} has no data in store {store_id}.")
        if len(image.locations) == 1:
            raise Conflict(
                f"Store {store_id} holds the only copy of image {image_id}; delete the image."
            )
        if image.status != Status.ACTIVE:
            raise Conflict(f"Image {image_id} is {image.status}; only active images are pruned.")
        if self._repo.remove_location(image_id, store_id):
            store.delete(image.locations[store_id])

    def discard(self, image: Image) -> None:
        """Remove every byte an image had (called after its row is deleted)."""
        for store_id, url in image.locations.items():
            store = self.stores.get(store_id)
            if store is None:
                continue
            try:
                store.delete(url)
            except DriverError as exc:
                LOG.warning("image %s: could not delete from %s: %s", image.id, store_id, exc)
        self.staging_file(image.id).unlink(missing_ok=True)


_QUEUED = frozenset({Status.QUEUED.value})
_SAVING = frozenset({Status.SAVING.value})


def file_name(image: Image) -> str:
    """The file name in a store: the image id, with an extension vSphere tools recognise."""
    suffix = {"vmdk": ".vmdk", "iso": ".iso", "qcow2": ".qcow2", "raw": ".img"}
    if image.container_format == "ova":
        return f"{image.id}.ova"
    return image.id + suffix.get(image.disk_format or "", "")


def _user_error(exc: BaseException) -> BaseException:
    """The error the user sees for a failed write (their own errors pass unchanged)."""
    if isinstance(exc, InvalidImage):
        return BadRequest(exc.message)
    if isinstance(exc, NoCapacityError):
        return PayloadTooLarge(f"The image store has no room for this image: {exc}")
    if isinstance(exc, DriverError):
        return ServiceUnavailable(f"The image store failed: {exc}")
    return exc
