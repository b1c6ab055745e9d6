"""Managing existing disks (Cinder's 3.8 `manageable_volumes`, `os-volume-manage` and the
`os-unmanage` action): the VMDKs in a datastore's volume folder that no Cinder volume owns can
be listed, adopted as volumes, and volumes can be forgotten again without deleting their disk.

A disk is found by the volume driver's `list_disks`, so what is listed is what vCenter has,
not what the database remembers. A disk some volume or snapshot already owns is listed as not
safe to manage (Cinder's `safe_to_manage: false` with the owner), never adopted twice. An
adopted disk keeps its name and place: every operation reads a volume's path from its row.
vCenter does not report the size of a disk in every setup (vcsim writes no capacity in its
descriptors), so an unknown capacity counts as 1 GB, the least a Cinder volume has.

Adopting is recorded in one transaction that holds the project's lock (the quota check) and
checks again that no volume took the disk meanwhile. Unmanaging deletes the row only: the disk
stays where it was, safe to manage again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import DiskInfo
from vistack.drivers.paths import split_datastore_path
from vistack.drivers.volumes import VOLUME_FOLDER, VolumeDriver
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import listing, requests
from vistack.volume.domain.backend import BACKEND
from vistack.volume.domain.models import AVAILABLE, DETACHED, ERROR, Volume
from vistack.volume.domain.multiattach import is_multiattach
from vistack.volume.domain.volumes import VolumeService

#: Where `os-unmanage` may start (Cinder's: a volume at rest, not attached).
UNMANAGEABLE = (AVAILABLE, ERROR, "error_managing")
SORT_KEYS = ("size", "reference")
#: Cinder's volume name template, `volume-<id>`: a reference may name a volume's disk so.
VOLUME_PREFIX = "volume-"


@dataclass(frozen=True)
class Manageable:
    """One disk of a datastore's volume folder, as `manageable_volumes` lists it."""

    name: str
    path: str
    datastore: str
    size_gb: int
    cinder_id: str | None
    reason_not_safe: str | None

    @property
    def id(self) -> str:
        """The marker of a page (Cinder pages manageable resources by their reference)."""
        return self.name


class VolumeManage:
    """Lists, adopts and forgets the backend's disks (administrators only)."""

    def __init__(self, volumes: VolumeService, driver: VolumeDriver | None, host: str) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._driver = driver
        self._host = host

    # -- listing -------------------------------------------------------------------------------

    def manageable(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Manageable], bool]:
        """The disks of the named host's datastores (its `#pool` alone when given), sorted
        by `size` or `reference` and paged.

        :raises BadRequest: neither `host` nor `cluster`, both, or a bad sort.
        :raises NotFound: the host is not this cloud's volume service; no such cluster.
        """
        self._volumes.authorize("volume_extension:list_manageable", context, None)
        defaults = {} if query.get("sort") else {"sort_key": "reference", "sort_dir": "asc"}
        params = listing.parse_params({**defaults, **query}, SORT_KEYS)
        pool = self.where(query.get("host"), query.get("cluster"))
        disks = self.disks(pool)
        with self._store.transaction() as unit:
            owned = owners(unit)
        found = [_manageable(d, owned) for d in disks]
        return listing.page(
            found,
            params,
            lambda item, key: item.size_gb if key == "size" else item.name,
            lambda item: item.name,
        )

    # -- manage --------------------------------------------------------------------------------

    def manage(self, context: RequestContext, body: Any) -> Volume:
        """Adopt a disk as a volume of the caller's project, `available` at once.

        :raises BadRequest: no `ref`, a reference to no disk of the volume folder, a disk
            another volume or snapshot owns, or bad fields.
        :raises NotFound: the host or the volume type does not exist.
        :raises QuotaExceeded: the project's volume or gigabyte quota would be passed.
        """
        self._volumes.authorize("volume_extension:volume_manage", context, None)
        fields = requests.body_of(body, "volume")
        ref = fields.get("ref")
        if not isinstance(ref, dict) or not isinstance(ref.get("source-name"), str):
            raise BadRequest(
                "Invalid input received: 'ref' must be an object naming the disk, as "
                '{"source-name": "<disk name>"} or {"source-name": "[datastore] volumes/x.vmdk"}.'
            )
        pool = self.where(fields.get("host"), fields.get("cluster"))
        name = requests.text("name", fields.get("name"))
        description = requests.text("description", fields.get("description"), limit=65535)
        metadata = requests.metadata(fields.get("metadata"))
        bootable = requests.boolean("bootable", fields.get("bootable", False))
        zone = self._volumes.settings.default_availability_zone
        if fields.get("availability_zone") not in (None, zone):
            raise BadRequest(
                f"Invalid input received: Availability zone '{fields['availability_zone']}' "
                "is invalid."
            )
        disk = self.find(pool, ref["source-name"])
        size_gb = max(1, disk.capacity_gb)
        project_id = context.project_id or ""
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            owner = owners(unit).get(disk.path)
            if owner is not None:
                raise BadRequest(
                    f"Invalid input received: disk {disk.path} is already managed ({owner})."
                )
            type_ref = fields.get("volume_type")
            if type_ref is not None:
                if not isinstance(type_ref, str):
                    raise BadRequest("Invalid input received: volume_type must be a string.")
                type_row = self._volumes.types.find(unit, context, type_ref)
            else:
                type_row = self._volumes.types.default_row(unit, project_id)
            for check in self._volumes.type_checks:
                check(unit, type_row)
            self._volumes.quotas.check(
                unit, project_id, volumes=1, gigabytes=size_gb, volume_type_id=type_row.id
            )
            now = utcnow()
            row = VolumeRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id or "",
                name=name,
                description=description,
                size_gb=size_gb,
                status=AVAILABLE,
                attach_status=DETACHED,
                availability_zone=zone,
                volume_type_id=type_row.id,
                bootable=bootable,
                readonly=None,
                multiattach=is_multiattach(queries.extra_specs(unit, type_row.id)),
                source_volid=None,
                snapshot_id=None,
                image_id=None,
                metadata_items=metadata,
                image_metadata=None,
                path=disk.path,
                datastore=disk.datastore,
                provisioning=disk.provisioning.value,
                error_message=None,
                created_at=now,
                updated_at=now,
            )
            unit.add(row)
            unit.flush()
            return self._volumes.view(unit, row)

    # -- unmanage ------------------------------------------------------------------------------

    def unmanage(self, context: RequestContext, volume_id: str) -> None:
        """Forget the volume; its disk stays on the datastore (and lists as manageable).

        :raises NotFound: no such volume.
        :raises BadRequest: attached, in a transitional status, or with snapshots.
        """
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize("volume_extension:volume_unmanage", context, row.project_id)
            if row.status not in UNMANAGEABLE or row.attach_status != DETACHED:
                raise BadRequest(
                    f"Invalid volume: Volume {volume_id} status must be one of "
                    f"{', '.join(UNMANAGEABLE)} and detached to be unmanaged, but current "
                    f"status is: {row.status}."
                )
            if queries.snapshots(unit, None, volume_id):
                raise BadRequest(
                    f"Invalid volume: Volume {volume_id} has snapshots; delete or unmanage "
                    "them first."
                )
            unit.session.delete(row)

    # -- where ---------------------------------------------------------------------------------

    def where(self, host: Any, cluster: Any) -> str | None:
        """The pool (datastore) a `host@backend#pool` names, None for every pool of the host.

        :raises BadRequest: neither or both of host and cluster.
        :raises NotFound: another host or backend, or any cluster (this cloud has none).
        """
        if host is not None and cluster is not None:
            raise BadRequest("Invalid input received: give either host or cluster, not both.")
        if cluster is not None:
            raise NotFound(
                f"Cluster {cluster} could not be found: this cloud runs one volume service per "
                "vCenter, in no cluster."
            )
        if not isinstance(host, str) or not host:
            raise BadRequest("Missing required element 'host' or 'cluster' in request.")
        base, _, pool = host.partition("#")
        name, _, backend = base.partition("@")
        if name != self._host or backend not in ("", BACKEND):
            raise NotFound(f"Service host {host} could not be found.")
        return pool or None

    def disks(self, pool: str | None) -> list[DiskInfo]:
        driver = self._require()
        try:
            names = [pool] if pool else [d.name for d in driver.list_datastores()]
            return [disk for ds in names for disk in driver.list_disks(ds)]
        except NotFoundError:
            raise NotFound(f"Pool {pool} could not be found.") from None
        except DriverError as exc:
            raise ServiceUnavailable(f"vCenter did not answer: {exc}") from exc

    def find(self, pool: str | None, reference: str) -> DiskInfo:
        """The disk a reference names: a full datastore path, or a name in the volume folder
        (with or without `.vmdk`) of the pool, or of any pool when the host names none.
        A name `volume-<id>` also finds the disk `<id>` (Cinder's name for a volume's disk)."""
        wanted_pool = pool
        if reference.startswith("["):
            wanted_pool, relative = split_datastore_path(reference)
            if pool is not None and wanted_pool != pool:
                raise BadRequest(f"Invalid input received: disk {reference} is not on pool {pool}.")
            candidates = {reference}
        else:
            relative = reference
            candidates = set()
        file_name = relative.rpartition("/")[2]
        file_name = file_name if file_name.endswith(".vmdk") else f"{file_name}.vmdk"
        names = [file_name]
        if not candidates:
            names.extend(_alias(file_name))
        disks = self.disks(wanted_pool)
        for wanted in names:  # a disk of exactly that name first, then its alias
            for disk in disks:
                if disk.path in candidates or disk.path.endswith(f"] {VOLUME_FOLDER}/{wanted}"):
                    return disk
        raise BadRequest(
            f"Invalid input received: no disk {reference!r} in the volume folder "
            f"({VOLUME_FOLDER}/) of {wanted_pool or 'any datastore'}."
        )

    def _require(self) -> VolumeDriver:
        if self._driver is None:
            raise ServiceUnavailable("No vCenter is configured: there are no disks to manage.")
        return self._driver


def _alias(file_name: str) -> list[str]:
    """The name a `volume-<id>` reference also stands for: `<id>.vmdk`.

    Cinder's drivers name a volume's disk `volume-<id>` (its `volume_name_template`), so that
    is the name people and Tempest use to manage a volume's disk again after unmanaging it;
    this cloud names a volume's disk by the bare id (`work.build`). Only a well-formed id is
    stripped, so no other name gains a second meaning.
    """
    stem = file_name.removesuffix(".vmdk")
    if not stem.startswith(VOLUME_PREFIX):
        return []
    try:
        volume_id = str(uuid.UUID(stem.removeprefix(VOLUME_PREFIX)))
    except ValueError:
        return []
    return [f"{volume_id}.vmdk"]


def owners(unit: VolumeUnit) -> dict[str, str]:
    """Which volume or snapshot owns each disk path."""
    owners = {r.path: f"volume {r.id}" for r in queries.volumes(unit, None) if r.path}
    for snap in queries.snapshots(unit, None):
        if snap.path:
            owners[snap.path] = f"snapshot {snap.id}"
    return owners


def _manageable(disk: DiskInfo, owners: dict[str, str]) -> Manageable:
    owner = owners.get(disk.path)
    file_name = disk.path.rpartition("/")[2].removesuffix(".vmdk")
    return Manageable(
        name=file_name,
        path=disk.path,
        datastore=disk.datastore,
        size_gb=max(1, disk.capacity_gb),
        cinder_id=owner.split(" ", 1)[1] if owner and owner.startswith("volume ") else None,
        reason_not_safe=f"Already managed ({owner})." if owner else None,
    )
