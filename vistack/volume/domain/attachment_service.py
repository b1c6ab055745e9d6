"""Cinder's attachments API (3.27; `os-complete` 3.44; the attach mode 3.54) over the one
attachment record that Nova's in-process port and the legacy volume actions also use
(`attachments.py`), so a volume's status, its `attachments` list and these records always
agree whichever way the attach came.

An attachment is created `reserved` (the volume `attaching`), becomes `attaching` once a
host's connector is given (at create or with an update), which answers the connection info,
and `attached` (the volume `in-use`) with `os-complete`. Deleting it is the detach: the
volume is `available` again when no attachment is left.

vSphere specifics:

- The connection info is the VMware driver's (`driver_volume_type` `vmdk`). Upstream names
  the volume's shadow-VM backing in `volume`; here a volume is a plain virtual disk file
  with no backing VM, so `volume` is that disk's datastore path, which is what a vSphere
  host attaches (`ReconfigVM_Task` with an existing disk). The size, path and datastore that
  upstream adds for os-brick's vmdk connector (a connector with `platform` and `os_type`)
  are added in the same case. No storage policy is set on the disks: `profile_id` is None.
- A VM's disk file is locked by the VM it is on, so only a multiattach volume (its type says
  `multiattach="<is> True"`) takes a second attachment: its disk goes on each VM in
  multi-writer sharing (`multiattach.py`). Attaching any other attached volume is a 400.
- The server named must exist (Cinder takes Nova's word; here Nova is in process and the
  check is cheap, which keeps records of attachments to nothing out of the database).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.volume.db import attachment_queries, queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeAttachmentRow, VolumeRow
from vistack.volume.domain import attachments, list_scope, listing, messages
from vistack.volume.domain.volumes import VolumeService

MODES = ("rw", "ro")
#: Cinder's filters on attachments (resource_filters.json) and the keys a list sorts on.
SORT_KEYS = ("id", "created_at", "status", "volume_id", "instance", "attached_at")
_FILTERS = {"volume_id": "volume_id", "status": "status", "attach_status": "status"}

#: Finds a server for the caller; raises NotFound when there is none (Nova's `get`).
ServerLookup = Callable[[RequestContext, str], object]


@dataclass(frozen=True)
class VolumeAttachment:
    """One attachment as the attachments API shows it."""

    id: str
    volume_id: str
    project_id: str
    instance: str | None
    status: str
    attach_mode: str
    attached_at: datetime | None
    created_at: datetime
    connector: dict[str, Any] | None
    connection_info: dict[str, Any] | None


@dataclass(frozen=True)
class CreateAttachment:
    volume_id: str
    server_id: str | None
    connector: dict[str, Any] | None
    mode: str | None


def create_request(body: Any, *, with_mode: bool) -> CreateAttachment:
    """The create's body; `mode` only from 3.54 (`with_mode`), as Cinder's schemas allow.

    :raises BadRequest: a missing or malformed field, or one this microversion lacks.
    """
    args = _object(body, "attachment")
    allowed = {"volume_uuid", "instance_uuid", "connector"} | ({"mode"} if with_mode else set())
    extra = sorted(set(args) - allowed)
    if extra:
        raise BadRequest(
            f"Invalid input for field/attribute attachment: additional properties are not "
            f"allowed ({', '.join(extra)} unexpected)."
        )
    volume_id = args.get("volume_uuid")
    if not isinstance(volume_id, str) or not volume_id:
        raise BadRequest("Invalid input received: 'volume_uuid' must name the volume.")
    server_id = args.get("instance_uuid")
    if server_id is not None and (not isinstance(server_id, str) or not server_id):
        raise BadRequest("Invalid input received: 'instance_uuid' must be a server's id.")
    mode = args.get("mode")
    if mode is not None and mode not in MODES:
        raise BadRequest(
            f"Invalid input received: Invalid attachment mode {mode!r}: it must be 'rw' or 'ro'."
        )
    return CreateAttachment(volume_id, server_id, _connector(args.get("connector")), mode)


def update_request(body: Any) -> dict[str, Any]:
    """The update's connector (required: an update is how a host says where it attaches)."""
    connector = _connector(_object(body, "attachment").get("connector"))
    if connector is None:
        raise BadRequest("Invalid input received: the update needs a 'connector' object.")
    return connector


class AttachmentService:
    """Create, list, show, update, complete and delete attachments."""

    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes
        self._store = volumes.store
        self._servers: ServerLookup | None = None

    def connect_servers(self, lookup: ServerLookup | None) -> None:
        """Check named servers with Nova's `lookup` (None: no compute service to ask)."""
        self._servers = lookup

    # -- create / update / complete / delete -----------------------------------------------------

    def create(self, context: RequestContext, request: CreateAttachment) -> VolumeAttachment:
        """Reserve the volume for the server; with a connector, go on to `attaching` and
        answer the connection info (Cinder's create-and-update in one call).

        :raises NotFound: no such volume or server.
        :raises BadRequest: the volume is not available (an attached one included, unless
            it is multiattach), or read-only and `rw` was asked for.
        """
        if request.server_id is not None and self._servers is not None:
            try:
                self._servers(context, request.server_id)
            except NotFound:
                raise NotFound(f"Instance {request.server_id} could not be found.") from None
        try:
            with self._store.transaction() as unit:
                volume = self._volumes.visible(unit, context, request.volume_id, lock=True)
                self._volumes.authorize("volume:attachment_create", context, volume.project_id)
                _check_attachable(unit, volume)
                if volume.readonly and request.mode == "rw":
                    raise _Refused(volume)
                host = request.connector.get("host") if request.connector else None
                try:
                    row = attachments.reserve(unit, volume, request.server_id, _text(host))
                except Conflict as exc:
                    raise BadRequest(f"Invalid volume: {exc.message}") from None
                row.mode = request.mode or row.mode
                if request.connector is not None:
                    _connect(unit, volume, row, request.connector)
                return _view(row, volume.project_id)
        except _Refused as refused:
            raise self._refuse(context, refused) from None

    def update(
        self, context: RequestContext, attachment_id: str, connector: dict[str, Any]
    ) -> VolumeAttachment:
        """Give the attachment its host's connector: `attaching`, with the connection info.

        :raises BadRequest: attached or being detached already, or `rw` on a read-only volume.
        """
        try:
            with self._store.transaction() as unit:
                row, volume = self._locked(unit, context, attachment_id, "volume:attachment_update")
                if row.attach_status not in (attachments.ATT_RESERVED, attachments.ATT_ATTACHING):
                    raise BadRequest(
                        f"Invalid volume: attachment {row.id} is {row.attach_status}; only a "
                        "reserved or attaching attachment takes a connector."
                    )
                _connect(unit, volume, row, connector)
                return _view(row, volume.project_id)
        except _Refused as refused:
            raise self._refuse(context, refused) from None

    def complete(self, context: RequestContext, attachment_id: str) -> None:
        """`os-complete` (3.44): the host attached the disk; the volume is `in-use`."""
        with self._store.transaction() as unit:
            row, _volume = self._locked(unit, context, attachment_id, "volume:attachment_complete")
            if row.attach_status == attachments.ATT_ATTACHED:
                return
            if row.attach_status == attachments.ATT_DETACHING:
                raise BadRequest(
                    f"Invalid volume: attachment {row.id} is being detached; it cannot be "
                    "completed."
                )
            mountpoint = (row.connector or {}).get("mountpoint")
            attachments.complete(unit, row, row.device or _text(mountpoint))

    def delete(self, context: RequestContext, attachment_id: str) -> list[VolumeAttachment]:
        """Drop the attachment (the detach); answers the volume's remaining attachments."""
        with self._store.transaction() as unit:
            row, volume = self._locked(unit, context, attachment_id, "volume:attachment_delete")
            attachments.remove(unit, row)
            return [
                _view(other, volume.project_id)
                for other in queries.attachments_of_volume(unit, volume.id)
            ]

    # -- reads ---------------------------------------------------------------------------------

    def get(self, context: RequestContext, attachment_id: str) -> VolumeAttachment:
        with self._store.transaction() as unit:
            row = queries.attachment(unit, attachment_id)
            volume = queries.volume(unit, row.volume_id) if row is not None else None
            if row is None or volume is None or not self._sees(context, volume.project_id):
                raise _not_found(attachment_id)
            return _view(row, volume.project_id)

    def list_attachments(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[VolumeAttachment], bool]:
        """The caller's attachments (every project's with `all_tenants` for an admin),
        filtered by volume, status or server, sorted and paged as Cinder's lists are."""
        self._volumes.authorize("volume:get_all", context, context.project_id)
        params = listing.parse_params(query, SORT_KEYS)
        project = list_scope.project_of(self._volumes.policy, context, query)
        wanted = {field: query[key] for key, field in _FILTERS.items() if query.get(key)}
        server = query.get("instance_id") or query.get("instance_uuid")
        with self._store.transaction() as unit:
            found = [
                _view(row, owner)
                for row, owner in attachment_queries.attachments_with_project(unit, project)
            ]
        found = [
            a
            for a in found
            if all(getattr(a, f) == v for f, v in wanted.items())
            and (server is None or a.instance == server)
        ]
        return listing.page(found, params, getattr, lambda a: a.id)

    # -- helpers ---------------------------------------------------------------------------------

    def _sees(self, context: RequestContext, project_id: str) -> bool:
        return self._volumes.policy.check("volume:get", context, {"project_id": project_id})

    def _locked(
        self, unit: VolumeUnit, context: RequestContext, attachment_id: str, rule: str
    ) -> tuple[VolumeAttachmentRow, VolumeRow]:
        """The attachment and its volume, the volume locked for the change."""
        row = queries.attachment(unit, attachment_id)
        if row is None:
            raise _not_found(attachment_id)
        volume = queries.volume(unit, row.volume_id, lock=True)
        if volume is None or not self._sees(context, volume.project_id):
            raise _not_found(attachment_id)
        self._volumes.authorize(rule, context, volume.project_id)
        found = queries.attachment(unit, attachment_id)  # re-read under the volume's lock
        if found is None:
            raise _not_found(attachment_id)
        return found, volume

    def _refuse(self, context: RequestContext, refused: _Refused) -> BadRequest:
        """Tell the project in a user message (as Cinder's attachment update does) and
        answer the 400; the refused change was rolled back with its transaction."""
        with self._store.transaction() as unit:
            messages.record(
                unit,
                messages.ATTACH_MODE_INVALID,
                project_id=refused.project_id,
                resource_uuid=refused.volume_id,
                request_id=context.request_id,
            )
        return BadRequest(refused.reason)


class _Refused(Exception):
    """`rw` asked of a read-only volume: raised inside the transaction to roll it back."""

    def __init__(self, volume: VolumeRow) -> None:
        super().__init__(volume.id)
        self.volume_id = volume.id
        self.project_id = volume.project_id
        self.reason = (
            f"Invalid attaching mode 'rw' for volume {volume.id}: it is read-only; attach it "
            "with mode 'ro'."
        )


def _check_attachable(unit: VolumeUnit, volume: VolumeRow) -> None:
    """A volume on a server (or reserved for one) is attached again only when it is
    multiattach: vSphere locks a disk file to the VM it is on unless the disk is in
    multi-writer sharing, which only multiattach volumes get."""
    if not volume.multiattach and queries.attachments_of_volume(unit, volume.id):
        raise BadRequest(
            f"Invalid volume: Volume {volume.id} is already attached or reserved (status "
            f"{volume.status}) and is not multiattach: a volume goes on several servers only "
            "when its type has the extra spec multiattach='<is> True'. Detach it first."
        )
    if volume.path is None:
        raise BadRequest(
            f"Invalid volume: Volume {volume.id} status must be available to attach, but it "
            f"is {volume.status}."
        )


def _connect(
    unit: VolumeUnit, volume: VolumeRow, row: VolumeAttachmentRow, connector: dict[str, Any]
) -> None:
    """Record the connector and the connection info (`attaching`). The attachment's mode
    stands (Cinder's rule); a connector asking `rw` of a read-only volume is refused.

    :raises _Refused: `rw` asked of a read-only volume.
    """
    asked = connector.get("mode")
    if asked is not None and asked not in MODES:
        raise BadRequest(
            f"Invalid input received: Invalid attachment mode {asked!r}: it must be 'rw' or 'ro'."
        )
    if asked == "rw" and volume.readonly:
        raise _Refused(volume)
    row.connector = dict(connector)
    row.host_name = _text(connector.get("host")) or row.host_name
    row.connection_info = connection_info(volume, row, connector)
    if row.attach_status == attachments.ATT_RESERVED:
        row.attach_status = attachments.ATT_ATTACHING
    unit.flush()
    attachments.settle(unit, volume)


def connection_info(
    volume: VolumeRow, row: VolumeAttachmentRow, connector: Mapping[str, Any]
) -> dict[str, Any]:
    """The VMware driver's connection info, flattened as Cinder's attachments API answers it
    (the driver's `data` merged with `driver_volume_type` and `serial`, plus the access mode
    and the attachment's id)."""
    info: dict[str, Any] = {
        "driver_volume_type": "vmdk",
        "serial": volume.id,
        "volume": volume.path,
        "volume_id": volume.id,
        "name": f"volume-{volume.id}",
        "profile_id": None,
        "qos_specs": None,
        "access_mode": row.mode,
        "encrypted": False,
        "attachment_id": row.id,
    }
    if "platform" in connector and "os_type" in connector:  # os-brick's vmdk connector
        info["vmdk_size"] = volume.size_gb * 1024**3
        info["vmdk_path"] = volume.path
        info["datastore"] = volume.datastore
    return info


def _view(row: VolumeAttachmentRow, project_id: str) -> VolumeAttachment:
    return VolumeAttachment(
        id=row.id,
        volume_id=row.volume_id,
        project_id=project_id,
        instance=row.server_id,
        status=row.attach_status,
        attach_mode=row.mode,
        attached_at=row.attached_at,
        created_at=row.created_at,
        connector=dict(row.connector) if row.connector is not None else None,
        connection_info=dict(row.connection_info) if row.connection_info is not None else None,
    )


def _object(body: Any, key: str) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise BadRequest(f"Malformed request body: '{key}' must be an object.")
    return value


def _connector(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("Invalid input received: 'connector' must be an object.")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _not_found(attachment_id: str) -> NotFound:
    return NotFound(f"Volume attachment {attachment_id} could not be found.")
