"""Nova's side of a swap volume that a restart interrupted (`volume_swap.py`), settled when the
block storage service starts and finds the migration it was part of (Cinder's
`migrate_recovery.py`).

The VM's disk backings are the truth: the vSphere reconfiguration that puts the new disk in
the old one's place is the swap's one step that cannot be rolled back by forgetting it, and
Nova's mapping changes only after Cinder's completion. So: a VM holding the new disk has
been swapped, and the rest of the swap is done now (the temporary volume's attachment
completed at the old device, the volume's old attachment removed, Cinder's completion, the
mapping on the new disk and attachment); a VM without it was not, and what the swap began is
undone (the temporary volume's attachment dropped, the volume's attached again). A copy the
restart cut short leaves a VM snapshot and a partial file on vSphere: the compute driver
removes them first (`clean_swap`). Either way the `swap_volume` instance action left open is
closed with its result.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from vistack.common.clock import utcnow
from vistack.compute.db import action_events as event_queries
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.block_devices import BlockDevice
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.volume_port import VolumePort
from vistack.compute.domain.work import service_context
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import NotFoundError

LOG = logging.getLogger(__name__)

ACTION = "swap_volume"


def resume_swap(
    store: ComputeStore,
    port: VolumePort,
    drivers: Drivers,
    work: ServerWork | None,
    server_id: str,
    volume_id: str,
    temp_id: str,
    new_path: str,
) -> bool:
    """Settle the swap of `volume_id` for `temp_id` (whose disk is `new_path`) on the
    server: True when its VM holds `new_path` (the swap is then finished on both sides),
    False when not (what it began is undone).

    :raises DriverError: vCenter cannot tell what the VM holds (nothing is changed).
    """
    with _server_lock(work, server_id):
        try:
            # A copy cut short left a VM snapshot (its delta is what the VM runs on) and a
            # partial file: both go first, so the backings read next are the disks themselves.
            drivers.compute.clean_swap(server_id, new_path)
            on_vm = {d.path for d in drivers.compute.get_vm(server_id).disks}
        except NotFoundError:
            on_vm = set()  # no VM: nothing holds the new disk
        found = port.attachments_of(server_id)
        temp = [a for a in found if a.volume_id == temp_id]
        own = [a for a in found if a.volume_id == volume_id]
        with store.transaction() as unit:
            mapping = bdm_queries.of_volume(unit, server_id, volume_id) or bdm_queries.of_volume(
                unit, server_id, temp_id
            )
        if new_path not in on_vm:
            for attachment in temp:
                port.unreserve(attachment.id)
            for attachment in own:
                port.roll_back_detach(attachment.id)
            if not own and mapping is not None:
                _attach_again(store, port, server_id, volume_id, mapping)
            _close_action(store, server_id, "Error")
            LOG.warning("swap of volume %s on %s undone after a restart", volume_id, server_id)
            return False
        kept = volume_id
        if temp:  # Cinder's completion not reached: the rest of the swap, in its order
            device = mapping.device_name if mapping is not None else None
            for attachment in temp:
                port.complete_attach(attachment.id, device or "")
            for attachment in own:
                port.complete_detach(attachment.id)
            kept = port.migrate_volume_completion(volume_id, temp_id, error=False)
        now = [a for a in port.attachments_of(server_id) if a.volume_id == kept]
        if mapping is not None and now:
            with store.transaction() as unit:
                bdm_queries.set_fields(
                    unit, mapping.uuid, volume_id=kept, attachment_id=now[0].id, path=new_path
                )
        _close_action(store, server_id, "Success")
        LOG.warning("swap of volume %s on %s finished after a restart", volume_id, server_id)
        return True


def _attach_again(
    store: ComputeStore, port: VolumePort, server_id: str, volume_id: str, mapping: BlockDevice
) -> None:
    """The swap's undo was itself cut short after the volume's attachment was removed (the VM
    got its old disk back): the volume is attached to the server again, as the mapping says."""
    with store.transaction() as unit:
        row = queries.get(unit, server_id)
        project_id = row.project_id if row is not None else None
    if project_id is None:
        return
    again = port.reserve(service_context(project_id), volume_id, server_id)
    port.complete_attach(again.id, mapping.device_name or "")
    with store.transaction() as unit:
        bdm_queries.set_fields(unit, mapping.uuid, volume_id=volume_id, attachment_id=again.id)


@contextlib.contextmanager
def _server_lock(work: ServerWork | None, server_id: str) -> Iterator[None]:
    if work is None:
        yield
        return
    with work.locks.of(server_id):
        yield


def _close_action(store: ComputeStore, server_id: str, result: str) -> None:
    """The `swap_volume` instance actions the restart left open, and their open events, get
    their result."""
    now = utcnow()
    details = "Settled after a restart of the service interrupted the swap."
    with store.transaction() as unit:
        for action in queries.actions(unit, server_id):
            if action.action != ACTION or action.finish_time is not None:
                continue
            for event in event_queries.events_of(unit, action.id):
                if event.finish_time is None:
                    event_queries.finish_event(
                        unit, event.id, result=result, at=now, traceback=None, details=details
                    )
            queries.finish_action(unit, server_id, action.request_id, result)
