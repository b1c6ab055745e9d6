"""Managing existing snapshot disks (Cinder 3.8's `manageable_snapshots`,
`os-snapshot-manage` and the snapshots' `os-unmanage`), beside `manage.py`'s volumes.

A snapshot here is a full copy of its volume's disk named `snapshot-<id>` in the volume
folder (`work.snapshot_disk_name`), so the snapshot disks of a datastore are the ones with
that prefix; the ones a Cinder snapshot owns are listed as not safe to manage, with their
volume's disk as `source_reference`. Adopting one needs the volume it is a snapshot of (the
disk itself does not say), and makes a snapshot of that volume, `available` at once, that
counts against the project's snapshot quota. Unmanaging forgets the snapshot and keeps the
disk.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.drivers.models import DiskInfo
from vistack.volume.db import queries
from vistack.volume.db.tables import SnapshotRow
from vistack.volume.domain import convert, listing, requests
from vistack.volume.domain.manage import SORT_KEYS, VolumeManage, owners
from vistack.volume.domain.models import (
    AVAILABLE,
    IN_USE,
    SNAP_AVAILABLE,
    SNAPSHOT_DELETABLE,
    Snapshot,
)
from vistack.volume.domain.volumes import VolumeService

PREFIX = "snapshot-"


@dataclass(frozen=True)
class ManageableSnapshot:
    name: str
    path: str
    datastore: str
    size_gb: int
    cinder_id: str | None
    reason_not_safe: str | None
    #: The disk name of the volume an owned snapshot was taken of (None when unknown).
    source_name: str | None

    @property
    def id(self) -> str:
        return self.name


class SnapshotManage:
    """Lists, adopts and forgets snapshot disks (administrators only)."""

    def __init__(self, volumes: VolumeService, manage: VolumeManage) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._manage = manage

    def manageable(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[ManageableSnapshot], bool]:
        """The snapshot disks of the named host's datastores, sorted and paged.

        :raises BadRequest / NotFound: as `VolumeManage.manageable`.
        """
        self._volumes.authorize("volume_extension:list_manageable", context, None)
        defaults = {} if query.get("sort") else {"sort_key": "reference", "sort_dir": "asc"}
        params = listing.parse_params({**defaults, **query}, SORT_KEYS)
        pool = self._manage.where(query.get("host"), query.get("cluster"))
        disks = [d for d in self._manage.disks(pool) if _name(d).startswith(PREFIX)]
        with self._store.transaction() as unit:
            owned = owners(unit)
            snapshots = {s.path: s for s in queries.snapshots(unit, None) if s.path}
            volume_paths = {v.id: v.path for v in queries.volumes(unit, None)}
        found = []
        for disk in disks:
            owner = owned.get(disk.path)
            snap = snapshots.get(disk.path)
            source = volume_paths.get(snap.volume_id) if snap is not None else None
            found.append(
                ManageableSnapshot(
                    name=_name(disk),
                    path=disk.path,
                    datastore=disk.datastore,
                    size_gb=max(1, disk.capacity_gb),
                    cinder_id=snap.id if snap is not None else None,
                    reason_not_safe=f"Already managed ({owner})." if owner else None,
                    source_name=_file(source) if source else None,
                )
            )
        return listing.page(
            found,
            params,
            lambda item, key: item.size_gb if key == "size" else item.name,
            lambda item: item.name,
        )

    def manage(self, context: RequestContext, body: Any) -> Snapshot:
        """Adopt a disk as a snapshot of `volume_id`.

        :raises BadRequest: no `ref`, no such disk on the volume's datastore, a disk already
            owned, a volume neither available nor in-use.
        :raises NotFound: no such volume.
        :raises QuotaExceeded: the project's snapshot or gigabyte quota would be passed.
        """
        self._volumes.authorize("volume_extension:volume_manage", context, None)
        fields = requests.body_of(body, "snapshot")
        ref = fields.get("ref")
        volume_id = fields.get("volume_id")
        if not isinstance(ref, dict) or not isinstance(ref.get("source-name"), str):
            raise BadRequest(
                "Invalid input received: 'ref' must be an object naming the disk, as "
                '{"source-name": "snapshot-<id>"}.'
            )
        if not isinstance(volume_id, str) or not volume_id:
            raise BadRequest("Invalid input received: 'volume_id' must name the volume.")
        name = requests.text("name", fields.get("name"))
        description = requests.text("description", fields.get("description"), limit=65535)
        metadata = requests.metadata(fields.get("metadata"))
        with self._store.transaction() as unit:
            volume = self._volumes.visible(unit, context, volume_id)
            datastore = volume.datastore
        disk = self._manage.find(datastore, ref["source-name"])
        project_id = volume.project_id
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            if row.status not in (AVAILABLE, IN_USE):
                raise BadRequest(
                    f"Invalid volume: Volume {volume_id} status must be available or in-use, "
                    f"but current status is: {row.status}."
                )
            owner = owners(unit).get(disk.path)
            if owner is not None:
                raise BadRequest(
                    f"Invalid input received: disk {disk.path} is already managed ({owner})."
                )
            size_gb = disk.capacity_gb or row.size_gb
            self._volumes.quotas.check(unit, project_id, snapshots=1, gigabytes=size_gb)
            now = utcnow()
            snap = SnapshotRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id or "",
                volume_id=row.id,
                name=name,
                description=description,
                size_gb=size_gb,
                status=SNAP_AVAILABLE,
                progress="100%",
                metadata_items=metadata,
                path=disk.path,
                error_message=None,
                created_at=now,
                updated_at=now,
            )
            unit.add(snap)
            return convert.snapshot(snap)

    def unmanage(self, context: RequestContext, snapshot_id: str) -> None:
        """Forget the snapshot; its disk stays.

        :raises NotFound: no such snapshot.
        :raises BadRequest: not available nor error.
        """
        with self._store.transaction() as unit:
            snap = queries.snapshot(unit, snapshot_id)
            if snap is None or not self._volumes.policy.check(
                "volume:get_snapshot", context, {"project_id": snap.project_id}
            ):
                raise NotFound(f"Snapshot {snapshot_id} could not be found.")
            self._volumes.authorize("volume_extension:volume_unmanage", context, snap.project_id)
            if snap.status not in SNAPSHOT_DELETABLE:
                raise BadRequest(
                    f"Invalid snapshot: Snapshot {snapshot_id} status must be available or "
                    f"error to be unmanaged, but current status is: {snap.status}."
                )
            unit.session.delete(snap)


def _file(path: str) -> str:
    return path.rpartition("/")[2].removesuffix(".vmdk")


def _name(disk: DiskInfo) -> str:
    return _file(disk.path)
