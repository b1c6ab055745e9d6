"""Cinder's user messages (3.3, paged at 3.5): the reason an asynchronous operation failed,
told to the project that asked for it.

Where Cinder records one, so does this service: a volume whose build fails (no datastore with
room, the image's copy failing, the driver failing), an extend, re-image or snapshot that
fails, an attachment refused for its mode. Each is written in the transaction that puts the
resource in its error status (`disk_jobs.fail_volume`), so a message never tells of a failure
that was not recorded, nor the reverse.

The identifiers are Cinder's (`message_field`): `event_id` is
`VOLUME_<resource type>_<action id>_<detail id>` and `user_message` is
`<action>: <detail>`, so scripts matching on them work unchanged. Messages expire after
`ttl` (Cinder's `message_ttl`, 30 days); expired ones are never shown and are pruned whenever
a message is recorded or listed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import NotFound
from vistack.common.policy import PolicyEngine
from vistack.drivers.errors import NoCapacityError
from vistack.volume.db import message_queries
from vistack.volume.db.message_tables import VolumeMessageRow
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.domain import list_scope, listing
from vistack.volume.domain.placement import NoValidDatastore

#: Cinder's default `message_ttl` (seconds): 30 days.
DEFAULT_TTL = timedelta(seconds=2592000)
ERROR = "ERROR"

# Resource types.
VOLUME = "VOLUME"
VOLUME_SNAPSHOT = "VOLUME_SNAPSHOT"
VOLUME_BACKUP = "VOLUME_BACKUP"


@dataclass(frozen=True)
class Part:
    """An action or a detail of Cinder's `message_field`: its id and its words."""

    id: str
    text: str


# Actions (Cinder's ids).
SCHEDULE_ALLOCATE_VOLUME = Part("001", "schedule allocate volume")
ATTACH_VOLUME = Part("002", "attach volume")
UPDATE_ATTACHMENT = Part("004", "update attachment")
COPY_IMAGE_TO_VOLUME = Part("005", "copy image to volume")
EXTEND_VOLUME = Part("007", "extend volume")
CREATE_VOLUME_FROM_BACKEND = Part("008", "create volume from backend storage")
SNAPSHOT_CREATE = Part("009", "create snapshot")
SNAPSHOT_DELETE = Part("010", "delete snapshot")
BACKUP_CREATE = Part("013", "create backup")
BACKUP_DELETE = Part("014", "delete backup")
BACKUP_RESTORE = Part("015", "restore backup")
REIMAGE_VOLUME = Part("016", "reimage volume")

# Details (Cinder's ids).
UNKNOWN_ERROR = Part("001", "An unknown error occurred.")
NO_BACKEND_AVAILABLE = Part("003", "Could not find any available weighted backend.")
VOLUME_ATTACH_MODE_INVALID = Part("005", "Volume's attach mode is invalid.")
DRIVER_FAILED_EXTEND = Part("010", "Volume Driver failed to extend volume.")
DRIVER_FAILED_CREATE = Part("012", "Driver failed to create the volume.")
SNAPSHOT_CREATE_ERROR = Part("013", "Snapshot failed to create.")
SNAPSHOT_DELETE_ERROR = Part("016", "Snapshot failed to delete.")
BACKUP_CREATE_DRIVER_ERROR = Part("020", "Backup driver failed to create backup.")
BACKUP_DELETE_DRIVER_ERROR = Part("025", "Backup driver failed to delete backup.")
BACKUP_RESTORE_ERROR = Part("026", "Backup driver failed to restore backup.")
REIMAGE_VOLUME_FAILED = Part("028", "Compute service failed to reimage volume.")


@dataclass(frozen=True)
class Event:
    """What failed (`action`), why (`detail`), on which kind of resource."""

    resource_type: str
    action: Part
    detail: Part

    @property
    def event_id(self) -> str:
        return f"VOLUME_{self.resource_type}_{self.action.id}_{self.detail.id}"

    @property
    def user_message(self) -> str:
        return f"{self.action.text}: {self.detail.text}"


def build_failed(exc: BaseException, *, from_image: bool) -> Event:
    """The event of a volume build that failed with `exc`. No datastore allowed or with room
    (placement's or the driver's word) is the scheduler's NO_BACKEND_AVAILABLE, whatever the
    source; an image copy's failure is COPY_IMAGE_TO_VOLUME; anything else is the driver's
    failed create."""
    if isinstance(exc, NoCapacityError | NoValidDatastore):
        return Event(VOLUME, SCHEDULE_ALLOCATE_VOLUME, NO_BACKEND_AVAILABLE)
    if from_image:
        return Event(VOLUME, COPY_IMAGE_TO_VOLUME, UNKNOWN_ERROR)
    return Event(VOLUME, CREATE_VOLUME_FROM_BACKEND, DRIVER_FAILED_CREATE)


EXTEND_FAILED = Event(VOLUME, EXTEND_VOLUME, DRIVER_FAILED_EXTEND)
REIMAGE_FAILED = Event(VOLUME, REIMAGE_VOLUME, REIMAGE_VOLUME_FAILED)
SNAPSHOT_CREATE_FAILED = Event(VOLUME_SNAPSHOT, SNAPSHOT_CREATE, SNAPSHOT_CREATE_ERROR)
SNAPSHOT_DELETE_FAILED = Event(VOLUME_SNAPSHOT, SNAPSHOT_DELETE, SNAPSHOT_DELETE_ERROR)
ATTACH_MODE_INVALID = Event(VOLUME, UPDATE_ATTACHMENT, VOLUME_ATTACH_MODE_INVALID)
#: For the backup jobs: record one of these where a backup's create, delete or restore fails.
BACKUP_CREATE_FAILED = Event(VOLUME_BACKUP, BACKUP_CREATE, BACKUP_CREATE_DRIVER_ERROR)
BACKUP_DELETE_FAILED = Event(VOLUME_BACKUP, BACKUP_DELETE, BACKUP_DELETE_DRIVER_ERROR)
BACKUP_RESTORE_FAILED = Event(VOLUME_BACKUP, BACKUP_RESTORE, BACKUP_RESTORE_ERROR)


def record(
    unit: VolumeUnit,
    event: Event,
    *,
    project_id: str,
    resource_uuid: str | None,
    request_id: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> VolumeMessageRow:
    """Write a message in the caller's transaction (and prune the expired ones).

    `request_id` is the request that started the work when it is known; a job run from the
    bus has none, and gets a fresh `req-` id so that the field is never empty.
    """
    now = utcnow()
    message_queries.prune(unit, now)
    row = VolumeMessageRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        request_id=request_id or f"req-{uuid.uuid4()}",
        resource_type=event.resource_type,
        resource_uuid=resource_uuid,
        event_id=event.event_id,
        message_level=ERROR,
        user_message=event.user_message,
        created_at=now,
        expires_at=now + ttl,
    )
    unit.add(row)
    unit.flush()
    return row


@dataclass(frozen=True)
class Message:
    id: str
    project_id: str
    request_id: str
    resource_type: str | None
    resource_uuid: str | None
    event_id: str
    message_level: str
    user_message: str
    created_at: datetime
    guaranteed_until: datetime


#: Cinder's filters on messages (resource_filters.json) and its sort keys.
FILTERS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")
SORT_KEYS = ("id", "created_at", "event_id", "resource_type", "resource_uuid", "message_level")


class MessageService:
    """List, show and delete the caller's messages (any project's for an administrator)."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def list_messages(
        self, context: RequestContext, query: Mapping[str, str], *, paged: bool
    ) -> tuple[list[Message], bool]:
        """Filtered, sorted and paged at 3.5 (`paged`); before it, every message, newest
        first, as Cinder lists them."""
        self._policy.authorize("message:get_all", context, {"project_id": context.project_id})
        project = list_scope.project_of(self._policy, context, query)
        params = listing.parse_params(query if paged else {}, SORT_KEYS)
        wanted = {k: query[k] for k in FILTERS if paged and query.get(k)}
        now = utcnow()
        with self._store.transaction() as unit:
            message_queries.prune(unit, now)
            rows = message_queries.messages(unit, project, now)
            found = [
                _message(r) for r in rows if all(getattr(r, k) == v for k, v in wanted.items())
            ]
        return listing.page(found, params, getattr, lambda m: m.id)

    def get(self, context: RequestContext, message_id: str) -> Message:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, message_id)
            self._policy.authorize("message:get", context, {"project_id": row.project_id})
            return _message(row)

    def delete(self, context: RequestContext, message_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._visible(unit, context, message_id)
            self._policy.authorize("message:delete", context, {"project_id": row.project_id})
            unit.delete(row)

    def _visible(
        self, unit: VolumeUnit, context: RequestContext, message_id: str
    ) -> VolumeMessageRow:
        row = message_queries.message(unit, message_id)
        if (
            row is None
            or row.expires_at <= utcnow()
            or not self._policy.check("message:get", context, {"project_id": row.project_id})
        ):
            raise NotFound(f"Message {message_id} could not be found.")
        return row


def _message(row: VolumeMessageRow) -> Message:
    return Message(
        id=row.id,
        project_id=row.project_id,
        request_id=row.request_id,
        resource_type=row.resource_type,
        resource_uuid=row.resource_uuid,
        event_id=row.event_id,
        message_level=row.message_level,
        user_message=row.user_message,
        created_at=row.created_at,
        guaranteed_until=row.expires_at,
    )
