"""`POST /volumes/{id}/action`: extend, bootable and read-only flags, the administrator's
reset_status and force_delete, and the legacy attach state transitions (os-reserve,
os-attach, os-begin_detaching, os-detach...) that predate Cinder's attachments API and that
Tempest and older tools still call. Those record state only: the disk is added to a VM by Nova.
"""

from __future__ import annotations

from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    NotImplementedByBackend,
    ServiceUnavailable,
)
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.domain import attachments, placement, requests
from vistack.volume.domain.attached_extend import EXTEND_ATTACHED
from vistack.volume.domain.data_path import DataPath
from vistack.volume.domain.models import (
    ATTACHED,
    ATTACHING,
    AVAILABLE,
    DETACHED,
    DETACHING,
    EXTENDING,
    IN_USE,
    RESERVED,
    RESETTABLE,
)
from vistack.volume.domain.multiattach import is_multiattach
from vistack.volume.domain.types import DATASTORE_REGEX, provisioning_of
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import EXTEND

ATTACH_STATUSES = (DETACHED, ATTACHED, ATTACHING, DETACHING)


class VolumeActions:
    """The volume actions, each one transaction (and a bus job for extend)."""

    def __init__(self, volumes: VolumeService, data_path: DataPath | None = None) -> None:
        self._volumes = volumes
        self._store = volumes.store
        #: The disk-moving jobs (in-use extend, retype with a move); None without a vCenter.
        self._data_path = data_path

    def _locked(
        self, unit: VolumeUnit, context: RequestContext, volume_id: str, rule: str
    ) -> VolumeRow:
        row = self._volumes.visible(unit, context, volume_id, lock=True)
        self._volumes.authorize(rule, context, row.project_id)
        return row

    # -- extend ----------------------------------------------------------------------------------

    def extend(
        self, context: RequestContext, volume_id: str, body: Any, *, attached: bool = False
    ) -> None:
        """Grow a detached `available` volume, or with `attached` (microversion 3.42) an
        `in-use` one through the VM it is attached to (`attached_extend.py`).

        The new size is recorded (and quota-checked) at once, so concurrent requests see it;
        a failed extend puts the old size back.
        """
        new_size = requests.size(_args(body, "os-extend").get("new_size"), "new_size")
        if self._volumes.bus is None or self._volumes.work is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be extended.")
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id)
            project_id = row.project_id
        self._volumes.store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            row = self._locked(unit, context, volume_id, "volume:extend")
            server_id = None
            if attached and row.status == IN_USE:
                server_id = self._attached_server(unit, context, row)
            elif row.status != AVAILABLE:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be 'available' to extend, "
                    f"but it is {row.status}."
                )
            if new_size <= row.size_gb:
                raise BadRequest(
                    f"Invalid input received: New size for extend must be greater than current "
                    f"size. (current: {row.size_gb}, extended: {new_size})."
                )
            old_size = row.size_gb
            self._volumes.quotas.check(
                unit,
                project_id,
                gigabytes=new_size - old_size,
                volume_size=new_size,
                volume_type_id=row.volume_type_id,
            )
            row.status, row.size_gb, row.updated_at = EXTENDING, new_size, utcnow()
            unit.flush()
        job = {"volume_id": volume_id, "old_size": old_size, "new_size": new_size}
        if server_id is not None:
            self._volumes.bus.submit(EXTEND_ATTACHED, {**job, "server_id": server_id})
            return
        self._volumes.bus.submit(EXTEND, job)

    def _attached_server(self, unit: VolumeUnit, context: RequestContext, row: VolumeRow) -> str:
        """The server whose VM grows an in-use volume's disk (one attachment only: a disk
        shared by several VMs cannot be grown while they all hold it)."""
        self._volumes.authorize("volume:extend_attached_volume", context, row.project_id)
        if row.multiattach:
            raise BadRequest(
                f"Invalid volume: Volume {row.id} is multiattach and in-use: vSphere cannot "
                "grow a disk in multi-writer sharing while VMs hold it. Detach it from every "
                "server, extend it, then attach it again."
            )
        if self._data_path is None:
            raise ServiceUnavailable("No vCenter is configured: attached disks cannot grow.")
        servers = [a.server_id for a in queries.attachments_of_volume(unit, row.id)]
        if len(servers) != 1 or servers[0] is None:
            raise BadRequest(
                f"Invalid volume: Volume {row.id} must be attached to exactly one server to "
                f"extend it in use; it has {len(servers)} attachment(s)."
            )
        return servers[0]

    # -- flags -----------------------------------------------------------------------------------

    def set_bootable(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = _args(body, "os-set_bootable")
        if "bootable" not in args:
            raise BadRequest("Must specify bootable in request.")
        bootable = requests.boolean("bootable", args["bootable"])
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_actions:set_bootable"
            )
            row.bootable, row.updated_at = bootable, utcnow()

    def update_readonly_flag(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = _args(body, "os-update_readonly_flag")
        if "readonly" not in args:
            raise BadRequest("Must specify readonly in request.")
        readonly = requests.boolean("readonly", args["readonly"])
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume:update_readonly_flag")
            if row.status != AVAILABLE:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available to update its "
                    f"readonly flag, but it is {row.status}."
                )
            row.readonly, row.updated_at = readonly, utcnow()

    # -- administrator -------------------------------------------------------------------------

    def reset_status(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = _args(body, "os-reset_status")
        status = args.get("status")
        attach_status = args.get("attach_status")
        if status is None and attach_status is None and "migration_status" not in args:
            raise BadRequest(
                "Must specify 'status', 'attach_status' or 'migration_status' for update."
            )
        if status is not None and status not in RESETTABLE:
            raise BadRequest(
                f"Must specify a valid status ({', '.join(RESETTABLE)}), not {status!r}."
            )
        if attach_status is not None and attach_status not in ATTACH_STATUSES:
            raise BadRequest(
                f"Must specify a valid attach status ({', '.join(ATTACH_STATUSES)}), "
                f"not {attach_status!r}."
            )
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_admin_actions:reset_status"
            )
            if status is not None:
                row.status = status
            if "migration_status" in args:  # e.g. null, to clear a failed move's `error`
                migration = args["migration_status"]
                row.migration_status = None if migration in (None, "none") else str(migration)
            if attach_status is not None:
                row.attach_status = attach_status
                if attach_status == DETACHED:
                    # The records of attachments go with the state that said they existed.
                    for attachment in queries.attachments_of_volume(unit, row.id):
                        unit.delete(attachment)
            row.updated_at = utcnow()

    def force_detach(self, context: RequestContext, volume_id: str, body: Any) -> None:
        """Drop an attachment (all of them without `attachment_id`) whatever the VM holds: the
        administrator's way out when Nova and Cinder disagree."""
        args = _args(body, "os-force_detach", optional=True)
        attachment_id = args.get("attachment_id")
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_admin_actions:force_detach"
            )
            current = queries.attachments_of_volume(unit, row.id)
            if attachment_id is not None:
                current = [a for a in current if a.id == attachment_id]
                if not current:
                    raise NotFound(f"Volume attachment {attachment_id} could not be found.")
            for attachment in current:
                unit.delete(attachment)
            attachments.settle(unit, row)

    def retype(self, context: RequestContext, volume_id: str, body: Any) -> None:
        """Change the volume's type: at once where its disk already satisfies the new one
        (datastore allowed by its `vmware:datastore_regex`, same `vmware:vmdk_type`); else,
        with `migration_policy` on-demand, by moving or re-provisioning the disk (`retyping`,
        `migrate.py`), and with `never` a 400, as Cinder refuses."""
        args = _args(body, "os-retype")
        new_type = args.get("new_type")
        policy = args.get("migration_policy") or "never"
        if not isinstance(new_type, str) or not new_type:
            raise BadRequest("Retype needs 'new_type' (a volume type's name or id).")
        if policy not in ("never", "on-demand"):
            raise BadRequest("migration_policy must be 'never' or 'on-demand'.")
        settings = self._volumes.settings
        move: dict[str, Any] | None = None
        with self._store.transaction() as unit:
            project_id = self._volumes.visible(unit, context, volume_id).project_id
        self._volumes.store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)  # the new type's quotas count under it
            row = self._locked(unit, context, volume_id, "volume:retype")
            if row.status not in (AVAILABLE, IN_USE):
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available or in-use to "
                    f"retype, but it is {row.status}."
                )
            target = self._volumes.types.find(unit, context, new_type)
            for check in self._volumes.type_checks:  # an encrypted type: see encryption.py
                check(unit, target)
            if target.id == row.volume_type_id:
                raise BadRequest(
                    f"Invalid input received: the volume is already of type {new_type}."
                )
            # The volume and its snapshots move to the new type's quotas (as they count).
            snaps = queries.snapshots(unit, None, row.id)
            self._volumes.quotas.check_type(
                unit,
                row.project_id,
                target.id,
                volumes=1,
                snapshots=len(snaps),
                gigabytes=row.size_gb + sum(s.size_gb for s in snaps),
            )
            specs = queries.extra_specs(unit, target.id)
            shared = is_multiattach(specs)
            if row.status == IN_USE and shared != row.multiattach:
                raise BadRequest(
                    f"Invalid input received: Volume {row.id} is in-use; retyping it "
                    f"{'to' if shared else 'from'} a multiattach type is only possible while "
                    "it is available (the disk's sharing on the VMs would have to change). "
                    "Detach it first."
                )
            stays = row.datastore is None or placement.allows(
                row.datastore, settings.datastores, specs.get(DATASTORE_REGEX)
            )
            same = provisioning_of(specs).value == row.provisioning
            if not (stays and same):
                message = (
                    f"Retype to {target.name} needs the disk moved to another datastore or "
                    f"re-provisioned ({row.provisioning} on {row.datastore}); retype with "
                    "migration_policy on-demand to have it moved, or choose a type whose "
                    "vmware:datastore_regex allows the volume's datastore and whose "
                    "vmware:vmdk_type is the same."
                )
                if policy == "never":
                    raise BadRequest(f"Invalid input received: {message}")
                if self._data_path is None:
                    raise NotImplementedByBackend(message)
                # on-demand: the disk is copied where the new type wants it (`migrate.py`).
                move = self._data_path.migration.start_retype(unit, row, target.id, specs)
            else:
                row.volume_type_id, row.updated_at = target.id, utcnow()
                row.multiattach = shared
        if move is not None and self._data_path is not None:
            self._data_path.migration.submit(move)

    def force_delete(self, context: RequestContext, volume_id: str) -> None:
        self._volumes.delete(context, volume_id, cascade=True, force=True)

    # -- image metadata (os-set_image_metadata, os-unset_image_metadata, os-show_image_metadata)

    def image_metadata(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = self._volumes.visible(unit, context, volume_id)
            self._volumes.authorize("volume:get", context, row.project_id)
            return dict(row.image_metadata or {})

    def set_image_metadata(
        self, context: RequestContext, volume_id: str, body: Any
    ) -> dict[str, str]:
        items = requests.metadata(_args(body, "os-set_image_metadata").get("metadata"))
        if not items:
            raise BadRequest("Malformed request body: 'metadata' must name some items.")
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume:update")
            merged = {**(row.image_metadata or {}), **items}
            row.image_metadata, row.updated_at = merged, utcnow()
            return dict(merged)

    def unset_image_metadata(self, context: RequestContext, volume_id: str, body: Any) -> None:
        key = _args(body, "os-unset_image_metadata").get("key")
        if not isinstance(key, str) or not key:
            raise BadRequest("Malformed request body: 'key' must name an item.")
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume:update")
            items = dict(row.image_metadata or {})
            if key not in items:
                raise NotFound(f"Glance metadata for volume {row.id} with key {key} not found.")
            del items[key]
            row.image_metadata, row.updated_at = items, utcnow()

    # -- legacy attach transitions ---------------------------------------------------------------

    def reserve(self, context: RequestContext, volume_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume_extension:volume_actions:reserve")
            shared = row.multiattach and row.status == IN_USE
            if row.status != AVAILABLE and not shared:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} status must be available or in-use (with "
                    f"multiattach) to reserve, but the current status is {row.status}."
                )
            row.status, row.updated_at = ATTACHING, utcnow()

    def unreserve(self, context: RequestContext, volume_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_actions:unreserve"
            )
            if row.status == ATTACHING:
                attachments.settle(unit, row)

    def attach(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = _args(body, "os-attach")
        server_id = args.get("instance_uuid")
        host_name = args.get("host_name")
        mountpoint = args.get("mountpoint")
        mode = args.get("mode", "rw")
        if not server_id and not host_name:
            raise BadRequest("Invalid request to attach volume to an invalid target")
        if mode not in ("rw", "ro"):
            raise BadRequest(
                "Invalid request to attach volume with an invalid mode. Attaching mode "
                "should be 'rw' or 'ro'"
            )
        if not isinstance(mountpoint, str) or not mountpoint:
            raise BadRequest("Must specify 'mountpoint'.")
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume_extension:volume_actions:attach")
            if row.readonly and mode == "rw":
                raise BadRequest(
                    f"Invalid attaching mode 'rw' for volume {row.id}: it is read-only; attach "
                    "it with mode 'ro'."
                )
            if row.status == ATTACHING and not queries.attachments_of_volume(unit, row.id):
                row.status = RESERVED  # reserved by os-reserve: the attach consumes it
            try:
                attachment = attachments.reserve(unit, row, server_id, host_name)
            except Conflict as exc:
                raise BadRequest(f"Invalid volume: {exc.message}") from None
            attachment.mode = mode
            attachments.complete(unit, attachment, mountpoint)

    def begin_detaching(self, context: RequestContext, volume_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_actions:begin_detaching"
            )
            if row.status != IN_USE:
                raise BadRequest(
                    f"Invalid volume: Unable to detach volume. Volume status must be 'in-use' "
                    f"and attach_status must be 'attached' to detach; it is {row.status}."
                )
            row.status, row.updated_at = DETACHING, utcnow()

    def roll_detaching(self, context: RequestContext, volume_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._locked(
                unit, context, volume_id, "volume_extension:volume_actions:roll_detaching"
            )
            if row.status == DETACHING:
                attachments.settle(unit, row)

    def detach(self, context: RequestContext, volume_id: str, body: Any) -> None:
        args = _args(body, "os-detach", optional=True)
        attachment_id = args.get("attachment_id")
        with self._store.transaction() as unit:
            row = self._locked(unit, context, volume_id, "volume_extension:volume_actions:detach")
            current = queries.attachments_of_volume(unit, row.id)
            if attachment_id is not None:
                current = [a for a in current if a.id == attachment_id]
                if not current:
                    raise NotFound(f"Volume attachment {attachment_id} could not be found.")
            if not current:
                # Cinder's detach is a cast to the volume manager: nothing attached is no
                # error, the volume just settles (Tempest's cleanups rely on it).
                attachments.settle(unit, row)
                return
            if len(current) > 1:
                raise BadRequest(
                    f"Invalid volume: Volume {row.id} has several attachments; name the one "
                    "to detach with attachment_id."
                )
            unit.delete(current[0])
            attachments.settle(unit, row)


def _args(body: Any, action: str, *, optional: bool = False) -> dict[str, Any]:
    value = body.get(action) if isinstance(body, dict) else None
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Malformed request body: '{action}' must be an object.")
    return value
