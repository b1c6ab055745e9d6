"""Volumes: create (blank, from an image, a volume or a snapshot), list, show, update, delete
and metadata. The disk work runs on the bus (`work.py`); this module owns the rules.

A create is recorded and quota-checked in one transaction holding the project's lock row, so
concurrent creates can never pass the quota; the row starts `creating` and the build job takes
it to `available` or `error`. A delete is refused (400, as Cinder) while the volume is attached,
in a transitional status, or has snapshots that `cascade` does not take along.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.image.domain.images import ImageService
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeRow, VolumeTypeRow
from vistack.volume.domain import (
    backup_sources,
    convert,
    etags,
    filters,
    list_scope,
    listing,
    requests,
    sources,
)
from vistack.volume.domain.backup_jobs import BACKUP_RESTORE
from vistack.volume.domain.filters import Version
from vistack.volume.domain.groups import check_new_member
from vistack.volume.domain.migrate_attached import is_target
from vistack.volume.domain.models import (
    ATTACHED,
    AVAILABLE,
    CREATING,
    DELETABLE,
    DELETING,
    DETACHED,
    ERROR,
    IN_USE,
    SNAP_AVAILABLE,
    SNAP_DELETING,
    SNAPSHOT_DELETABLE,
    Volume,
)
from vistack.volume.domain.multiattach import BODY_FLAG_REMOVED, is_multiattach
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.sources import Source
from vistack.volume.domain.types import VolumeTypeService
from vistack.volume.domain.work import CREATE, DELETE, VolumeWork

LOG = logging.getLogger(__name__)

SORT_KEYS = (
    "id",
    "name",
    "size",
    "status",
    "created_at",
    "updated_at",
    "availability_zone",
    "bootable",
    "project_id",
)
_SORT_VALUE = {"size": "size_gb", "project_id": "project_id"}


class VolumeService:
    """The volume resource and its metadata."""

    def __init__(
        self,
        store: VolumeStore,
        policy: PolicyEngine,
        settings: VolumeSettings,
        *,
        quotas: VolumeQuotas,
        types: VolumeTypeService,
        images: ImageService | None,
        bus: WorkQueue | None,
        work: VolumeWork | None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.settings = settings
        self.quotas = quotas
        self.types = types
        self.images = images
        self.bus = bus
        self.work = work
        #: Checks a create's volume type must pass, added by the composition root (an
        #: encrypted type needs a key provider in vCenter: `encryption.EncryptionService`).
        self.type_checks: list[Callable[[VolumeUnit, VolumeTypeRow], None]] = []

    # -- visibility ----------------------------------------------------------------------------

    def authorize(self, rule: str, context: RequestContext, project_id: str | None) -> None:
        self.policy.authorize(rule, context, {"project_id": project_id or ""})

    def visible(
        self, unit: VolumeUnit, context: RequestContext, volume_id: str, *, lock: bool = False
    ) -> VolumeRow:
        """The volume if `context` may see it (its project's, or any for an admin).

        :raises NotFound: no such volume, or another project's.
        """
        row = queries.volume(unit, volume_id, lock=lock)
        if row is None or not self.policy.check(
            "volume:get", context, {"project_id": row.project_id}
        ):
            raise sources.not_found("Volume", volume_id)
        return row

    def view(self, unit: VolumeUnit, row: VolumeRow) -> Volume:
        type_row = queries.volume_type(unit, row.volume_type_id)
        return convert.volume(
            row,
            type_row.name if type_row else row.volume_type_id,
            queries.attachments_of_volume(unit, row.id),
        )

    def get(self, context: RequestContext, volume_id: str) -> Volume:
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id)
            self.authorize("volume:get", context, row.project_id)
            return self.view(unit, row)

    def list_volumes(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Volume], bool]:
        """The caller's volumes (every project's with `all_tenants` for an admin), filtered,
        sorted and paged as Cinder does; also whether another page follows."""
        found = self.list_volumes_counted(context, query)
        return found.items, found.more

    def list_volumes_counted(
        self, context: RequestContext, query: Mapping[str, str], version: Version = (3, 0)
    ) -> listing.Listing[Volume]:
        """`list_volumes` at a microversion (its filters, see `filters.py`), with the count
        of every match (3.45's `with_count`)."""
        self.authorize("volume:get_all", context, context.project_id)
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self.policy, context, query)
        wanted = filters.parse(query, "volume", version, admin=self.types.is_admin(context))
        with self.store.transaction() as unit:
            # A migration's temporary volume is Cinder's own, as upstream: never listed.
            rows = [r for r in queries.volumes(unit, project) if not is_target(r)]
            types = {t.id: t.name for t in queries.volume_types(unit, None)}
            selected = [
                r for r in rows if filters.matches(wanted, r, lambda row, k: _field(row, k, types))
            ]
            attachments = queries.attachments_of_volumes(unit, [r.id for r in selected])
            volumes = [
                convert.volume(
                    r, types.get(r.volume_type_id, r.volume_type_id), attachments.get(r.id, [])
                )
                for r in selected
            ]
        return listing.counted(
            volumes,
            params,
            lambda v, key: getattr(v, _SORT_VALUE.get(key, key)),
            lambda v: v.id,
        )

    # -- create --------------------------------------------------------------------------------

    def create(self, context: RequestContext, body: Any) -> Volume:
        """Record the volume (`creating`) and queue its build; 413 over quota."""
        self.authorize("volume:create", context, context.project_id)
        request = requests.create_volume(body)
        row, source = self.record(context, request)
        volume = self.get(context, row.id)  # as recorded: the build may finish at once
        self.submit_build(row.id, source)
        return volume

    def record(
        self, context: RequestContext, request: requests.CreateVolume
    ) -> tuple[VolumeRow, Source]:
        """Check the request and write the `creating` row, quota-checked under the project's
        lock; returns it with the source its build copies.

        :raises BadRequest / NotFound: a bad size, zone, type or source.
        :raises QuotaExceeded: the project's volume or gigabyte quota would be passed.
        :raises ServiceUnavailable: there is no vCenter to make disks on.
        """
        if self.work is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be created.")
        if request.multiattach:  # Cinder's rule: only a multiattach type makes one
            raise BadRequest(BODY_FLAG_REMOVED)
        project_id = context.project_id or ""
        zone = self.settings.default_availability_zone
        if request.availability_zone not in (None, zone):
            raise BadRequest(
                "Invalid input received: Availability zone "
                f"'{request.availability_zone}' is invalid."
            )
        with self.store.transaction() as unit:
            source = self._source(unit, context, request)
        size_gb = request.size if request.size is not None else source.size_gb
        if request.image_ref is None:
            sources.check_size(
                size_gb,
                source.size_gb,
                "snapshot" if request.snapshot_id else "backup" if request.backup_id else "volume",
            )
        self.store.ensure_project(project_id)
        with self.store.transaction() as unit:
            unit.lock_project(project_id)
            # The type asked for; else the source's (a copy keeps its type); else the default.
            type_row: VolumeTypeRow | None = None
            if request.volume_type is not None:
                type_row = self.types.find(unit, context, request.volume_type)
            elif source.volume_type_id is not None:
                type_row = queries.volume_type(unit, source.volume_type_id)
            if type_row is None:
                type_row = self.types.default_row(unit, project_id)
            for check in self.type_checks:
                check(unit, type_row)
            group_id = None
            if request.group_id is not None:
                group_id = check_new_member(
                    unit, context, self.policy, request.group_id, type_row.id
                )
            self.quotas.check(
                unit, project_id, volumes=1, gigabytes=size_gb, volume_type_id=type_row.id
            )
            now = utcnow()
            row = VolumeRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id or "",
                name=request.name,
                description=request.description,
                size_gb=size_gb,
                status=CREATING,
                attach_status=DETACHED,
                availability_zone=zone,
                volume_type_id=type_row.id,
                bootable=source.bootable,
                readonly=None,
                multiattach=is_multiattach(queries.extra_specs(unit, type_row.id)),
                source_volid=request.source_volid,
                snapshot_id=request.snapshot_id,
                image_id=source.image_id,
                metadata_items=dict(request.metadata),
                image_metadata=source.image_metadata,
                path=None,
                datastore=None,
                provisioning="thin",
                error_message=None,
                created_at=now,
                updated_at=now,
                group_id=group_id,
            )
            unit.add(row)
            if source.backup_id is not None:
                backup_sources.claim(unit, source.backup_id, row.id)
        return row, source

    def _source(
        self, unit: VolumeUnit, context: RequestContext, request: requests.CreateVolume
    ) -> Source:
        if request.image_ref is not None:
            if self.images is None:
                raise BadRequest(
                    "Invalid input received: there is no image service to make volumes from."
                )
            if request.size is None:
                raise BadRequest("Invalid input received: size is required with imageRef.")
            try:
                image = self.images.visible_image(context, request.image_ref)
            except NotFound:
                raise NotFound(f"Image {request.image_ref} could not be found.") from None
            return sources.image_source(image, request.size)
        if request.source_volid is not None:
            try:
                origin = self.visible(unit, context, request.source_volid)
            except NotFound:
                raise NotFound(
                    f"Source volume {request.source_volid} could not be found."
                ) from None
            if origin.status not in (AVAILABLE, IN_USE) or origin.path is None:
                raise BadRequest(
                    f"Invalid volume: Source volume {origin.id} status must be available or "
                    f"in-use, but it is {origin.status}."
                )
            return Source(
                origin.path,
                origin.size_gb,
                origin.bootable,
                origin.image_id,
                dict(origin.image_metadata) if origin.image_metadata is not None else None,
                origin.volume_type_id,
                origin.availability_zone,
            )
        if request.backup_id is not None:
            return backup_sources.backup_source(unit, self.policy, context, request.backup_id)
        if request.snapshot_id is not None:
            snapshot = queries.snapshot(unit, request.snapshot_id)
            if snapshot is None or not self.policy.check(
                "volume:get_snapshot", context, {"project_id": snapshot.project_id}
            ):
                raise NotFound(f"Snapshot {request.snapshot_id} could not be found.")
            if snapshot.status != SNAP_AVAILABLE or snapshot.path is None:
                raise BadRequest(
                    f"Invalid snapshot: Originating snapshot status must be 'available', "
                    f"but it is {snapshot.status}."
                )
            origin_volume = queries.volume(unit, snapshot.volume_id)
            return Source(
                snapshot.path,
                snapshot.size_gb,
                origin_volume.bootable if origin_volume else False,
                origin_volume.image_id if origin_volume else None,
                dict(origin_volume.image_metadata)
                if origin_volume and origin_volume.image_metadata is not None
                else None,
                origin_volume.volume_type_id if origin_volume else None,
            )
        return Source()

    def submit_build(self, volume_id: str, source: Source) -> None:
        """Queue the build of a recorded volume; the source disk was resolved by `record`."""
        if self.bus is None:
            return
        try:
            if source.backup_id is not None:  # the restore job makes the disk and fills it
                self.bus.submit(
                    BACKUP_RESTORE, {"backup_id": source.backup_id, "volume_id": volume_id}
                )
                return
            self.bus.submit(
                CREATE, {"volume_id": volume_id, "source": source.path, "source_gb": source.size_gb}
            )
        except Exception:
            self.mark_error(volume_id, "The volume's build could not be queued.")
            raise

    # -- update / delete -----------------------------------------------------------------------

    def update(self, context: RequestContext, volume_id: str, body: Any) -> Volume:
        fields = requests.update_fields(body, "volume")
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id, lock=True)
            self.authorize("volume:update", context, row.project_id)
            if "name" in fields:
                row.name = fields["name"]
            if "description" in fields:
                row.description = fields["description"]
            if "metadata" in fields:
                row.metadata_items = fields["metadata"]
            row.updated_at = utcnow()
            unit.flush()
            return self.view(unit, row)

    def delete(
        self, context: RequestContext, volume_id: str, *, cascade: bool = False, force: bool = False
    ) -> None:
        """Mark the volume `deleting` (and its snapshots with `cascade`) and queue the delete.

        :raises BadRequest: attached, in a status a delete may not start from (unless `force`,
            an admin's), or with snapshots and no `cascade`.
        """
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id, lock=True)
            self.authorize(
                "volume:force_delete" if force else "volume:delete", context, row.project_id
            )
            attached = queries.attachments_of_volume(unit, row.id)
            if attached or row.attach_status == ATTACHED:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} is attached (status {row.status}); "
                    "detach it before deleting it."
                )
            if not force and row.status not in DELETABLE:
                raise BadRequest(
                    f"Invalid volume: Volume status must be {' or '.join(DELETABLE)} and must "
                    f"not be migrating, attached, belong to a group, have snapshots or be "
                    f"disassociated from snapshots after volume transfer; it is {row.status}."
                )
            if row.group_id is not None and not force:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} belongs to group {row.group_id}; remove it "
                    "from the group (or delete the group with delete-volumes) first."
                )
            clones = [
                v.id
                for v in queries.volumes(unit, None)
                if v.source_volid == row.id and v.status == CREATING
            ]
            if clones:
                raise BadRequest(
                    f"Invalid volume: volume {clones[0]} is being created from it; delete it "
                    "once that create ends."
                )
            snapshots = queries.snapshots(unit, None, row.id)
            if snapshots and not cascade:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} has {len(snapshots)} snapshot(s); delete "
                    "them first, or delete with cascade=True."
                )
            for snapshot in snapshots:
                if snapshot.group_snapshot_id is not None:
                    raise BadRequest(
                        f"Invalid volume: Snapshot {snapshot.id} of volume {row.id} is part of "
                        f"group snapshot {snapshot.group_snapshot_id}; delete that first."
                    )
                if not force and snapshot.status not in SNAPSHOT_DELETABLE:
                    raise BadRequest(
                        f"Invalid volume: Snapshot {snapshot.id} of volume {row.id} is "
                        f"{snapshot.status}; it cannot be deleted now."
                    )
                snapshot.status = SNAP_DELETING
            row.status = DELETING
            row.updated_at = utcnow()
            unit.flush()
        if self.bus is not None and self.work is not None:
            self.bus.submit(DELETE, {"volume_id": volume_id})
        elif self.work is not None:
            self.work.delete(volume_id)
        else:
            with self.store.transaction() as unit:  # no vCenter: there is no disk to remove
                for snapshot in queries.snapshots(unit, None, volume_id):
                    unit.delete(snapshot)
                found = queries.volume(unit, volume_id)
                if found is not None:
                    unit.delete(found)

    def mark_error(self, volume_id: str, message: str) -> None:
        with self.store.transaction() as unit:
            queries.set_volume_status(
                unit, volume_id, [CREATING], status=ERROR, error_message=message
            )

    # -- metadata ------------------------------------------------------------------------------

    def metadata(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id)
            self.authorize("volume:get_volume_metadata", context, row.project_id)
            return dict(row.metadata_items or {})

    def set_metadata(
        self,
        context: RequestContext,
        volume_id: str,
        body: Any,
        *,
        replace: bool,
        if_match: tuple[str, ...] | None = None,
    ) -> dict[str, str]:
        """POST merges (Cinder's create), PUT replaces; `if_match` (3.15) must name the
        metadata's current ETag (`etags.py`)."""
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            raise BadRequest("Malformed request body: missing 'metadata'.")
        items = requests.metadata(body["metadata"])
        return self._write_metadata(context, volume_id, items, replace=replace, if_match=if_match)

    def metadata_item(self, context: RequestContext, volume_id: str, key: str) -> str:
        return requests.item_of(self.metadata(context, volume_id), key)

    def set_metadata_item(
        self,
        context: RequestContext,
        volume_id: str,
        key: str,
        body: Any,
        if_match: tuple[str, ...] | None = None,
    ) -> dict[str, str]:
        items = requests.metadata_item(body, key)
        self._write_metadata(context, volume_id, items, replace=False, if_match=if_match)
        return items

    def delete_metadata_item(self, context: RequestContext, volume_id: str, key: str) -> None:
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id, lock=True)
            self.authorize("volume:delete_volume_metadata", context, row.project_id)
            items = dict(row.metadata_items or {})
            if key not in items:
                raise NotFound(f"Metadata item was not found: {key}")
            del items[key]
            row.metadata_items = items
            row.updated_at = utcnow()

    def _write_metadata(
        self,
        context: RequestContext,
        volume_id: str,
        items: dict[str, str],
        *,
        replace: bool,
        if_match: tuple[str, ...] | None = None,
    ) -> dict[str, str]:
        with self.store.transaction() as unit:
            row = self.visible(unit, context, volume_id, lock=True)
            rule = "volume:update_volume_metadata" if replace else "volume:create_volume_metadata"
            self.authorize(rule, context, row.project_id)
            etags.check(row.metadata_items or {}, if_match)  # on the locked row: no race
            merged = dict(items) if replace else {**(row.metadata_items or {}), **items}
            row.metadata_items = merged
            row.updated_at = utcnow()
            return dict(merged)


def _field(row: VolumeRow, key: str, types: dict[str, str]) -> Any:
    """A volume's value for the list filter `key` (None for what this cloud does not keep)."""
    if key == "volume_type":
        return frozenset({row.volume_type_id, types.get(row.volume_type_id)})
    if key == "metadata":
        return row.metadata_items
    if key == "glance_metadata":
        return row.image_metadata
    if key == "size":
        return row.size_gb
    if key == "consumes_quota":
        return True  # every volume counts against its project's quota here
    if key in VolumeRow.__table__.c:
        return getattr(row, key)
    return None
