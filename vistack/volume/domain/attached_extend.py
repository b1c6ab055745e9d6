"""The vCenter side of extending an in-use volume (microversion 3.42).

An attached disk cannot be grown with the VirtualDiskManager (vCenter refuses a disk a VM
holds); the VM that holds it grows it, a `ReconfigVM_Task` edit of the disk's capacity
(`ComputeDriver.grow_disk`, the code a resize uses for root disks). The guest sees the larger
disk at once. Nova is then told, as Cinder tells it with the `volume-extended` external event
(Nova records the `extend_volume` instance action): through the hook `connect_nova` sets, the
composition root's link to Nova in this process. The request side is `VolumeActions.extend`,
which records the new size and hands the attachment's server here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.drivers.compute import ComputeDriver
from vistack.drivers.errors import DriverError
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain.disk_jobs import fail_volume, failure_reason
from vistack.volume.domain.models import ERROR_EXTENDING, EXTENDING, IN_USE

LOG = logging.getLogger(__name__)

EXTEND_ATTACHED = "volume.extend_attached"

#: Nova's side of Cinder's `volume-extended` event: (server id, volume id) -> accepted.
VolumeExtended = Callable[[str, str], bool]


class AttachedExtend:
    """Grows the disk of an `extending` in-use volume on the VM it is attached to."""

    def __init__(self, store: VolumeStore, compute: ComputeDriver) -> None:
        self._store = store
        self._compute = compute
        self._tell_nova: VolumeExtended | None = None

    def connect_nova(self, hook: VolumeExtended | None) -> None:
        """Tell Nova of each extended attachment through `hook(server_id, volume_id)` (None:
        no compute service in this process to tell)."""
        self._tell_nova = hook

    def register(self, bus: WorkQueue) -> None:
        bus.register(EXTEND_ATTACHED, self.run)

    def run(self, payload: Mapping[str, Any]) -> None:
        self.extend(
            str(payload["volume_id"]),
            str(payload["server_id"]),
            int(payload["old_size"]),
            int(payload["new_size"]),
        )

    def extend(self, volume_id: str, server_id: str, old_size: int, new_size: int) -> None:
        """On failure the volume keeps its old size and is `error_extending`, as Cinder's."""
        with self._store.transaction() as unit:
            row = queries.volume(unit, volume_id)
            if row is None or row.status != EXTENDING or row.path is None:
                return
            path = row.path
        try:
            self._compute.grow_disk(server_id, path, new_size)
        except DriverError as exc:
            fail_volume(
                self._store,
                volume_id,
                EXTENDING,
                ERROR_EXTENDING,
                f"Extend of the attached disk failed: {failure_reason(exc)}",
                size_gb=old_size,
            )
            LOG.warning("in-use volume %s failed to extend: %s", volume_id, exc)
            return
        self._notify(server_id, volume_id)
        with self._store.transaction() as unit:
            queries.set_volume_status(
                unit, volume_id, [EXTENDING], status=IN_USE, updated_at=utcnow()
            )

    def _notify(self, server_id: str, volume_id: str) -> None:
        """Send the event before the volume is back `in-use`, as Cinder does; the disk has
        grown whatever Nova answers, so a refusal or failure is logged, not the extend's."""
        if self._tell_nova is None:
            return
        try:
            accepted = self._tell_nova(server_id, volume_id)
        except Exception:
            LOG.exception("Nova could not be told that volume %s grew", volume_id)
            return
        if not accepted:
            LOG.warning(
                "Nova did not accept volume-extended for server %s (volume %s)",
                server_id,
                volume_id,
            )
