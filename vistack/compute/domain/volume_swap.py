"""Nova's swap volume: the server's disk at a volume's place gets another volume's disk,
holding the first one's data (`PUT /servers/{id}/os-volume_attachments/{volume_id}` with
another `volumeId`).

As upstream Nova since OSSN-0094 (bug 2112187), a swap is only a step of a migration the
block storage service drives (a retype with `migration_policy: on-demand`, or
`os-migrate_volume`, of an attached volume): the old volume must be `migrating` and the new
one its `target:<old id>`, or the PUT is refused with a 409. Cinder in this process calls
`swap_for_migration` directly, as Cinder calls this API upstream.

The swap follows Nova's compute manager: the old volume's attachment starts detaching, the new
volume is reserved for the server, the vSphere driver copies the old disk's data into the new
one and puts it at the old disk's controller and unit in one `ReconfigVM_Task` (the old file
kept), both attachments complete (the new one with the old device name), then Cinder's
`migrate_volume_completion` says which volume id the server's mapping names from now on
(the migrated volume's own id, now on the new disk). A failure before the disks changed
unreserves the new volume and rolls the old one back to `in-use`: the VM keeps its disk and no
attachment is left behind. It runs under the server's job lock as the instance action
`swap_volume`.
"""

from __future__ import annotations

import logging

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, VistackError
from vistack.common.policy import PolicyEngine
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.access import visible_row
from vistack.compute.domain.block_devices import BlockDevice
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import NO_BACKEND, server_not_found, state_conflict
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import AttachmentFacts, VolumeFacts, VolumePort
from vistack.compute.domain.volume_swap_resume import resume_swap
from vistack.compute.domain.work import service_context
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import DriverError

LOG = logging.getLogger(__name__)

RULE = "os_compute_api:os-volumes-attachments:swap"
ACTION = "swap_volume"
#: Nova's `swap_volume` states (`check_instance_state`), with no task in progress.
SWAP_STATES = (states.ACTIVE, states.PAUSED, states.RESIZED)
NOT_ATTACHED = "The volume was either invalid or not attached to the instance."
DIRECT_SWAP = (
    "Swapping volume {old} of server {server} directly is not supported: updating volumeId is "
    "only a step of a volume migration that the block storage service drives. Use os-retype "
    "with migration_policy on-demand, or os-migrate_volume, on volume {old} instead."
)
MULTIATTACH_SWAP = (
    "Swapping multi-attach volumes with more than one read/write attachment is not supported."
)


def still_in(store: ComputeStore, server_id: str, allowed: tuple[str, ...], action: str) -> Server:
    """The server, read again under its job lock: still there (404) and still in one of the
    `allowed` states with no task (409 for `action`), as when its request was checked."""
    with store.transaction() as unit:
        row = queries.get(unit, server_id)
        if row is None:
            raise server_not_found(server_id)
        if row.vm_state not in allowed or row.task_state is not None:
            raise state_conflict(row, action)
        return queries.to_server(row)


class VolumeSwapFailed(VistackError):
    """vSphere refused the swap (500): the server keeps its old volume."""


class VolumeSwap:
    """The swap of one of a server's volumes for another one."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        link: VolumeLink,
        drivers: Drivers | None,
        work: ServerWork | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._link = link
        self._drivers = drivers
        self._work = work

    def swap_request(
        self, context: RequestContext, server_id: str, old_volume_id: str, new_volume_id: str
    ) -> BlockDevice:
        """The PUT: Nova's checks in Nova's order (404 server, 403, 404 not attached or old
        volume unknown, 400 new volume unknown, 409 not a migration's swap), then the swap."""
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id)
            self._policy.authorize(RULE, context, {"project_id": row.project_id})
            if bdm_queries.of_volume(unit, server_id, old_volume_id) is None:
                raise NotFound(NOT_ATTACHED)
        port = self._link.require()
        try:
            old = port.show(context, old_volume_id)
        except NotFound:
            raise NotFound(f"Volume {old_volume_id} could not be found.") from None
        try:
            new = port.show(context, new_volume_id)
        except NotFound:
            raise BadRequest(f"Volume {new_volume_id} could not be found.") from None
        if not _migration_pair(old, new):
            raise Conflict(DIRECT_SWAP.format(old=old_volume_id, server=server_id))
        return self._swap(context, server_id, old, new)

    def swap_for_migration(self, server_id: str, old_volume_id: str, new_volume_id: str) -> None:
        """Cinder's call while it migrates an attached volume (in this process; upstream it is
        the same PUT with Cinder's service token). Raises what the PUT would."""
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            project_id = row.project_id
        context = service_context(project_id)
        port = self._link.require()
        old = port.show(context, old_volume_id)
        new = port.show(context, new_volume_id)
        if not _migration_pair(old, new):
            raise Conflict(DIRECT_SWAP.format(old=old_volume_id, server=server_id))
        self._swap(context, server_id, old, new)

    def resume_for_migration(
        self, server_id: str, old_volume_id: str, new_volume_id: str, new_path: str
    ) -> bool:
        """Cinder's call at start-up for a migration a restart interrupted: settle the swap by
        what the server's VM holds (`volume_swap_resume.py`); True when it holds `new_path`.

        :raises Conflict: no vCenter here to ask.
        """
        if self._drivers is None:
            raise Conflict(NO_BACKEND)
        return resume_swap(
            self._store,
            self._link.require(),
            self._drivers,
            self._work,
            server_id,
            old_volume_id,
            new_volume_id,
            new_path,
        )

    # ------------------------------------------------------------------ the swap

    def _swap(
        self, context: RequestContext, server_id: str, old: VolumeFacts, new: VolumeFacts
    ) -> BlockDevice:
        work, port = self._check(context, server_id)
        if len(old.server_ids) > 1:
            raise BadRequest(MULTIATTACH_SWAP)
        if new.status != "available" or new.server_ids:
            raise BadRequest("Invalid volume: New volume must be detached in order to swap.")
        if new.size_gb < old.size_gb:
            raise BadRequest("Invalid volume: New volume must be the same size or larger.")
        with work.locks.of(server_id):
            server = self._still_there(server_id)
            with self._store.transaction() as unit:
                queries.start_action(
                    unit,
                    server.id,
                    ACTION,
                    request_id=context.request_id,
                    user_id=context.user_id,
                    project_id=context.project_id,
                )
            result = "Error"
            try:
                with work.events.record(
                    server.id, context.request_id, f"compute_{ACTION}", host=server.cluster
                ):
                    mapping = self._swap_disks(context, server, port, old.id, new.id)
                result = "Success"
            finally:
                with self._store.transaction() as unit:
                    queries.finish_action(unit, server.id, context.request_id, result)
        return mapping

    def _check(self, context: RequestContext, server_id: str) -> tuple[ServerWork, VolumePort]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            if row.locked and "admin" not in context.roles and not context.is_system_admin:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in SWAP_STATES or row.task_state is not None:
                raise state_conflict(row, ACTION)
        if self._work is None or self._drivers is None:
            raise Conflict(NO_BACKEND)
        return self._work, self._link.require()

    def _still_there(self, server_id: str) -> Server:
        return still_in(self._store, server_id, SWAP_STATES, ACTION)

    def _swap_disks(
        self,
        context: RequestContext,
        server: Server,
        port: VolumePort,
        old_volume_id: str,
        new_volume_id: str,
    ) -> BlockDevice:
        with self._store.transaction() as unit:
            mapping = bdm_queries.of_volume(unit, server.id, old_volume_id)
        if mapping is None:
            raise NotFound(NOT_ATTACHED)
        if mapping.attachment_id is None:
            raise Conflict(f"Volume {old_volume_id} is still being attached to {server.id}.")
        try:
            old = port.begin_detach(context, old_volume_id, server.id)
        except Conflict as exc:
            raise BadRequest(f"Invalid volume: {exc.message}") from None
        try:
            new = port.reserve(context, new_volume_id, server.id)
        except BaseException as exc:
            port.roll_back_detach(old.id)
            if isinstance(exc, Conflict):
                raise BadRequest(f"Invalid volume: {exc.message}") from None
            raise
        assert self._drivers is not None
        compute = self._drivers.compute
        try:
            compute.swap_disk(server.id, old.path, new.path, new.io, shared=new.multiattach)
        except BaseException as exc:
            self._undo(port, old, new)
            if isinstance(exc, DriverError):
                raise VolumeSwapFailed(
                    f"Failed to swap volume {old_volume_id} for {new_volume_id} on instance "
                    f"{server.id}: {exc.message}"
                ) from exc
            raise
        try:
            port.complete_attach(new.id, mapping.device_name or "")
            port.complete_detach(old.id)
            kept = port.migrate_volume_completion(old_volume_id, new_volume_id, error=False)
        except BaseException:
            # The VM holds the new disk: put the old one back before the volumes roll back.
            try:
                compute.swap_disk(server.id, new.path, old.path, old.io, shared=old.multiattach)
            except Exception:
                LOG.exception("could not put volume %s back on %s", old_volume_id, server.id)
            self._undo(port, old, new)
            raise
        with self._store.transaction() as unit:
            bdm_queries.set_fields(
                unit, mapping.uuid, volume_id=kept, attachment_id=new.id, path=new.path
            )
            found = bdm_queries.of_volume(unit, server.id, kept)
        assert found is not None
        return found

    @staticmethod
    def _undo(port: VolumePort, old: AttachmentFacts, new: AttachmentFacts) -> None:
        """The new volume unreserved, the old one `in-use` again (best effort: the caller
        raises the error that matters)."""
        try:
            port.unreserve(new.id)
        except Exception:
            LOG.exception("could not unreserve attachment %s", new.id)
        try:
            port.roll_back_detach(old.id)
        except Exception:
            LOG.exception("could not roll back the detach of attachment %s", old.id)


def _migration_pair(old: VolumeFacts, new: VolumeFacts) -> bool:
    """Whether the block storage service is migrating `old` onto `new` (the only swaps)."""
    return old.migration_status == "migrating" and new.migration_status == f"target:{old.id}"
