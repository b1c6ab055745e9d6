"""Moving a volume's disk: a retype whose new type does not allow the current datastore (or
wants another `vmware:vmdk_type`), with `migration_policy: on-demand`, and the
administrator's `os-migrate_volume` to a named pool (`host@vmware#datastore`).

A detached disk is copied to its new place (`VolumeDriver.copy_disk`, converting the
provisioning; or `replace_disk` in place when only the provisioning changes), the volume row is
pointed at the copy, and only then is the old disk deleted: a failure at any step leaves the
volume on its old disk, back in its status with the reason, and no copy behind.

An attached (`in-use`) disk moves as Cinder moves one, through Nova's swap volume
(`migrate_attached.py`): a temporary volume gets a new disk on the target datastore, Nova copies
the data into it and puts it on the VM in the old disk's place, Cinder's
`migrate_volume_completion` points the volume (same id) at the new disk, and the old disk is
deleted. A multiattach volume attached to several servers is refused with a 400. Volumes with
snapshots are not moved either, as Cinder refuses (the snapshots are copies on the old
datastore that a move would leave behind).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, ServiceUnavailable, VistackError
from vistack.drivers.errors import DriverError
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import VolumeDriver, volume_path
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import placement, requests
from vistack.volume.domain.backend import BACKEND
from vistack.volume.domain.disk_jobs import fail_volume, failure_reason, undo_disk
from vistack.volume.domain.migrate_attached import AttachedMigration, ResumeSwap, SwapVolume
from vistack.volume.domain.migrate_recovery import InterruptedMoves
from vistack.volume.domain.models import AVAILABLE, IN_USE
from vistack.volume.domain.multiattach import is_multiattach
from vistack.volume.domain.types import DATASTORE_REGEX, provisioning_of
from vistack.volume.domain.volumes import VolumeService

LOG = logging.getLogger(__name__)

MOVE = "volume.move_disk"
RETYPING = "retyping"
#: Cinder's status of a volume locked for a migration (`lock_volume`); used for every one here.
MAINTENANCE = "maintenance"


class VolumeMigration:
    """Starts moves (from a retype or os-migrate_volume) and runs them on the bus."""

    def __init__(self, volumes: VolumeService, driver: VolumeDriver, host: str) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._driver = driver
        self._host = host
        self.attached = AttachedMigration(volumes.store, driver)

    def connect_nova(self, hook: SwapVolume | None, resume: ResumeSwap | None = None) -> None:
        """Nova's swap volume, which moves the disks of attached volumes, and its settling of
        a swap a restart interrupted (`app.py`)."""
        self.attached.connect_nova(hook, resume)

    def register(self, bus: WorkQueue) -> None:
        bus.register(MOVE, self.run)

    # -- requests --------------------------------------------------------------------------------

    def start_retype(
        self, unit: VolumeUnit, row: VolumeRow, type_id: str, specs: Mapping[str, str]
    ) -> dict[str, Any]:
        """Inside the retype's transaction: check the move is possible, mark the volume
        `retyping`; the job payload is returned for `submit` once the transaction commits.

        :raises BadRequest: attached to several servers, has snapshots, or no datastore the
            new type allows.
        """
        self._check_movable(unit, row, "retype")
        provisioning = provisioning_of(dict(specs))
        datastore = self._target_for(row, specs.get(DATASTORE_REGEX), provisioning)
        return {
            "volume_id": row.id,
            "datastore": datastore,
            "provisioning": provisioning.value,
            "type_id": type_id,
            "status": self._mark(row, RETYPING),
            "attached": row.status == IN_USE,
        }

    def _mark(self, row: VolumeRow, status: str) -> str:
        """Lock the volume for its move: `status` when detached; an attached one stays
        `in-use` and is `migrating` (Cinder's migration_status)."""
        if row.status == IN_USE:
            self.attached.start(row)
            return IN_USE
        row.status, row.error_message, row.updated_at = status, None, utcnow()
        return status

    def migrate(self, context: RequestContext, volume_id: str, body: Any) -> None:
        """`os-migrate_volume`: move the disk to the datastore the pool names."""
        args = body.get("os-migrate_volume") if isinstance(body, dict) else None
        if not isinstance(args, dict):
            raise BadRequest("Malformed request body: 'os-migrate_volume' must be an object.")
        host = args.get("host") or args.get("cluster")
        if not isinstance(host, str) or not host:
            raise BadRequest("Must specify 'host' (host@backend#pool) to migrate a volume to.")
        requests.boolean("force_host_copy", args.get("force_host_copy", False))
        requests.boolean("lock_volume", args.get("lock_volume", False))
        datastore = self._pool_of(host)
        bus = self._volumes.bus
        if bus is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be migrated.")
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id, lock=True)
            self._volumes.authorize(
                "volume_extension:volume_admin_actions:migrate_volume", context, row.project_id
            )
            self._check_movable(unit, row, "migrate")
            if row.datastore == datastore:
                raise BadRequest(
                    f"Invalid host: volume {row.id} is on {host} already; a migration needs "
                    "another pool."
                )
            specs = queries.extra_specs(unit, row.volume_type_id)
            names = [d.name for d in self._driver.list_datastores()]
            if datastore not in names or not placement.allows(
                datastore, self._volumes.settings.datastores, specs.get(DATASTORE_REGEX)
            ):
                raise BadRequest(
                    f"Invalid host: pool {datastore} is not a datastore this volume's type "
                    f"may use (pools: {', '.join(sorted(names))})."
                )
            payload = {
                "volume_id": row.id,
                "datastore": datastore,
                "provisioning": row.provisioning,
                "type_id": None,
                "status": self._mark(row, MAINTENANCE),
                "attached": row.status == IN_USE,
            }
        self.submit(payload)

    def submit(self, payload: dict[str, Any]) -> None:
        bus = self._volumes.bus
        if bus is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be moved.")
        try:
            bus.submit(MOVE, payload)
        except BaseException:
            if payload.get("attached"):
                reason = "The move of the disk could not be queued."
                self.attached.abandon(str(payload["volume_id"]), reason)
                raise
            fail_volume(
                self._store,
                str(payload["volume_id"]),
                str(payload["status"]),
                AVAILABLE,
                "The move of the disk could not be queued.",
            )
            raise

    def _check_movable(self, unit: VolumeUnit, row: VolumeRow, what: str) -> None:
        if row.status == IN_USE and row.path is not None:
            self.attached.check(unit, row, what)
        elif row.status != AVAILABLE or row.path is None:
            raise BadRequest(
                f"Invalid volume: Volume {row.id} must be available or in-use to {what} it "
                f"with its disk moved, but it is {row.status}."
            )
        if queries.snapshots(unit, None, row.id):
            raise BadRequest(
                f"Invalid volume: Volume {row.id} must not have snapshots to {what} it with "
                "its disk moved; delete them first."
            )

    def _target_for(self, row: VolumeRow, regex: str | None, provisioning: Provisioning) -> str:
        """The current datastore if the new rules allow it (a change of provisioning only),
        else the allowed datastore with the most room."""
        configured = self._volumes.settings.datastores
        if row.datastore and placement.allows(row.datastore, configured, regex):
            return row.datastore
        try:
            chosen = placement.choose(
                self._driver.list_datastores(), row.size_gb, configured=configured, regex=regex
            )
        except placement.NoValidDatastore as exc:
            raise BadRequest(f"Invalid input received: {exc.message}") from None
        except DriverError as exc:
            raise ServiceUnavailable(f"The datastores could not be listed: {exc}") from exc
        return chosen.name

    def _pool_of(self, host: str) -> str:
        base, _, pool = host.partition("#")
        name, _, backend = base.partition("@")
        if not pool or backend != BACKEND or name != self._host:
            raise BadRequest(
                f"Invalid host: {host!r} is not a pool of this cloud; use "
                f"{self._host}@{BACKEND}#<datastore> (see scheduler-stats/get_pools)."
            )
        return pool

    # -- the job ---------------------------------------------------------------------------------

    def run(self, payload: Mapping[str, Any]) -> None:
        type_id = payload.get("type_id")
        if payload.get("attached"):
            self.attached.move(
                str(payload["volume_id"]),
                str(payload["datastore"]),
                Provisioning(str(payload["provisioning"])),
                str(type_id) if type_id else None,
            )
            return
        self.move(
            str(payload["volume_id"]),
            str(payload["datastore"]),
            Provisioning(str(payload["provisioning"])),
            str(type_id) if type_id else None,
            str(payload["status"]),
        )

    def move(
        self,
        volume_id: str,
        datastore: str,
        provisioning: Provisioning,
        type_id: str | None,
        status: str,
    ) -> None:
        """Copy, repoint, delete the old disk; `type_id` is the retype's new type."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != status or row.path is None:
                return
            old_path, old_datastore = row.path, row.datastore
        new_path: str | None = None
        try:
            if datastore == old_datastore:
                self._driver.replace_disk(old_path, old_path, provisioning)
            else:
                new_path = self._driver.copy_disk(old_path, datastore, volume_id, provisioning).path
        except (DriverError, VistackError) as exc:
            undo_disk(self._driver, new_path, "move")
            what = "Retype" if type_id else "Migration"
            fail_volume(
                self._store, volume_id, status, AVAILABLE, f"{what} failed: {failure_reason(exc)}"
            )
            LOG.warning("volume %s failed to move to %s: %s", volume_id, datastore, exc)
            return
        values: dict[str, Any] = {"status": AVAILABLE, "provisioning": provisioning.value}
        if new_path is not None:
            values.update(path=new_path, datastore=datastore)
        with self._store.transaction() as unit:
            if type_id is not None:
                values["volume_type_id"] = type_id
                values["multiattach"] = is_multiattach(queries.extra_specs(unit, type_id))
            done = queries.set_volume_status(
                unit, volume_id, [status], error_message=None, updated_at=utcnow(), **values
            )
        if new_path is None:
            return
        # The row names one disk only: the other one goes (the old one, or the copy when the
        # volume was deleted or reset meanwhile).
        undo_disk(self._driver, old_path if done else new_path, "move")

    def recover(self) -> None:
        """After a restart: the volume still names its old disk (the row changes last), so it
        goes back to `available` with the reason; a copy a move may have made is removed.
        Attached moves are undone or finished by what the VM holds (`migrate_recovery.py`)."""
        InterruptedMoves(self._store, self._driver, self.attached.resume).settle()
        with self._store.transaction() as unit:
            stuck = [
                (v.id, v.status, v.datastore)
                for v in queries.volumes(unit, None)
                if v.status in (RETYPING, MAINTENANCE)
            ]
        reason = "Interrupted by a restart of the volume service; try the move again."
        for volume_id, status, current in stuck:
            fail_volume(self._store, volume_id, status, AVAILABLE, reason)
            try:
                for datastore in self._driver.list_datastores():
                    copy = volume_path(datastore.name, volume_id)
                    if datastore.name != current and self._driver.disk_exists(copy):
                        undo_disk(self._driver, copy, "move")
            except DriverError:
                LOG.exception("could not look for a copy of volume %s", volume_id)
