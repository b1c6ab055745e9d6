"""A server's volume attachments (`/servers/{id}/os-volume_attachments`): list, show, attach,
detach and 2.85's update of `delete_on_termination`.

An attach follows Cinder's attachments protocol through the `VolumePort`: reserve the volume
for the server, record the mapping (so a delete arriving later finds it), add the volume's
disk to the VM (`ReconfigVM_Task`), then complete the attachment with the device name Nova
chose. Any failure undoes what was done in reverse (disk off the VM, mapping dropped, volume
unreserved), so the volume is `available` again and nothing is half-attached. A detach is the
same in reverse: begin, remove the disk (its file kept), complete; a failed removal rolls the
volume back to `in-use` and keeps the mapping.

A shelved-offloaded server has no VM: its attachments are recorded and completed without a
driver call, and the unshelve adds the disks to the new VM (`boot_volumes.ServerVolumes`).

Both run under the server's job lock (`ServerWork.locks`), as interface attaches do, and each
is an instance action (`attach_volume`, `detach_volume`) with its `compute_*` event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    VistackError,
)
from vistack.common.policy import PolicyEngine
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.access import authorized_server, visible_row
from vistack.compute.domain.block_devices import (
    TAGS_UNSUPPORTED,
    BlockDevice,
    check_device,
    device_tag,
    next_device,
)
from vistack.compute.domain.boot_requests import MULTIATTACH_MICROVERSION
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import NO_BACKEND, state_conflict
from vistack.compute.domain.volume_link import VolumeLink
from vistack.compute.domain.volume_port import VolumePort
from vistack.compute.domain.volume_swap import VolumeSwap, still_in
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import DriverError, NotFoundError

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: The vm_states Nova attaches and detaches volumes in (with no task in progress).
VOLUME_STATES = (
    states.ACTIVE,
    states.PAUSED,
    states.STOPPED,
    states.RESIZED,
    states.SHELVED,
    states.SHELVED_OFFLOADED,
)
RULE = "os_compute_api:os-volumes-attachments"
NOT_ATTACHED = "The volume was either invalid or not attached to the instance."
MULTIATTACH_SHELVED = (
    "Attaching multiattach volumes is not supported for shelved-offloaded instances: unshelve "
    "the server first."
)


class VolumeAttachFailed(VistackError):
    """vSphere refused the disk (500): the volume was unreserved, nothing is attached."""


class VolumeDetachFailed(VistackError):
    """vSphere refused to remove the disk (500): the volume stays attached."""


@dataclass(frozen=True)
class AttachRequest:
    """A checked `volumeAttachment` of a POST."""

    volume_id: str
    device: str | None = None
    tag: str | None = None
    delete_on_termination: bool = False


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _body(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get("volumeAttachment"), Mapping):
        raise BadRequest(
            "Invalid input for field/attribute volumeAttachment. 'volumeAttachment' is a "
            "required property"
        )
    found: Mapping[str, Any] = body["volumeAttachment"]
    return found


def _unknown(found: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} were "
            "unexpected)"
        )


def _volume_id(raw: Any) -> str:
    if raw is None:
        raise BadRequest(
            "Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property"
        )
    if not _is_uuid(raw):
        raise BadRequest(
            f"Invalid input for field/attribute volumeId. Value: {raw}. {raw!r} is not a 'uuid'"
        )
    return str(raw)


def _no_tag(raw: Any) -> None:
    """2.49's `tag`: checked, then refused as Nova's VMware driver refuses it (its guests
    get no device metadata)."""
    if raw is not None:
        device_tag(raw)
        raise BadRequest(TAGS_UNSUPPORTED)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise BadRequest(
            f"Invalid input for field/attribute delete_on_termination. Value: {raw}. "
            f"{raw!r} is not of type 'boolean'"
        )
    return raw


def parse_attach(body: Any, *, tags: bool, delete_flag: bool) -> AttachRequest:
    """POST's body: `volumeId`, `device` (null or omitted: Nova chooses), `tag` (2.49) and
    `delete_on_termination` (2.79)."""
    found = _body(body)
    allowed = {"volumeId", "device"}
    if tags:
        allowed.add("tag")
    if delete_flag:
        allowed.add("delete_on_termination")
    _unknown(found, allowed)
    device = found.get("device")
    if device is not None and not isinstance(device, str):
        raise BadRequest(f"The supplied device path ({device}) is invalid.")
    return AttachRequest(
        volume_id=_volume_id(found.get("volumeId")),
        device=device or None,
        tag=_no_tag(found.get("tag")),  # type: ignore[func-returns-value]
        delete_on_termination=_flag(found["delete_on_termination"])
        if "delete_on_termination" in found
        else False,
    )


@dataclass(frozen=True)
class UpdateRequest:
    """A checked PUT: the volume it names, and 2.85's `delete_on_termination`."""

    volume_id: str
    delete_on_termination: bool | None
    fields: Mapping[str, Any]


def parse_update(body: Any, *, updates: bool) -> UpdateRequest:
    """PUT's body: `volumeId` (another one is a swap), and from 2.85 `delete_on_termination`
    beside the read-only fields, which must then say what they are."""
    found = _body(body)
    allowed = {"volumeId"}
    if updates:
        allowed |= {"device", "tag", "id", "serverId", "delete_on_termination"}
    _unknown(found, allowed)
    flag = found.get("delete_on_termination")
    return UpdateRequest(
        volume_id=_volume_id(found.get("volumeId")),
        delete_on_termination=_flag(flag) if flag is not None else None,
        fields=dict(found),
    )


class VolumeAttachService:
    """List, show, attach, detach and update a server's volume attachments."""

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

    # ------------------------------------------------------------------ read

    def _visible(self, context: RequestContext, server_id: str, rule: str) -> Server:
        return authorized_server(self._store, self._policy, context, server_id, f"{RULE}:{rule}")

    def list_attachments(self, context: RequestContext, server_id: str) -> list[BlockDevice]:
        """The server's volumes (attached or being attached), oldest first."""
        self._visible(context, server_id, "index")
        return self.volumes_of(server_id)

    def volumes_of(self, server_id: str) -> list[BlockDevice]:
        """The volume mappings of a server the caller may see (no checks)."""
        with self._store.transaction() as unit:
            devices = bdm_queries.of_server(unit, server_id)
        return [d for d in devices if d.destination_type == "volume" and d.volume_id]

    def volumes_of_servers(self, server_ids: list[str]) -> dict[str, list[BlockDevice]]:
        """The volume mappings of several servers (the server views' volumes_attached)."""
        with self._store.transaction() as unit:
            found = bdm_queries.of_servers(unit, server_ids)
        return {k: [d for d in v if d.volume_id] for k, v in found.items()}

    def get_attachment(
        self, context: RequestContext, server_id: str, volume_id: str
    ) -> BlockDevice:
        self._visible(context, server_id, "show")
        return self._mapping(server_id, volume_id)

    def _mapping(self, server_id: str, volume_id: str) -> BlockDevice:
        with self._store.transaction() as unit:
            found = bdm_queries.of_volume(unit, server_id, volume_id)
        if found is None or found.destination_type != "volume":
            raise NotFound(
                f"Volume {volume_id} is not attached to instance {server_id}."
                if _is_uuid(volume_id)
                else NOT_ATTACHED
            )
        return found

    # ------------------------------------------------------------------ checks

    def _begin(
        self, context: RequestContext, server_id: str, rule: str, action: str
    ) -> tuple[Server, ServerWork, VolumePort]:
        """Check the caller, the lock and the state (Nova's order: 404, 403, 409)."""
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id, lock=True)
            target = {"project_id": row.project_id}
            self._policy.authorize(f"{RULE}:{rule}", context, target)
            if row.locked and "admin" not in context.roles and not context.is_system_admin:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in VOLUME_STATES or row.task_state is not None:
                raise state_conflict(row, action)
            if self._work is None or self._drivers is None:
                raise Conflict(NO_BACKEND)
            server = queries.to_server(row)
        return server, self._work, self._link.require()

    def _still_there(self, server_id: str, action: str) -> Server:
        return still_in(self._store, server_id, VOLUME_STATES, action)

    def _run(
        self,
        context: RequestContext,
        server: Server,
        work: ServerWork,
        action: str,
        step: Callable[[], T],
    ) -> T:
        """Run `step` as the instance action `action` with its `compute_<action>` event."""
        with self._store.transaction() as unit:
            queries.start_action(
                unit,
                server.id,
                action,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
        result = "Error"
        try:
            with work.events.record(
                server.id, context.request_id, f"compute_{action}", host=server.cluster
            ):
                answer = step()
            result = "Success"
        finally:
            with self._store.transaction() as unit:
                queries.finish_action(unit, server.id, context.request_id, result)
        return answer

    # ------------------------------------------------------------------ attach

    def attach(
        self,
        context: RequestContext,
        server_id: str,
        asked: AttachRequest,
        *,
        multiattach_allowed: bool = True,
    ) -> BlockDevice:
        """Attach the volume; returns its mapping (device chosen, attachment complete).

        :raises NotFound: no such server or volume.
        :raises Conflict: locked, or in a state Nova refuses.
        :raises BadRequest: the volume cannot be attached (its status, or attached already),
            or the device name is malformed or taken.
        :raises VolumeAttachFailed: vSphere refused the disk (the volume was unreserved).
        """
        server, work, port = self._begin(context, server_id, "create", "attach_volume")
        try:
            volume = port.show(context, asked.volume_id)
        except NotFound:
            raise NotFound(f"Volume {asked.volume_id} could not be found.") from None
        if volume.multiattach and not multiattach_allowed:
            raise BadRequest(MULTIATTACH_MICROVERSION)
        if volume.multiattach and server.vm_state == states.SHELVED_OFFLOADED:
            # As Nova: with no VM there is no host to check the sharing against.
            raise BadRequest(MULTIATTACH_SHELVED)
        with work.locks.of(server_id):
            server = self._still_there(server_id, "attach_volume")
            return self._run(
                context,
                server,
                work,
                "attach_volume",
                lambda: self._attach(context, server, port, asked),
            )

    def _attach(
        self, context: RequestContext, server: Server, port: VolumePort, asked: AttachRequest
    ) -> BlockDevice:
        existing = self.volumes_of(server.id)
        if any(d.volume_id == asked.volume_id for d in existing):
            raise BadRequest(
                f"Invalid volume: volume {asked.volume_id} is already attached to instance "
                f"{server.id}."
            )
        taken = [d.device_name for d in existing]
        root_taken = True  # the image's root disk, or the root volume (in `taken`)
        if asked.device is not None:
            device = check_device(asked.device, taken, root_taken=root_taken)
        else:
            device = next_device(taken, root_taken=root_taken)
        try:
            attachment = port.reserve(context, asked.volume_id, server.id)
        except Conflict as exc:
            raise BadRequest(f"Invalid volume: {exc.message}") from None
        bdm_uuid = str(uuid.uuid4())
        try:
            with self._store.transaction() as unit:
                bdm_queries.add(
                    unit,
                    server.id,
                    bdm_uuid,
                    boot_index=None,
                    source_type="volume",
                    destination_type="volume",
                    volume_id=asked.volume_id,
                    device_name=device,
                    delete_on_termination=asked.delete_on_termination,
                    tag=asked.tag,
                    attachment_id=attachment.id,
                    path=attachment.path,
                )
            on_vm = server.vm_state != states.SHELVED_OFFLOADED
            if on_vm:
                assert self._drivers is not None
                # A multiattach volume's disk is in multi-writer sharing on every VM that
                # holds it, the first one included, so a second VM can open it later.
                self._drivers.compute.attach_disk(
                    server.id, attachment.path, attachment.io, shared=attachment.multiattach
                )
            try:
                port.complete_attach(attachment.id, device)
            except BaseException:
                if on_vm:
                    self._detach_disk_quietly(server.id, attachment.path)
                raise
        except BaseException as exc:
            self._forget(bdm_uuid)
            try:
                port.unreserve(attachment.id)
            except Exception:
                LOG.exception("could not unreserve attachment %s", attachment.id)
            if isinstance(exc, DriverError):
                raise VolumeAttachFailed(
                    f"Failed to attach volume {asked.volume_id} to instance {server.id}: "
                    f"{exc.message}"
                ) from exc
            raise
        return self._mapping(server.id, asked.volume_id)

    def _forget(self, bdm_uuid: str) -> None:
        try:
            with self._store.transaction() as unit:
                bdm_queries.remove(unit, bdm_uuid)
        except Exception:
            LOG.exception("could not remove block device mapping %s", bdm_uuid)

    def _detach_disk_quietly(self, server_id: str, path: str) -> None:
        assert self._drivers is not None
        try:
            self._drivers.compute.detach_disk(server_id, path)
        except NotFoundError:
            pass
        except Exception:
            LOG.exception("could not take disk %s off server %s", path, server_id)

    # ------------------------------------------------------------------ detach

    def detach(self, context: RequestContext, server_id: str, volume_id: str) -> None:
        """Detach the volume (its disk file kept).

        :raises NotFound: no such server, or the volume is not attached to it.
        :raises BadRequest: it is the server's root volume.
        :raises Conflict: locked, or in a state Nova refuses.
        :raises VolumeDetachFailed: vSphere refused (the volume stays attached).
        """
        server, work, port = self._begin(context, server_id, "delete", "detach_volume")
        mapping = self._mapping(server_id, volume_id)
        if mapping.is_root:
            raise BadRequest("Cannot detach a root device volume")
        with work.locks.of(server_id):
            server = self._still_there(server_id, "detach_volume")
            self._run(
                context,
                server,
                work,
                "detach_volume",
                lambda: self._detach(context, server, port, volume_id),
            )

    def _detach(
        self, context: RequestContext, server: Server, port: VolumePort, volume_id: str
    ) -> None:
        mapping = self._mapping(server.id, volume_id)
        if mapping.attachment_id is None:
            raise Conflict(f"Volume {volume_id} is still being attached to {server.id}.")
        try:
            attachment = port.begin_detach(context, volume_id, server.id)
        except NotFound:
            attachment = None  # Cinder forgot it already: only Nova's record is left
        except Conflict as exc:
            raise BadRequest(f"Invalid volume: {exc.message}") from None
        path = attachment.path if attachment is not None else mapping.path
        if server.vm_state != states.SHELVED_OFFLOADED and path:
            assert self._drivers is not None
            try:
                self._drivers.compute.detach_disk(server.id, path)
            except NotFoundError:
                pass  # the disk is off the VM already (removed in vCenter)
            except DriverError as exc:
                if attachment is not None:
                    port.roll_back_detach(attachment.id)
                raise VolumeDetachFailed(
                    f"Failed to detach volume {volume_id} from instance {server.id}: {exc.message}"
                ) from exc
        if attachment is not None:
            port.complete_detach(attachment.id)
        self._forget(mapping.uuid)

    # ------------------------------------------------------------------ update (2.85) / swap

    def update(
        self,
        context: RequestContext,
        server_id: str,
        volume_id: str,
        asked: UpdateRequest,
        *,
        swap_only: bool = False,
    ) -> None:
        """2.85's update of `delete_on_termination` (same volume); another volume (or any PUT
        before 2.85, `swap_only`) is a swap (`volume_swap.py`: only as a step of a migration
        the block storage service drives, else 409).

        :raises NotFound: no such server, or the volume is not attached to it.
        :raises BadRequest: a read-only field that says something else.
        """
        if swap_only or asked.volume_id != volume_id:
            self.swapper.swap_request(context, server_id, volume_id, asked.volume_id)
            return
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id, lock=True)
            target = {"project_id": row.project_id}
            self._policy.authorize(f"{RULE}:update", context, target)
            if row.locked and "admin" not in context.roles and not context.is_system_admin:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in VOLUME_STATES or row.task_state is not None:
                raise state_conflict(row, "update_volume_attachment")
            found = bdm_queries.of_volume(unit, server_id, volume_id)
            if found is None:
                raise NotFound(NOT_ATTACHED)
            _same("device", asked.fields, found.device_name)
            _same("tag", asked.fields, found.tag)
            _same("id", asked.fields, volume_id)
            _same("serverId", asked.fields, server_id)
            if asked.delete_on_termination is not None:
                bdm_queries.set_fields(
                    unit, found.uuid, delete_on_termination=asked.delete_on_termination
                )

    @property
    def swapper(self) -> VolumeSwap:
        """Swaps of one volume for another (`volume_swap.py`; Cinder's migrations call it)."""
        return VolumeSwap(self._store, self._policy, self._link, self._drivers, self._work)


def _same(field: str, fields: Mapping[str, Any], current: str | None) -> None:
    """A read-only field of 2.85's update, given: it must be what it is."""
    if field in fields and fields[field] != current:
        raise BadRequest(
            f"Updating {field} is not supported: only delete_on_termination may change."
        )
