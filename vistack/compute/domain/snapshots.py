"""Server snapshots into Glance: createImage and createBackup (and the copy shelve makes).

The API half creates the Glance image at once, `queued`, with Nova's snapshot properties
(`image_type`, `instance_uuid`, `base_image_ref`, `owner_id`, `user_id`, the base image's
inheritable properties, `min_disk` at least the flavor's root disk), moves the server to
`image_snapshot` (`image_backup`) and queues the copy. The job copies the VM's root disk into
the image store on a datastore (`ComputeDriver.export_root_disk`: one VMDK file, taken under a
VM snapshot so a running server's disk is copied as of one moment), then activates the image
with that file as its data (`ImageDataService.adopt`), so it boots new servers like any
uploaded image. Task states follow Nova: image_snapshot → image_pending_upload →
image_uploading → none.

A failure deletes the image (and whatever reached the datastore) and gives the server back in
its state, with the action recorded as an error (Nova's behaviour: a failed snapshot does not
put a server in ERROR). A delete during the copy wins: the job stops and the image goes. A
restart cleans up the same way (`start`): the interrupted image is deleted unless it was
already complete.

A volume-backed server has no disk to copy: its createImage snapshots each of its volumes in
Cinder and makes an image with no data that maps them (`volume_snapshots.py`); its
createBackup is a 400, as in Nova.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotImplementedByBackend,
    PayloadTooLarge,
    VistackError,
)
from vistack.compute.db import servers as queries
from vistack.compute.domain import states
from vistack.compute.domain.boot_volumes import SHELVE_REFUSED, SNAPSHOT_REFUSED
from vistack.compute.domain.build import fault_of
from vistack.compute.domain.lifecycle import (
    Aborted,
    ActionDeps,
    begin,
    finish_action,
    interrupted,
    is_admin,
    job_context,
    load,
    recorded,
    remember,
    step,
)
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import state_conflict
from vistack.compute.domain.volume_snapshots import KIND as VOLUME_KIND
from vistack.compute.domain.volume_snapshots import VolumeSnapshots
from vistack.compute.domain.work import context_of, context_payload
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import ImageFile
from vistack.drivers.paths import datastore_path
from vistack.image.domain.data import file_name
from vistack.image.domain.models import Image, ListQuery, Status

LOG = logging.getLogger(__name__)

SNAPSHOT_TOPIC = "compute.snapshot"
#: Where a copy in progress is kept on the server (`system_metadata`), for a restart's undo.
JOB_KEY = "image_job"
GIB = 1 << 30

#: vm_states a snapshot or backup may start from (Nova's createImage and createBackup).
SNAPSHOT_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)

#: Base image properties a snapshot does not inherit (Nova's NON_INHERITABLE_IMAGE_PROPERTIES,
#: its `non_inheritable_image_properties` defaults, and what the snapshot sets itself).
NOT_INHERITED = frozenset(
    {
        "cinder_encryption_key_id",
        "cinder_encryption_key_deletion_policy",
        "img_signature",
        "img_signature_hash_method",
        "img_signature_key_type",
        "img_signature_certificate_uuid",
        "cache_in_nova",
        "bittorrent",
        "image_type",
        "instance_uuid",
        "base_image_ref",
        "owner_id",
        "user_id",
        "backup_type",
        "image_location",
        "image_state",
    }
)


def parse_name_and_metadata(argument: Any, action: str) -> tuple[str, dict[str, str]]:
    """`{"name": ..., "metadata": {...}}` as Nova's schema checks it."""
    if not isinstance(argument, Mapping):
        raise BadRequest(f"Invalid input for field/attribute {action}. Value must be an object.")
    name = argument.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or name != name.strip():
        raise BadRequest(
            "Invalid input for field/attribute name. Value must be 1 to 255 characters, "
            "with no leading or trailing whitespace."
        )
    metadata = argument.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255 and len(v) <= 255
        for k, v in metadata.items()
    ):
        raise BadRequest(
            "Invalid input for field/attribute metadata. Value must be an object of strings "
            "(keys 1 to 255 characters, values at most 255)."
        )
    return name, dict(metadata)


class SnapshotService:
    """createImage and createBackup, and the disk copy shelve reuses."""

    def __init__(self, deps: ActionDeps) -> None:
        self._deps = deps
        #: createImage of volume-backed servers; the composition root connects Cinder's link.
        self.volumes = VolumeSnapshots(deps)
        deps.bus.register(SNAPSHOT_TOPIC, self.run)

    # ------------------------------------------------------------------ API half

    def create_image(
        self,
        context: RequestContext,
        server_id: str,
        argument: Any,
        *,
        count_metadata: bool = True,
    ) -> Image:
        """`count_metadata`: the image's metadata counts against the metadata_items quota
        (Nova drops that check at 2.39, with the image-metadata proxy)."""
        name, metadata = parse_name_and_metadata(argument, "createImage")
        return self._start(
            context,
            server_id,
            name,
            metadata,
            rule="os_compute_api:servers:create_image",
            action="createImage",
            task=states.IMAGE_SNAPSHOT,
            extra={},
            payload={"kind": "snapshot"},
            count_metadata=count_metadata,
        )

    def create_backup(
        self,
        context: RequestContext,
        server_id: str,
        argument: Any,
        *,
        count_metadata: bool = True,
    ) -> tuple[Image, int]:
        """Returns the backup's image and its rotation (the API shows a Location only when
        the rotation keeps it)."""
        if not isinstance(argument, Mapping):
            raise BadRequest("Invalid input for field/attribute createBackup.")
        missing = [k for k in ("name", "backup_type", "rotation") if k not in argument]
        if missing:
            raise BadRequest(f"'{missing[0]}' is a required property")
        name, metadata = parse_name_and_metadata(argument, "createBackup")
        backup_type = argument["backup_type"]
        if not isinstance(backup_type, str) or not backup_type:
            raise BadRequest("Invalid input for field/attribute backup_type.")
        rotation = argument["rotation"]
        if isinstance(rotation, str) and rotation.isdigit():
            rotation = int(rotation)
        if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
            raise BadRequest(
                "Invalid input for field/attribute rotation. Value must be an integer >= 0."
            )
        image = self._start(
            context,
            server_id,
            name,
            metadata,
            rule="os_compute_api:os-create-backup",
            action="createBackup",
            task=states.IMAGE_BACKUP,
            extra={"backup_type": backup_type},
            payload={"kind": "backup", "backup_type": backup_type, "rotation": rotation},
            image_type="backup",
            count_metadata=count_metadata,
        )
        return image, rotation

    def _start(
        self,
        context: RequestContext,
        server_id: str,
        name: str,
        metadata: dict[str, str],
        *,
        rule: str,
        action: str,
        task: str,
        extra: dict[str, str],
        payload: dict[str, Any],
        image_type: str = "snapshot",
        count_metadata: bool = True,
    ) -> Image:
        deps = self._deps
        server = self.check_start(context, server_id, rule, action)
        if count_metadata:
            deps.quotas.check_metadata_items(server.project_id, len(metadata))
        if server.image_id:
            image = self.make_image(context, server, name, image_type, {**metadata, **extra})
        else:  # volume-backed (check_start let only createImage through)
            image = self.volumes.make_image(context, server, name, metadata, NOT_INHERITED)
            payload = {**payload, "kind": VOLUME_KIND}
        try:
            begin(
                deps,
                context,
                server_id,
                rule=rule,
                action=action,
                allowed=SNAPSHOT_STATES,
                task_state=task,
            )
            remember(deps, server_id, JOB_KEY, {"image_id": image.id, "kind": payload["kind"]})
        except BaseException:
            with contextlib.suppress(VistackError):
                deps.images.delete(context, image.id)
            raise
        deps.bus.submit(
            SNAPSHOT_TOPIC,
            {
                **payload,
                "server_id": server_id,
                "image_id": image.id,
                "request_id": context.request_id,
                "context": context_payload(context),
            },
        )
        return image

    def check_start(
        self,
        context: RequestContext,
        server_id: str,
        rule: str,
        action: str,
        allowed: tuple[str, ...] = SNAPSHOT_STATES,
    ) -> Server:
        """The state checks of `begin`, made before the image exists (no image is made for a
        request that will be refused); `begin` repeats them under the row lock."""
        deps = self._deps
        deps.backend  # noqa: B018
        with deps.store.transaction() as unit:
            row = queries.get(unit, server_id)
            target = {"project_id": row.project_id} if row is not None else {}
            if row is None or not deps.policy.check("os_compute_api:servers:show", context, target):
                raise NotFound(f"Instance {server_id} could not be found.")
            deps.policy.authorize(rule, context, target)
            if row.locked and not is_admin(context):
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in allowed or row.task_state is not None:
                raise state_conflict(row, action)
            if not row.image_id:  # volume-backed: its root disk is a volume
                self._check_volume_backed(action)
            return queries.to_server(row)

    def _check_volume_backed(self, action: str) -> None:
        """What a volume-backed server may do here: createImage snapshots its volumes when
        Cinder offers snapshots to Nova; createBackup is refused as Nova refuses it."""
        if action == "createBackup":
            raise BadRequest("Backup is not supported for volume-backed instances.")
        if action == "shelve":
            raise NotImplementedByBackend(SHELVE_REFUSED)
        if self.volumes.port() is None:
            raise NotImplementedByBackend(SNAPSHOT_REFUSED)

    def make_image(
        self,
        context: RequestContext,
        server: Server,
        name: str,
        image_type: str,
        properties: Mapping[str, str],
    ) -> Image:
        """The queued Glance image a snapshot fills, with Nova's snapshot metadata."""
        deps = self._deps
        inherited: dict[str, str] = {}
        min_disk, min_ram = int(server.flavor.get("disk") or 0), 0
        try:
            base = deps.images.visible_image(context, server.image_id)
        except NotFound:
            base = None
        if base is not None:
            inherited = {
                k: v
                for k, v in base.properties.items()
                if k not in NOT_INHERITED and not k.startswith("os_glance")
            }
            min_disk = max(min_disk, base.min_disk)
            min_ram = base.min_ram
        fields: dict[str, Any] = {
            **inherited,
            "name": name,
            "disk_format": "vmdk",
            "container_format": "bare",
            "visibility": "private" if context.project_id == server.project_id else "shared",
            "min_disk": min_disk,
            "min_ram": min_ram,
            "image_type": image_type,
            "instance_uuid": server.id,
            "base_image_ref": server.image_id,
            "owner_id": server.project_id,
            "user_id": context.user_id or "",
            **properties,
            # A fact about the bytes, whatever the base image was: the copy is one
            # monolithicSparse file (`export_root_disk`), "sparse" in Nova's VMware terms.
            "vmware_disktype": "sparse",
        }
        try:
            deps.image_data.check_adopt_quota(context.project_id)
            return deps.images.create(context, fields)
        except PayloadTooLarge as exc:
            raise Forbidden(f"Quota exceeded for image: {exc.message}") from None

    # ------------------------------------------------------------------ job half

    def run(self, payload: Mapping[str, Any]) -> None:
        deps = self._deps
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        image_id = str(payload["image_id"])
        with deps.locks.of(server_id):
            loaded = load(deps, server_id)
            if loaded is None or loaded[0].task_state not in states.SNAPSHOT_TASKS:
                # A delete took the server before the copy began: its image goes too.
                self.abandon(payload, image_id)
                return
            server = loaded[0]
            context = job_context(payload, server)
            backup = payload.get("kind") == "backup"
            volumes = payload.get("kind") == VOLUME_KIND
            event = "compute_backup_instance" if backup else "compute_snapshot_instance"
            if volumes:  # Nova's event for the snapshot of a volume-backed server
                event = "api_snapshot_instance"
            try:
                with recorded(deps, server, request_id, event):
                    if volumes:
                        self.volumes.snapshot(context, server, image_id, JOB_KEY)
                    else:
                        self.copy_disk(
                            context,
                            server,
                            image_id,
                            states.IMAGE_PENDING_UPLOAD,
                            states.IMAGE_UPLOADING,
                        )
                if backup:
                    # Before the task ends, so a client that sees it end sees the rotation.
                    self.rotate(
                        context,
                        server_id,
                        image_id,
                        str(payload["backup_type"]),
                        int(payload["rotation"]),
                    )
                step(deps, server_id, states.IMAGE_UPLOADING, task_state=None)
            except Exception as exc:
                self.discard(context, server_id, image_id)
                if not isinstance(exc, Aborted):
                    self._give_back(server_id, exc)
                finish_action(deps, server_id, request_id, "Error")
                remember(deps, server_id, JOB_KEY, None)
                return
            remember(deps, server_id, JOB_KEY, None)
            finish_action(deps, server_id, request_id, "Success")

    def copy_disk(
        self,
        context: RequestContext,
        server: Server,
        image_id: str,
        pending: str,
        uploading: str,
    ) -> Image:
        """Copy the server's root disk into the queued image `image_id` and activate it,
        moving the task from wherever it is (`server.task_state`) to `pending`, then
        `uploading`. :raises Aborted: a delete took over (the caller discards the image)."""
        deps = self._deps
        compute = deps.backend.compute
        step(deps, server.id, server.task_state or "", task_state=pending)
        try:
            image = deps.images.visible_image(context, image_id)
        except NotFound:
            raise BadRequest(f"Image {image_id} was deleted during the snapshot.") from None
        vm = compute.get_vm(server.id)
        store = deps.image_data.snapshot_store(vm.datastore or None)
        path = f"{store.folder}/{file_name(image)}"
        deps.image_data.begin_adopt(image)
        job = {"image_id": image_id, "datastore": store.datastore, "path": path}
        remember(deps, server.id, JOB_KEY, job)
        step(deps, server.id, pending, task_state=uploading)
        compute.export_root_disk(server.id, datastore_path(store.datastore, path))
        root_gb = vm.disks[0].capacity_gb if vm.disks else 0
        return deps.image_data.adopt(image, store, path, root_gb * GIB or None)

    def abandon(self, payload: Mapping[str, Any], image_id: str) -> None:
        """Delete the image of a copy that will never run, unless it is complete."""
        raw = payload.get("context")
        if not isinstance(raw, dict):
            return
        context = context_of(raw)
        try:
            image = self._deps.images.visible_image(context, image_id)
            if image.status != Status.ACTIVE:
                self._deps.images.delete(context, image_id)
        except NotFound:
            pass
        except VistackError as exc:
            LOG.warning("could not delete image %s of a snapshot never made: %s", image_id, exc)

    def forget_job(self, server_id: str) -> None:
        """The copy is done: nothing is left for a restart to undo."""
        remember(self._deps, server_id, JOB_KEY, None)

    def discard(self, context: RequestContext, server_id: str, image_id: str) -> None:
        """Delete a snapshot's image and any file its copy left, or the volume snapshots a
        volume-backed server's snapshot made (best effort, logged)."""
        deps = self._deps
        loaded = load(deps, server_id)
        job = loaded[1].get(JOB_KEY) if loaded is not None else None
        if isinstance(job, dict):
            self.volumes.undo(context, job)
        try:
            deps.images.delete(context, image_id)
        except NotFound:
            pass
        except Exception:
            LOG.exception("could not delete image %s of a failed snapshot", image_id)
        if isinstance(job, dict) and job.get("path") and deps.drivers is not None:
            file = ImageFile(str(job["datastore"]), str(job["path"]), 0)
            try:
                deps.drivers.images.delete_image(file)
            except NotFoundError:
                pass
            except DriverError as exc:
                LOG.warning("could not delete %s: %s", job["path"], exc)

    def _give_back(self, server_id: str, exc: Exception) -> None:
        """The server back as it was (no task), with the failure as its fault."""
        if not isinstance(exc, (VistackError, DriverError)):
            LOG.exception("snapshot of server %s failed", server_id)
        else:
            LOG.info("snapshot of server %s failed: %s", server_id, exc)
        with self._deps.store.transaction() as unit:
            for task in states.SNAPSHOT_TASKS:
                queries.set_if_task(unit, server_id, task, task_state=None, fault=fault_of(exc, []))

    def rotate(
        self,
        context: RequestContext,
        server_id: str,
        newest: str,
        backup_type: str,
        rotation: int,
    ) -> None:
        """Keep the newest `rotation` backups of this type of the server (`newest`, just
        made, first); delete the rest (Nova's rotation: 0 deletes them all, the new one too)."""
        deps = self._deps
        query = ListQuery(
            properties={
                "instance_uuid": server_id,
                "image_type": "backup",
                "backup_type": backup_type,
            },
            sort=[("created_at", "desc")],
            limit=1000,
        )
        found = [i for i in deps.images.list_images(context, query) if i.status == Status.ACTIVE]
        backups = sorted(found, key=lambda i: i.id != newest)  # stable: created_at order kept
        for old in backups[rotation:]:
            try:
                deps.images.delete(context, old.id)
            except VistackError as exc:
                LOG.warning("backup rotation could not delete image %s: %s", old.id, exc.message)

    # ------------------------------------------------------------------ restart

    def start(self) -> None:
        """Undo the snapshots a restart interrupted: a complete image is kept, any other is
        deleted with its file; the server is given back with no task."""
        deps = self._deps
        if deps.drivers is None:
            return
        for server_id in interrupted(deps, states.SNAPSHOT_TASKS):
            loaded = load(deps, server_id)
            if loaded is None:
                continue
            server, system = loaded
            job = system.get(JOB_KEY)
            context = job_context({}, server)
            if isinstance(job, dict) and job.get("image_id"):
                image_id = str(job["image_id"])
                try:
                    image = deps.images.visible_image(context, image_id)
                    complete = image.status == Status.ACTIVE
                except NotFound:
                    complete = False
                if not complete:
                    self.discard(context, server_id, image_id)
            with deps.store.transaction() as unit:
                queries.set_if_task(unit, server_id, server.task_state or "", task_state=None)
            remember(deps, server_id, JOB_KEY, None)

    def stop(self) -> None:
        """Nothing runs between jobs; a restart undoes an interrupted copy (`start`)."""
