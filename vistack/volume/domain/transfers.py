"""Volume transfers: a project offers an available volume, another accepts it with the key.

The offer takes the volume from `available` to `awaiting-transfer` (so it can be neither
attached nor deleted meanwhile) and answers the key once; only a salted PBKDF2 hash of it is
kept. Deleting the offer gives the volume back to `available`; accepting it moves the volume,
and its snapshots unless the offer said `no_snapshots` (3.55), to the accepting project and
makes it `available` there.

The accept is one transaction that first takes both projects' lock rows (in a fixed order, so
two crossing transfers cannot deadlock): the receiver's quota is checked with the volume (and
its snapshots) counted in, exactly like a create, and the giver's usage drops by the same rows
leaving it, since usage is counted from the rows themselves. Over quota is Cinder's 413.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.volume.db import queries, transfer_queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeRow
from vistack.volume.db.transfer_tables import VolumeTransferRow
from vistack.volume.domain import listing, requests
from vistack.volume.domain.encryption import is_encrypted
from vistack.volume.domain.models import AVAILABLE, DETACHED, SNAP_AVAILABLE
from vistack.volume.domain.volumes import VolumeService

AWAITING_TRANSFER = "awaiting-transfer"
#: Cinder's key length (`volume_transfer_key_length`), in characters.
KEY_LENGTH = 16
_HASH_ROUNDS = 20_000
SORT_KEYS = ("id", "name", "created_at", "volume_id")


@dataclass(frozen=True)
class Transfer:
    id: str
    name: str | None
    volume_id: str
    project_id: str
    no_snapshots: bool
    created_at: datetime
    #: Only in the create's answer: the key the receiver must present.
    auth_key: str | None = None
    #: Set on the accept's answer: who has the volume now.
    destination_project_id: str | None = None
    accepted: bool = False


def hash_key(salt: str, key: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), _HASH_ROUNDS)
    return digest.hex()


def key_matches(row: VolumeTransferRow, key: str) -> bool:
    return hmac.compare_digest(hash_key(row.salt, key), row.crypt_hash)


def _view(row: VolumeTransferRow, **extra: Any) -> Transfer:
    return Transfer(
        id=row.id,
        name=row.name,
        volume_id=row.volume_id,
        project_id=row.project_id,
        no_snapshots=row.no_snapshots,
        created_at=row.created_at,
        **extra,
    )


class TransferService:
    """Offer, list, show, withdraw and accept volume transfers."""

    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes
        self._store = volumes.store

    def _authorize(self, rule: str, context: RequestContext, project_id: str) -> None:
        self._volumes.authorize(rule, context, project_id)

    def _visible(self, unit: VolumeUnit, context: RequestContext, transfer_id: str) -> Any:
        row = transfer_queries.transfer(unit, transfer_id)
        if row is None or not self._volumes.policy.check(
            "volume:get_transfer", context, {"project_id": row.project_id}
        ):
            raise NotFound(f"Transfer {transfer_id} could not be found.")
        return row

    # -- offer ---------------------------------------------------------------------------------

    def create(
        self,
        context: RequestContext,
        body: Any,
        *,
        snapshots_choice: bool,
        encrypted_allowed: bool,
    ) -> Transfer:
        """Offer the volume; `snapshots_choice` (3.55) lets the body say `no_snapshots`,
        `encrypted_allowed` (3.70) lets encrypted volumes be offered.

        :raises BadRequest: a bad body, or the volume is not available and detached (or is
            encrypted, or has a snapshot that is not available when they go along).
        :raises NotFound: no such volume (or another project's).
        """
        fields = requests.body_of(body, "transfer")
        allowed = {"volume_id", "name"} | ({"no_snapshots"} if snapshots_choice else set())
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise BadRequest(
                f"Invalid input for field/attribute transfer: additional properties are not "
                f"allowed ({', '.join(unknown)})."
            )
        volume_id = fields.get("volume_id")
        if not isinstance(volume_id, str) or not _is_uuid(volume_id):
            raise BadRequest("Invalid input received: transfer needs a volume_id (a UUID).")
        name = requests.text("name", fields.get("name"))
        no_snapshots = requests.boolean("no_snapshots", fields.get("no_snapshots", False))
        key = secrets.token_hex(KEY_LENGTH // 2)
        salt = secrets.token_hex(8)
        crypt_hash = hash_key(salt, key)
        with self._store.transaction() as unit:
            volume = self._volumes.visible(unit, context, volume_id, lock=True)
            self._authorize("volume:create_transfer", context, volume.project_id)
            self._check_offerable(unit, volume, no_snapshots, encrypted_allowed)
            now = utcnow()
            row = VolumeTransferRow(
                id=str(uuid.uuid4()),
                volume_id=volume.id,
                project_id=volume.project_id,
                name=name,
                salt=salt,
                crypt_hash=crypt_hash,
                no_snapshots=no_snapshots,
                created_at=now,
                updated_at=now,
            )
            unit.add(row)
            volume.status = AWAITING_TRANSFER
            volume.updated_at = now
            unit.flush()
            return _view(row, auth_key=key)

    @staticmethod
    def _check_offerable(
        unit: VolumeUnit, volume: VolumeRow, no_snapshots: bool, encrypted_allowed: bool
    ) -> None:
        if volume.status != AVAILABLE or volume.attach_status != DETACHED:
            raise BadRequest(
                f"Invalid volume: Status of volume {volume.id} must be available and detached "
                f"to be transferred, but it is {volume.status}."
            )
        if queries.attachments_of_volume(unit, volume.id):
            raise BadRequest(f"Invalid volume: Volume {volume.id} is attached.")
        if not encrypted_allowed and is_encrypted(unit, volume.volume_type_id):
            raise BadRequest(
                f"Invalid volume: Volume {volume.id} is encrypted; transferring encrypted "
                "volumes needs microversion 3.70."
            )
        if not no_snapshots:
            for snapshot in queries.snapshots(unit, None, volume.id):
                if snapshot.status != SNAP_AVAILABLE:
                    raise BadRequest(
                        f"Invalid snapshot: Snapshot {snapshot.id} of volume {volume.id} is "
                        f"{snapshot.status}; its snapshots must be available to go with it."
                    )

    # -- reads ---------------------------------------------------------------------------------

    def list_transfers(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[Transfer], bool]:
        """The caller's project's offers (every project's with `all_tenants` for an admin),
        filtered by `name` and `volume_id`, sorted and paged as volume lists are."""
        project: str | None = context.project_id or ""
        self._authorize("volume:get_all_transfers", context, project or "")
        params = listing.parse_params(query, SORT_KEYS)
        if requests.boolean("all_tenants", query.get("all_tenants", "0")):
            self._volumes.authorize("volume:get_all_tenants", context, None)
            project = None
        with self._store.transaction() as unit:
            found = [_view(r) for r in transfer_queries.transfers(unit, project)]
        for key in ("name", "volume_id"):
            if query.get(key):
                found = [t for t in found if getattr(t, key) == query[key]]
        return listing.page(found, params, lambda t, key: getattr(t, key), lambda t: t.id)

    def get(self, context: RequestContext, transfer_id: str) -> Transfer:
        with self._store.transaction() as unit:
            return _view(self._visible(unit, context, transfer_id))

    # -- withdraw ------------------------------------------------------------------------------

    def delete(self, context: RequestContext, transfer_id: str) -> None:
        """Withdraw the offer: the volume is `available` again in its project."""
        with self._store.transaction() as unit:
            row = self._visible(unit, context, transfer_id)
            self._authorize("volume:delete_transfer", context, row.project_id)
            volume = queries.volume(unit, row.volume_id, lock=True)
            if volume is not None and volume.status == AWAITING_TRANSFER:
                volume.status = AVAILABLE
                volume.updated_at = utcnow()
            unit.delete(row)

    # -- accept --------------------------------------------------------------------------------

    def accept(self, context: RequestContext, transfer_id: str, body: Any) -> Transfer:
        """Take the volume into the caller's project.

        :raises NotFound: no such transfer.
        :raises BadRequest: no key, or the wrong one, or the volume is no longer awaiting it.
        :raises QuotaExceeded: the caller's project has no room for it (413).
        """
        receiver = context.project_id or ""
        self._authorize("volume:accept_transfer", context, receiver)
        fields = requests.body_of(body, "accept")
        key = fields.get("auth_key")
        if not isinstance(key, str) or not key:
            raise BadRequest("Invalid input received: accept needs the transfer's auth_key.")
        with self._store.transaction() as unit:
            found = transfer_queries.transfer(unit, transfer_id)
            if found is None:
                raise NotFound(f"Transfer {transfer_id} could not be found.")
            giver, salt, crypt_hash = found.project_id, found.salt, found.crypt_hash
        if not hmac.compare_digest(hash_key(salt, key), crypt_hash):
            raise BadRequest(
                f"Invalid auth key: Attempt to transfer {transfer_id} with invalid auth key."
            )
        projects = sorted({giver, receiver})
        for project in projects:
            self._store.ensure_project(project)
        with self._store.transaction() as unit:
            for project in projects:
                unit.lock_project(project)
            row = transfer_queries.transfer(unit, transfer_id)
            if row is None:  # accepted or withdrawn meanwhile
                raise NotFound(f"Transfer {transfer_id} could not be found.")
            volume = queries.volume(unit, row.volume_id, lock=True)
            if volume is None or volume.status != AWAITING_TRANSFER:
                raise BadRequest(
                    f"Invalid volume: Volume {row.volume_id} is not awaiting a transfer."
                )
            moving = [] if row.no_snapshots else list(queries.snapshots(unit, None, volume.id))
            if receiver != volume.project_id:
                self._volumes.quotas.check(
                    unit,
                    receiver,
                    volumes=1,
                    snapshots=len(moving),
                    gigabytes=volume.size_gb + sum(s.size_gb for s in moving),
                    volume_size=volume.size_gb,
                    volume_type_id=volume.volume_type_id,
                )
            user = context.user_id or ""
            volume.project_id, volume.user_id = receiver, user
            volume.status = AVAILABLE
            volume.updated_at = utcnow()
            unit.flush()
            if moving:
                transfer_queries.move_snapshots(unit, volume.id, receiver, user)
            accepted = _view(row, destination_project_id=receiver, accepted=True)
            unit.delete(row)
            return accepted


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
