"""Moving the disk of an attached (`in-use`) volume: Cinder's generic migration through Nova's
swap volume, for a retype with `migration_policy: on-demand` or `os-migrate_volume`.

As Cinder: the volume is marked `migrating` (its status stays `in-use`), a temporary volume
is made on the target datastore with a new empty disk (`target:<id>`, hidden from listings),
and Nova is asked to swap the server onto it (`VolumeSwap.swap_for_migration`, in this
process). Nova copies the data into the new disk and puts it on the VM in the old disk's place,
then calls back `migrate_volume_completion` (`complete_migration` here): the volume keeps
its id and now names the new disk (its path, datastore, provisioning and, for a retype, its
type), the temporary volume's attachment becomes the volume's, and the temporary record goes.
The old disk, off the VM, is deleted last. The new disk is named after the volume when it lands on
another datastore (so its path is the volume's usual one there), after the temporary volume
on the same one.

Any failure before the completion leaves the VM on the old disk (Nova rolls its side back),
the volume `in-use` on its old disk with `migration_status` `error` and the reason in
`error_message`, and no temporary volume or disk behind. Only a volume with one attachment
moves: a multiattach volume on several servers is refused with a 400 (its other VMs would
keep the old disk).

Every step leaves a trace a restart can settle from (`migrate_recovery.py`): the temporary
row exists before its disk is made, the disk's name is known before its path is recorded, and
after the completion the temporary row, `deleting`, names the old disk until that is deleted
(as Cinder deletes the temporary volume, which then holds the old backend volume).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from vistack.common.clock import utcnow
from vistack.common.errors import BadRequest
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import Provisioning
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import attachments
from vistack.volume.domain.disk_jobs import failure_reason, undo_disk
from vistack.volume.domain.models import AVAILABLE, DELETING, IN_USE
from vistack.volume.domain.multiattach import is_multiattach

LOG = logging.getLogger(__name__)

MIGRATING = "migrating"
SUCCESS = "success"
ERROR = "error"
TARGET = "target:"

#: Nova's swap of a server's volume for the migration's temporary one:
#: (server id, volume id, temporary volume id); raises when Nova refused or failed.
SwapVolume = Callable[[str, str, str], None]
#: Nova settling a swap a restart interrupted: (server id, volume id, temporary volume id,
#: the temporary volume's disk). True when the server's VM holds that disk (Nova then
#: finished its side: attachments, Cinder's completion, its mapping); False when it does not
#: (Nova undid what it began: the volume's attachment attached again, the temporary one's
#: dropped). Raises when it cannot tell.
ResumeSwap = Callable[[str, str, str, str], bool]


def is_target(row: VolumeRow) -> bool:
    """A migration's temporary volume (hidden from listings and quotas, as Cinder's)."""
    return (row.migration_status or "").startswith(TARGET)


class AttachedMigration:
    """The in-use half of `VolumeMigration`: checks, the job, and Cinder's completion."""

    def __init__(self, store: VolumeStore, driver: VolumeDriver) -> None:
        self._store = store
        self._driver = driver
        self._swap: SwapVolume | None = None
        self.resume: ResumeSwap | None = None

    def connect_nova(self, hook: SwapVolume | None, resume: ResumeSwap | None = None) -> None:
        """Swap servers' volumes through `hook`, and settle interrupted swaps through `resume`
        at start-up (None: no compute service in this process)."""
        self._swap, self.resume = hook, resume

    # -- requests --------------------------------------------------------------------------------

    def check(self, unit: VolumeUnit, row: VolumeRow, what: str) -> None:
        """Inside the request's transaction: can this in-use volume be moved?

        :raises BadRequest: several attachments, an attachment not complete, a move going, or
            no compute service here to swap the disk.
        """
        if row.migration_status == MIGRATING:
            raise BadRequest(f"Invalid volume: Volume {row.id} is being migrated already.")
        found = queries.attachments_of_volume(unit, row.id)
        if len(found) > 1:
            raise BadRequest(
                f"Invalid volume: Volume {row.id} is attached to {len(found)} servers; a "
                f"multiattach volume can only {what} with its disk moved while it has one "
                "attachment (the other servers would keep the old disk). Detach it from the "
                "others first."
            )
        if (
            not found
            or found[0].attach_status != attachments.ATT_ATTACHED
            or not (found[0].server_id)
        ):
            raise BadRequest(
                f"Invalid volume: Volume {row.id} must be attached to a server to {what} it "
                "in-use with its disk moved."
            )
        if self._swap is None:
            raise BadRequest(
                f"Invalid volume: Volume {row.id} is in-use and no compute service runs here "
                f"to swap its disk; detach it first to {what} it with its disk moved."
            )

    @staticmethod
    def start(row: VolumeRow) -> None:
        """Mark the volume `migrating` (its status stays `in-use`)."""
        row.migration_status, row.error_message, row.updated_at = MIGRATING, None, utcnow()

    def abandon(self, volume_id: str, reason: str) -> None:
        abandon(self._store, volume_id, reason)

    # -- the job ---------------------------------------------------------------------------------

    def move(
        self, volume_id: str, datastore: str, provisioning: Provisioning, type_id: str | None
    ) -> None:
        """Make the temporary volume and its disk, have Nova swap, delete the old disk."""
        what = "Retype" if type_id else "Migration"
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id, lock=True)
            if row is None or row.migration_status != MIGRATING or row.path is None:
                return
            found = queries.attachments_of_volume(unit, row.id)
            server_id = found[0].server_id if len(found) == 1 else None
            temp_id = self._temporary(unit, row, datastore, provisioning, type_id).id
            old_path, old_datastore, size_gb = row.path, row.datastore, row.size_gb
        if server_id is None or self._swap is None:
            self._drop(temp_id, None)
            self.abandon(
                volume_id, f"{what} failed: the volume is no longer attached to one server."
            )
            return
        name = volume_id if datastore != old_datastore else temp_id
        new_path: str | None = None
        try:
            new_path = self._driver.create_disk(datastore, name, size_gb, provisioning).path
            with self._store.transaction() as unit:
                queries.set_volume_status(
                    unit, temp_id, ["creating"], status=AVAILABLE, path=new_path
                )
            self._swap(server_id, volume_id, temp_id)
        except Exception as exc:  # whatever Nova or vSphere raised: undo, and say why
            self._drop(temp_id, new_path)
            self.abandon(volume_id, f"{what} failed: {failure_reason(exc)}")
            LOG.warning("in-use volume %s failed to move to %s: %s", volume_id, datastore, exc)
            return
        with self._store.transaction() as unit:
            moved = queries.volume(unit, volume_id)
            done = moved is not None and moved.path == new_path
        if not done:  # Nova finished without Cinder's completion: keep both disks, say so
            LOG.error(
                "volume %s: the swap onto %s did not complete the migration", volume_id, temp_id
            )
            return
        delete_old_disk(self._store, self._driver, temp_id, old_path)

    def _temporary(
        self,
        unit: VolumeUnit,
        row: VolumeRow,
        datastore: str,
        provisioning: Provisioning,
        type_id: str | None,
    ) -> VolumeRow:
        type_of = type_id or row.volume_type_id
        multiattach = is_multiattach(queries.extra_specs(unit, type_id)) if type_id else None
        temp = VolumeRow(
            id=str(uuid.uuid4()),
            project_id=row.project_id,
            user_id=row.user_id,
            name=f"migration target of {row.id}",
            description=None,
            size_gb=row.size_gb,
            status="creating",
            attach_status="detached",
            availability_zone=row.availability_zone,
            volume_type_id=type_of,
            bootable=row.bootable,
            readonly=row.readonly,
            multiattach=row.multiattach if multiattach is None else multiattach,
            metadata_items={},
            image_metadata=None,
            path=None,
            datastore=datastore,
            provisioning=provisioning.value,
            created_at=utcnow(),
            migration_status=f"{TARGET}{row.id}",
        )
        unit.add(temp)
        unit.flush()
        return temp

    def _drop(self, temp_id: str, path: str | None) -> None:
        drop_temporary(self._store, self._driver, temp_id, path)


def abandon(store: VolumeStore, volume_id: str, reason: str) -> None:
    """The move ends before the swap: the volume is `error` in migration, still in-use."""
    with store.transaction() as unit:
        row = queries.volume(unit, volume_id, lock=True)
        if row is not None and row.migration_status == MIGRATING:
            row.migration_status, row.error_message = ERROR, reason
            row.updated_at = utcnow()


def drop_temporary(
    store: VolumeStore, driver: VolumeDriver, temp_id: str, path: str | None
) -> None:
    """The temporary volume's attachments go, then its disk, then its row (last, so that a
    restart in between still finds the disk through it)."""
    with store.transaction() as unit:
        temp = queries.volume(unit, temp_id, lock=True)
        if temp is not None:
            for attachment in queries.attachments_of_volume(unit, temp_id):
                unit.delete(attachment)
    undo_disk(driver, path, "move")
    with store.transaction() as unit:
        temp = queries.volume(unit, temp_id, lock=True)
        if temp is not None and is_target(temp):
            unit.delete(temp)


def delete_old_disk(store: VolumeStore, driver: VolumeDriver, temp_id: str, path: str) -> bool:
    """After the completion: delete the old disk, which the temporary row (`deleting`) names,
    then that row. A disk vSphere will not delete keeps its row (a restart tries again, and
    nothing is left unrecorded); False then."""
    try:
        driver.delete_disk(path)
    except NotFoundError:
        pass
    except DriverError:
        LOG.exception("could not delete the old disk %s of a moved volume", path)
        return False
    with store.transaction() as unit:
        temp = queries.volume(unit, temp_id, lock=True)
        if temp is not None and is_target(temp) and temp.status == DELETING:
            unit.delete(temp)
    return True


def complete_migration(
    store: VolumeStore, old_volume_id: str, new_volume_id: str, *, error: bool
) -> str:
    """The volume takes the temporary volume's disk and attachment; the temporary record
    goes. Returns the id Nova's mapping names from now on."""
    with store.transaction() as unit:
        volume = queries.volume(unit, old_volume_id, lock=True)
        temp = queries.volume(unit, new_volume_id, lock=True)
        ours = (
            volume is not None
            and temp is not None
            and volume.migration_status == MIGRATING
            and temp.migration_status == f"{TARGET}{old_volume_id}"
        )
        if not ours or volume is None or temp is None:
            return new_volume_id  # a swap that is no migration: nothing of Cinder's to do
        if error:
            return old_volume_id
        old_path, old_datastore = volume.path, volume.datastore
        volume.path, volume.datastore = temp.path, temp.datastore
        volume.provisioning = temp.provisioning
        volume.volume_type_id, volume.multiattach = temp.volume_type_id, temp.multiattach
        for attachment in queries.attachments_of_volume(unit, temp.id):
            attachment.volume_id = volume.id
        # The temporary row now names the old disk, `deleting` until the job (or a restart's
        # recovery) deletes that disk, then the row: the old disk is never unrecorded.
        temp.path, temp.datastore = old_path, old_datastore
        temp.status, temp.attach_status, temp.updated_at = DELETING, "detached", utcnow()
        unit.flush()
        volume.migration_status, volume.error_message = SUCCESS, None
        attachments.settle(unit, volume)
        if volume.status != IN_USE:
            LOG.warning("volume %s is %s after its migration", volume.id, volume.status)
        return old_volume_id
