"""What every job that makes or rewrites a volume's disk does when it fails.

Creates, extends and re-images all end a failed run the same way, so that Cinder's rule
holds everywhere: the volume goes to its error status with the reason in `error_message`
(a conditional write, so a volume deleted meanwhile is not brought back), and a disk the run
made is deleted again, so nothing is left half-made.
"""

from __future__ import annotations

import logging

from vistack.common.clock import utcnow
from vistack.common.errors import VistackError
from vistack.drivers.errors import DriverError, NoCapacityError, NotFoundError
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain import messages

LOG = logging.getLogger(__name__)


def fail_volume(
    store: VolumeStore,
    volume_id: str,
    expected: str,
    status: str,
    message: str,
    event: messages.Event | None = None,
    **values: object,
) -> None:
    """Move the volume from `expected` to the error `status` with `message` (and `values`,
    such as the size an extend keeps); a volume no longer in `expected` is left alone. With
    `event`, the project is told in a user message (`messages.py`), in the same transaction."""
    with store.transaction() as unit:
        changed = queries.set_volume_status(
            unit,
            volume_id,
            [expected],
            status=status,
            error_message=message,
            updated_at=utcnow(),
            **values,
        )
        row = queries.volume(unit, volume_id) if changed and event is not None else None
        if row is not None and event is not None:
            messages.record(unit, event, project_id=row.project_id, resource_uuid=volume_id)


def fail_snapshot(
    store: VolumeStore,
    snapshot_id: str,
    expected: str,
    status: str,
    message: str,
    event: messages.Event | None = None,
) -> None:
    """`fail_volume` for a snapshot: from `expected` to the error `status` with `message`."""
    with store.transaction() as unit:
        changed = queries.set_snapshot_status(
            unit,
            snapshot_id,
            [expected],
            status=status,
            error_message=message,
            updated_at=utcnow(),
        )
        row = queries.snapshot(unit, snapshot_id) if changed and event is not None else None
        if row is not None and event is not None:
            messages.record(unit, event, project_id=row.project_id, resource_uuid=snapshot_id)


def undo_disk(driver: VolumeDriver, path: str | None, what: str) -> None:
    """Delete the disk at `path` that a failed `what` made (none, or gone already: nothing
    to do). A disk that cannot be deleted is logged, not raised: the job's own failure is
    what gets recorded."""
    if path is None:
        return
    try:
        driver.delete_disk(path)
    except NotFoundError:
        pass
    except DriverError:
        LOG.exception("could not remove the disk %s of a failed %s", path, what)


def failure_reason(exc: BaseException) -> str:
    """The `error_message` for a failed job: Cinder's wording when no datastore had room,
    else what the error says."""
    if isinstance(exc, NoCapacityError):
        return f"No valid backend was found: {exc}"
    if isinstance(exc, VistackError):
        return exc.message
    return str(exc) or type(exc).__name__
