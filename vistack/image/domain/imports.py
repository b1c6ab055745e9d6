"""Interoperable image import: staging (`glance-direct`), copies to more stores (`copy-image`)
and the tasks that record them.

An import runs on the work queue, not in the request: staged bytes are converted when needed
(qcow2/raw to streamOptimized VMDK for vSphere), then written to each target store through the
same checked pipeline as an upload (`ImageDataService.write`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, ServiceUnavailable, VistackError
from vistack.drivers.errors import DriverError
from vistack.image.domain.data import Gone, ImageDataService, file_name
from vistack.image.domain.digests import PipelinedDigests
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image, ImageTask, Status
from vistack.image.domain.ports import ImageRepository
from vistack.image.domain.quota import ByteMeter, byte_quota, check_busy
from vistack.image.domain.recovery import FAILED, IMPORTING, InFlight
from vistack.image.domain.stores import DatastoreStore, ImageStore, StoredData
from vistack.image.formats import (
    ConversionError,
    ImageFacts,
    InvalidImage,
    convert_to_stream_optimized_vmdk,
)

LOG = logging.getLogger(__name__)
IMPORT_TOPIC = "image.import"
IMPORT_METHODS = ("glance-direct", "copy-image")
#: Methods Glance has that fetch from the internet or another Glance: refused by name.
UNAVAILABLE_METHODS = ("web-download", "glance-download")
#: Property recording the format an import converted from.
ORIGINAL_FORMAT = "vistack_original_disk_format"
CONVERTIBLE = ("qcow2", "raw")
CHUNK = 1 << 20
#: How long an import task stays listed (Glance: `task_time_to_live`, 48 hours).
TASK_LIFETIME = timedelta(hours=48)

_QUEUED = frozenset({Status.QUEUED.value})
_UPLOADING = frozenset({Status.UPLOADING.value})
_IMPORTING = frozenset({Status.IMPORTING.value})
_ACTIVE = frozenset({Status.ACTIVE.value})


class ImportService:
    def __init__(
        self,
        repository: ImageRepository,
        images: ImageService,
        data: ImageDataService,
        in_flight: InFlight,
        *,
        convert_on_import: bool = True,
        bus: WorkQueue | None = None,
    ) -> None:
        self._repo = repository
        self._images = images
        self._data = data
        self._in_flight = in_flight
        self._convert = convert_on_import
        self._bus = bus
        if bus is not None:
            bus.register(IMPORT_TOPIC, self._run_import)

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
        check_busy(limits.image_count_uploading, usage.image_count_uploading)
        cap = byte_quota(
            "image_stage_total", limits.image_stage_total, usage.image_stage_total, size
        )
        if (
            self._repo.update(
                image_id, columns={"status": Status.UPLOADING.value}, expected_status=_QUEUED
            )
            is None
        ):
            raise Conflict(f"Image {image_id} is already being uploaded.")
        target = self._data.staging_file(image_id)
        meter = ByteMeter(cap, "image_stage_total")
        try:
            self._data.scratch()
            with self._in_flight.hold(image_id), target.open("wb") as handle:
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
            targets = [s.info.id for s in self._data.ordered_stores()]
        elif stores:
            targets = [self._data.store(s).info.id for s in dict.fromkeys(stores)]
        else:
            default = self._data.default_store_id
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
            self._data.require_formats(image)
            if image.status != Status.UPLOADING or not self._data.staging_file(image_id).exists():
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
        now = utcnow()
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
        self._in_flight.mark(image_id)  # before the job is queued: a restart may come first
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
            with self._in_flight.hold(image_id):
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
        staged = self._data.staging_file(image_id)
        if image is None:
            staged.unlink(missing_ok=True)
            return "the image was deleted before its import ran"
        source = staged
        converted: Path | None = None
        columns: dict[str, Any] = {}
        extra: dict[str, str] = {}
        try:
            if self._convert and image.disk_format in CONVERTIBLE:
                converted = self._data.staging_dir / f"{image_id}.vmdk-{uuid.uuid4().hex[:8]}"
                convert_to_stream_optimized_vmdk(staged, image.disk_format or "raw", converted)
                source = converted
                columns["disk_format"] = "vmdk"
                extra[ORIGINAL_FORMAT] = image.disk_format or ""
                image.disk_format = "vmdk"
            done: list[tuple[ImageStore, StoredData]] = []
            failed: list[str] = []
            facts: ImageFacts | None = None
            digests: PipelinedDigests | None = None
            for store_id in targets:
                store = self._data.stores[store_id]
                try:
                    stored, facts, digests = self._data.write(
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
            self._data.activate(
                image, first_store, first, facts, digests, _IMPORTING, extra, columns
            )
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
        source = self._data.stores[source_id]
        failed: list[str] = []
        pending = list(targets)
        for store_id in targets:
            target = self._data.stores[store_id]
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

        if (
            isinstance(source, DatastoreStore)
            and isinstance(target, DatastoreStore)
            and source.same_vcenter(target)
        ):
            return target.copy_here(source, url, file_name(image))
        return target.put(file_name(image), source.get(url), image.size)


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
