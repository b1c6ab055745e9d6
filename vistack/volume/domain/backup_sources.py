"""A volume made from a backup (3.47, `backup_id` in a volume create): the checks when the
create is asked, and the claim on the backup taken with the volume's row.

The volume is recorded `creating` like any other; instead of a build, the restore job
(`backup_jobs.BackupWork.restore`) makes its blank disk and writes the backup onto it, holding
the backup in `restoring` meanwhile.
"""

from __future__ import annotations

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.volume.db import backup_queries, queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.domain.backup_models import AVAILABLE, RESTORING
from vistack.volume.domain.sources import Source


def backup_source(
    unit: VolumeUnit, policy: PolicyEngine, context: RequestContext, backup_id: str
) -> Source:
    """What a volume made from `backup_id` inherits: its size and its volume's type.

    :raises NotFound: no such backup, or another project's.
    :raises BadRequest: the backup is not available.
    """
    row = backup_queries.backup(unit, backup_id)
    if row is None or not policy.check("backup:get", context, {"project_id": row.project_id}):
        raise NotFound(f"Backup {backup_id} could not be found.")
    if row.status != AVAILABLE:
        raise BadRequest(
            f"Invalid backup: Backup status must be available, but it is {row.status}."
        )
    origin = queries.volume(unit, row.volume_id)
    return Source(
        size_gb=row.size_gb,
        volume_type_id=origin.volume_type_id if origin is not None else None,
        backup_id=row.id,
    )


def claim(unit: VolumeUnit, backup_id: str, volume_id: str) -> None:
    """Take an available backup for a restore onto `volume_id` (a conditional write).

    :raises BadRequest: it is no longer available.
    """
    if not backup_queries.set_backup_status(
        unit,
        backup_id,
        [AVAILABLE],
        status=RESTORING,
        restore_volume_id=volume_id,
        updated_at=utcnow(),
    ):
        raise BadRequest("Invalid backup: Backup status must be available.")
