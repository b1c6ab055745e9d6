"""Image data: upload, download, stage, import and per-store copies.

Every byte of an upload passes once through a pipeline — quota meter, format inspector, md5 and
sha512 — on its way to a store, so nothing is held in memory and nothing is read twice. The
image row is claimed with a compare-and-set (`queued` → `saving`) before a byte is written, and
any failure on the way removes what reached the store and puts the image back to `queued`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

from vistack.common.bus import WorkQueue
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
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image, ImageTask, Status
from vistack.image.domain.ports import ImageRepository
from vistack.image.domain.stores import ImageStore, StoredData
from vistack.image.formats import (
    ConversionError,
    FormatInspector,
    ImageFacts,
    InvalidImage,
    convert_to_stream_optimized_vmdk,
)

LOG = logging.getLogger(__name__)
HASH_ALGO = "sha512"
IMPORT_TOPIC = "image.import"
IMPORT_METHODS = ("glance-direct", "copy-image")
#: Methods Glance has that fetch from the internet or another Glance: refused by name.
UNAVAILABLE_METHODS = ("web-download", "glance-download")
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
#: Property recording the format an import converted from.
ORIGINAL_FORMAT = "vistack_original_disk_format"
CONVERTIBLE = ("qcow2", "raw")
CHUNK = 1 << 20
#: Under the staging dir: one empty file per image this process is writing.
IN_FLIGHT_DIR = ".in-flight"
#: How long an import task stays listed (Glance: `task_time_to_live`, 48 hours).
TASK_LIFETIME = timedelta(hours=48)


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


class _Meter:
    """Counts bytes and refuses to pass a limit: an image larger than the project's whole
    quota can never fit, so it is cut off as soon as it proves to be."""

    def __init__(self, limit: int | None, what: str) -> None:
        self.count = 0
        self._limit = limit
        self._what = what

    def add(self, n: int) -> None:
        self.count += n
        if self._limit is not None and self.count > self._limit:
            raise PayloadTooLarge(
                f"The image is larger than the project's whole {self._what} quota "
                f"({self._limit} bytes); ask for a larger quota."
            )


def _check_busy(limit: int, uploading: int) -> None:
    if limit >= 0 and uploading >= limit:
        raise PayloadTooLarge(
            f"The project already has {uploading} uploads in progress (image_count_uploading "
            f"limit {limit}); wait for them to finish."
        )


def _byte_quota(resource: str, limit: int, used: int, size: int | None) -> int | None:
    """Glance's rule for byte quotas (oslo.limit with no delta): an upload may start while the
    project is not over `limit`, whatever its size, so the last one may overshoot; it is
    refused when the project is over, or when the image alone exceeds the whole quota.
    Returns the cap on this upload's bytes (None: unlimited)."""
    if limit < 0:
        return None
    if used > limit:
        raise PayloadTooLarge(
            f"The project is over its {resource} quota ({used} of {limit} bytes used); "
            "delete images or ask for a larger quota."
        )
    if size is not None and size > limit:
        raise PayloadTooLarge(
            f"The image ({size} bytes) is larger than the project's whole {resource} quota "
            f"({limit} bytes); ask for a larger quota."
        )
    return limit


class ImageDataService:
    def __init__(
        self,
        repository: ImageRepository,
        images: ImageService,
        stores: Mapping[str, ImageStore],
        *,
        staging_dir: Path,
        default_store: str = "",
        convert_on_import: bool = True,
        bus: WorkQueue | None = None,
    ) -> None:
        self._repo = repository
        self._images = images
        self.stores = dict(stores)
        self._staging = staging_dir
        self._default = default_store
        self._convert = convert_on_import
        self._bus = bus
        if bus is not None:
            bus.register(IMPORT_TOPIC, self._run_import)

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

    def _store(self, store_id: str) -> ImageStore:
        store = self.stores.get(store_id)
        if store is None:
            raise BadRequest(
                f"Store for identifier {store_id} not found; stores: "
                f"{', '.join(sorted(self.stores)) or 'none'}."
            )
        return store

    def _choose_store(self, store_id: str | None, size: int | None) -> ImageStore:
        if store_id:
            return self._store(store_id)
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
        self._require_formats(image)
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
        with self._in_flight(image_id):
            try:
                stored, facts, digests = self._write(image, chunks, size, store, remaining)
            except BaseException:
                self._repo.update(
                    image_id,
                    columns={"status": Status.QUEUED.value},
                    expected_status=frozenset({Status.SAVING.value}),
                )
                raise
            return self._activate(image, store, stored, facts, digests, frozenset({Status.SAVING}))

    # -- restart recovery ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _in_flight(self, image_id: str) -> Iterator[None]:
        """Mark an image as being written by this process, so a restart can tidy it up."""
        marker = self._mark(image_id)
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def _mark(self, image_id: str) -> Path:
        self._markers.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = self._markers / image_id
        marker.touch()
        return marker

    @property
    def _markers(self) -> Path:
        return self._staging / IN_FLIGHT_DIR

    def _fail_open_tasks(self, image_id: str) -> None:
        for task in self._repo.list_tasks(image_id):
            if task.status == "processing":
                self._repo.finish_task(task.id, "failure", "vistack restarted during the import")

    def recover(self) -> list[str]:
        """After a restart: images this node was writing go back to where a user can retry.

        An upload that was cut off returns to `queued`; an import returns to `uploading` when
        its staged data survived (import it again), else to `queued`. Their unfinished tasks
        are failed. Only this node's markers are read, so in a multi-controller cloud another
        node's uploads are left alone. Returns the ids it touched.
        """
        if not self._markers.is_dir():
            return []
        touched: list[str] = []
        for marker in sorted(self._markers.iterdir()):
            image_id = marker.name
            image = self._repo.get(image_id)
            if image is not None and image.status == Status.SAVING:
                self._repo.update(
                    image_id, columns={"status": Status.QUEUED.value}, expected_status=_SAVING
                )
                touched.append(image_id)
            elif image is not None and image.status == Status.IMPORTING:
                staged = self.staging_file(image_id).exists()
                self._repo.update(
                    image_id,
                    columns={
                        "status": (Status.UPLOADING if staged else Status.QUEUED).value,
                        **({} if staged else {"size": None}),
                    },
                    set_properties={
                        IMPORTING: "",
                        FAILED: image.properties.get(IMPORTING, ""),
                    },
                    expected_status=_IMPORTING,
                )
                self._fail_open_tasks(image_id)
                touched.append(image_id)
            elif image is not None and image.properties.get(IMPORTING):
                # An interrupted copy-image: the image stays active with the copies made.
                self._repo.update(
                    image_id,
                    set_properties={IMPORTING: "", FAILED: image.properties[IMPORTING]},
                )
                self._fail_open_tasks(image_id)
                touched.append(image_id)
            marker.unlink(missing_ok=True)
        if touched:
            LOG.warning("images interrupted by a restart, now retryable: %s", ", ".join(touched))
        return touched

    def _write(
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
        meter = _Meter(remaining, "image_size_total")

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
            stored = store.put(_file_name(image), checked(), None)
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

    def _activate(
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
                "checksum": digests.md5.hexdigest(),
                "os_hash_algo": HASH_ALGO,
                "os_hash_value": digests.sha512.hexdigest(),
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
                scratch_dir=self._scratch(),
            )
        except InvalidImage as exc:
            raise BadRequest(exc.message) from None

    def _scratch(self) -> Path:
        self._staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._staging

    @staticmethod
    def _require_formats(image: Image) -> None:
        if not image.disk_format or not image.container_format:
            raise BadRequest(
                "Properties disk_format, container_format must be set prior to saving data."
            )

    def _check_upload_quota(self, image: Image, size: int | None) -> int | None:
        """The most bytes this upload may send (None: unlimited), refusing it up front when the
        project is already over its image_size_total or has too many uploads running."""
        limits = self._images.limits_for(image.owner)
        usage = self._repo.usage(image.owner or "")
        _check_busy(limits.image_count_uploading, usage.image_count_uploading)
        return _byte_quota(
            "image_size_total", limits.image_size_total, usage.image_size_total, size
        )

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

    # -- staging and import -------------------------------------------------------------------

    def staging_file(self, image_id: str) -> Path:
        return self._staging / image_id

    def stage(
        self, context: RequestContext, image_id: str, chunks: Iterable[bytes], size: int | None
    ) -> None:
        image = self._images.get(context, image_id)
        self._images.authorize("stage_image", context, image)
        if image.status != Status.QUEUED:
            raise Conflict(
                f"Image status transition from {image.status} to uploading is not allowed; "
                "only a queued image can be staged."
            )
        limits = self._images.limits_for(image.owner)
        usage = self._repo.usage(image.owner or "")
        _check_busy(limits.image_count_uploading, usage.image_count_uploading)
        cap = _byte_quota(
            "image_stage_total", limits.image_stage_total, usage.image_stage_total, size
        )
        if (
            self._repo.update(
                image_id, columns={"status": Status.UPLOADING.value}, expected_status=_QUEUED
            )
            is None
        ):
            raise Conflict(f"Image {image_id} is already being uploaded.")
        target = self.staging_file(image_id)
        meter = _Meter(cap, "image_stage_total")
        try:
            self._scratch()
            with target.open("wb") as handle:
                for chunk in chunks:
                    meter.add(len(chunk))
                    handle.write(chunk)
            if size is not None and meter.count != size:
                raise BadRequest(f"Staged {meter.count} bytes but {size} were declared.")
            done = self._repo.update(
                image_id, columns={"size": meter.count}, expected_status=_UPLOADING
            )
            if done is None:
                raise Gone(f"Image {image_id} was deleted while it was being staged.")
        except BaseException:
            target.unlink(missing_ok=True)
            self._repo.update(
                image_id,
                columns={"status": Status.QUEUED.value, "size": None},
                expected_status=_UPLOADING,
            )
            raise

    def start_import(
        self,
        context: RequestContext,
        image_id: str,
        method: str,
        stores: list[str] | None,
        *,
        all_stores: bool = False,
        all_stores_must_succeed: bool = True,
        request_body: Mapping[str, Any] | None = None,
    ) -> None:
        image = self._images.get(context, image_id)
        self._images.authorize("import_image", context, image)
        if method in UNAVAILABLE_METHODS:
            raise BadRequest(
                f"Import method {method} is not available in this cloud: it fetches data from "
                "outside; stage the data (glance-direct) instead."
            )
        if method not in IMPORT_METHODS:
            raise BadRequest(
                f"Unknown import method {method!r}; available: {', '.join(IMPORT_METHODS)}."
            )
        if all_stores:
            targets = [s.info.id for s in self.ordered_stores()]
        elif stores:
            targets = [self._store(s).info.id for s in dict.fromkeys(stores)]
        else:
            default = self.default_store_id
            if default is None:
                raise ServiceUnavailable("This cloud has no image store configured.")
            targets = [default]
        if method == "copy-image":
            self._images.authorize("copy_image", context, image)
            if image.status != Status.ACTIVE:
                raise Conflict(f"Image {image_id} must be active to be copied, not {image.status}.")
            targets = [t for t in targets if t not in image.locations]
            if not targets:
                raise Conflict(f"Image {image_id} is already in every requested store.")
            expected = _ACTIVE
        else:
            self._require_formats(image)
            if image.status != Status.UPLOADING or not self.staging_file(image_id).exists():
                raise Conflict(
                    f"Image {image_id} has no staged data (status {image.status}); "
                    "PUT it to /v2/images/{id}/stage first."
                )
            expected = _UPLOADING
        columns = {} if method == "copy-image" else {"status": Status.IMPORTING.value}
        claimed = self._repo.update(
            image_id,
            columns=columns,
            set_properties={IMPORTING: ",".join(targets), FAILED: ""},
            expected_status=expected,
        )
        if claimed is None:
            raise Conflict(f"Image {image_id} changed state; try again.")
        now = datetime.now(UTC).replace(tzinfo=None)
        task = ImageTask(
            id=str(uuid.uuid4()),
            image_id=image_id,
            type="api_image_import",
            status="processing",
            owner=image.owner,
            user_id=context.user_id,
            request_id=context.request_id,
            input={
                "image_id": image_id,
                "import_req": dict(request_body or {"method": {"name": method}}),
                "backend": targets,
            },
            result=None,
            message="",
            created_at=now,
            updated_at=now,
            expires_at=now + TASK_LIFETIME,
        )
        self._repo.create_task(task)
        self._mark(image_id)  # before the job is queued: a restart may come first
        job = {
            "task_id": task.id,
            "image_id": image_id,
            "method": method,
            "stores": targets,
            "must_succeed": all_stores_must_succeed,
        }
        if self._bus is None:
            self._run_import(job)
        else:
            self._bus.submit(IMPORT_TOPIC, job)

    def _run_import(self, job: Mapping[str, Any]) -> None:
        image_id = str(job["image_id"])
        task_id = str(job["task_id"])
        try:
            with self._in_flight(image_id):
                failed = self._import_or_copy(job)
        except Exception as exc:
            LOG.exception("image %s: import failed", image_id)
            failed = f"import failed: {exc}"
        if failed:
            self._repo.finish_task(task_id, "failure", failed)
        else:
            self._repo.finish_task(task_id, "success", result={"image_id": image_id})

    def _import_or_copy(self, job: Mapping[str, Any]) -> str:
        image_id = str(job["image_id"])
        if job["method"] == "copy-image":
            return self._copy_to_stores(image_id, list(job["stores"]), bool(job["must_succeed"]))
        return self._import_staged(image_id, list(job["stores"]), bool(job["must_succeed"]))

    def tasks(self, context: RequestContext, image_id: str) -> list[ImageTask]:
        image = self._images.get(context, image_id)
        self._images.authorize("get_image", context, image)
        return self._repo.list_tasks(image_id)

    def _import_staged(self, image_id: str, targets: list[str], must_succeed: bool) -> str:
        """Import staged data into `targets`; the failure message, or "" on success."""
        image = self._repo.get(image_id)
        staged = self.staging_file(image_id)
        if image is None:
            staged.unlink(missing_ok=True)
            return "the image was deleted before its import ran"
        source = staged
        converted: Path | None = None
        columns: dict[str, Any] = {}
        extra: dict[str, str] = {}
        try:
            if self._convert and image.disk_format in CONVERTIBLE:
                converted = self._staging / f"{image_id}.vmdk-{uuid.uuid4().hex[:8]}"
                convert_to_stream_optimized_vmdk(staged, image.disk_format or "raw", converted)
                source = converted
                columns["disk_format"] = "vmdk"
                extra[ORIGINAL_FORMAT] = image.disk_format or ""
                image.disk_format = "vmdk"
            done: list[tuple[ImageStore, StoredData]] = []
            failed: list[str] = []
            facts: ImageFacts | None = None
            digests: _Digests | None = None
            for store_id in targets:
                store = self.stores[store_id]
                try:
                    stored, facts, digests = self._write(
                        image, _read_file(source), source.stat().st_size, store, None
                    )
                    done.append((store, stored))
                except (VistackError, DriverError, OSError) as exc:
                    LOG.warning("image %s: import to %s failed: %s", image_id, store_id, exc)
                    failed.append(store_id)
                    if isinstance(exc, BadRequest):
                        break  # the image itself is bad: no other store will take it
                self._repo.update(
                    image_id,
                    set_properties={
                        IMPORTING: ",".join(
                            t
                            for t in targets
                            if t not in {s.info.id for s, _ in done} | set(failed)
                        )
                    },
                )
            if not done or (failed and must_succeed):
                for store, stored in done:
                    store.delete(stored.url)
                self._repo.update(
                    image_id,
                    columns={"status": Status.QUEUED.value, "size": None},
                    set_properties={IMPORTING: "", FAILED: ",".join(targets)},
                    expected_status=_IMPORTING,
                )
                return f"import to {', '.join(failed)} failed"
            assert facts is not None and digests is not None
            first_store, first = done[0]
            extra.update({IMPORTING: "", FAILED: ",".join(failed)})
            self._activate(image, first_store, first, facts, digests, _IMPORTING, extra, columns)
            for store, stored in done[1:]:
                self._repo.add_location(image_id, store.info.id, stored.url, stored.size)
            return ""
        except (InvalidImage, ConversionError) as exc:
            LOG.warning("image %s: import refused: %s", image_id, exc)
            self._repo.update(
                image_id,
                columns={"status": Status.QUEUED.value, "size": None},
                set_properties={IMPORTING: "", FAILED: ",".join(targets)},
                expected_status=_IMPORTING,
            )
            return str(exc)
        finally:
            staged.unlink(missing_ok=True)
            if converted is not None:
                converted.unlink(missing_ok=True)

    def _copy_to_stores(self, image_id: str, targets: list[str], must_succeed: bool) -> str:
        """Copy an active image's data to more stores; the failure message, or ""."""
        image = self._repo.get(image_id)
        if image is None or not image.locations:
            return "the image was deleted before its copy ran"
        source_id, source_url = next(iter(image.locations.items()))
        source = self.stores[source_id]
        failed: list[str] = []
        pending = list(targets)
        for store_id in targets:
            target = self.stores[store_id]
            try:
                stored = self._copy(source, source_url, target, image)
                if self._repo.get(image_id) is None:
                    target.delete(stored.url)
                    return "the image was deleted during the copy"
                self._repo.add_location(image_id, store_id, stored.url, stored.size)
            except (VistackError, DriverError, OSError) as exc:
                LOG.warning("image %s: copy to %s failed: %s", image_id, store_id, exc)
                failed.append(store_id)
            pending.remove(store_id)
            self._repo.update(
                image_id, set_properties={IMPORTING: ",".join(pending), FAILED: ",".join(failed)}
            )
        del must_succeed  # copies that succeeded stay: each store is independent
        return f"copy to {', '.join(failed)} failed" if failed else ""

    def _copy(self, source: ImageStore, url: str, target: ImageStore, image: Image) -> StoredData:
        from vistack.image.domain.stores import DatastoreStore

        if (
            isinstance(source, DatastoreStore)
            and isinstance(target, DatastoreStore)
            and source.same_vcenter(target)
        ):
            return target.copy_here(source, url, _file_name(image))
        return target.put(_file_name(image), source.get(url), image.size)

    def delete_from_store(self, context: RequestContext, store_id: str, image_id: str) -> None:
        image = self._images.get(context, image_id)
        self._images.authorize("delete_image_location", context, image)
        store = self._store(store_id)
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

    # -- deletion -----------------------------------------------------------------------------

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
_UPLOADING = frozenset({Status.UPLOADING.value})
_IMPORTING = frozenset({Status.IMPORTING.value})
_ACTIVE = frozenset({Status.ACTIVE.value})


class _Digests:
    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha512.update(chunk)


def _file_name(image: Image) -> str:
    """The file name in a store: the image id, with an extension vSphere tools recognise."""
    suffix = {"vmdk": ".vmdk", "iso": ".iso", "qcow2": ".qcow2", "raw": ".img"}
    if image.container_format == "ova":
        return f"{image.id}.ova"
    return image.id + suffix.get(image.disk_format or "", "")


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _user_error(exc: BaseException) -> BaseException:
    """The error the user sees for a failed write (their own errors pass unchanged)."""
    if isinstance(exc, InvalidImage):
        return BadRequest(exc.message)
    if isinstance(exc, NoCapacityError):
        return PayloadTooLarge(f"The image store has no room for this image: {exc}")
    if isinstance(exc, DriverError):
        return ServiceUnavailable(f"The image store failed: {exc}")
    return exc
