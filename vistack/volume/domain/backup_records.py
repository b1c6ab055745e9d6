"""Backup export and import (administrators): a backup's record as an opaque string, and a
backup made again from one, for a cloud that lost its database but kept its backup store.

`backup_url` is base64 of JSON: the backup's fields and its manifest (the chunk map), so an
import can put a missing manifest back. An import is accepted only when every chunk the
manifest names is in the store with its digest, and only once per id: the backup then exists
again, `available`, in the importing administrator's project, as Cinder imports. A record whose
id was changed (Tempest imports one beside its original) is a second backup of the same data:
the store keeps that data again under the new id (`BackupStore.clone`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.volume.db import backup_queries
from vistack.volume.db.backup_tables import BackupRow
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain.backup_models import AVAILABLE, Backup, backup
from vistack.volume.domain.backup_store import BackupStore, BackupStoreError, Manifest
from vistack.volume.domain.backups import BackupService

#: What `backup_service` says: Cinder names the backup driver class that holds the chunks; this
#: store keeps them as files in a directory, which is what Cinder's POSIX driver does.
SERVICE = "cinder.backup.drivers.posix.PosixBackupDriver"
_FIELDS = (
    "id",
    "volume_id",
    "snapshot_id",
    "parent_id",
    "name",
    "description",
    "container",
    "availability_zone",
    "size_gb",
    "object_count",
    "data_bytes",
    "is_incremental",
    "metadata_items",
)


class BackupRecords:
    """`export_record` and `import_record`."""

    def __init__(self, store: VolumeStore, backups: BackupService, chunks: BackupStore) -> None:
        self._store = store
        self._backups = backups
        self._chunks = chunks

    def export(self, context: RequestContext, backup_id: str) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = self._backups.visible(unit, context, backup_id)
            self._backups.authorize("backup:backup-export", context, row.project_id)
            if row.status != AVAILABLE:
                raise BadRequest(
                    f"Invalid backup: Backup status must be available, but it is {row.status}."
                )
            record: dict[str, Any] = {name: getattr(row, name) for name in _FIELDS}
            record["data_timestamp"] = row.data_timestamp.isoformat()
        try:
            record["manifest"] = self._chunks.manifest(row.container, backup_id).to_json()
        except BackupStoreError as exc:
            raise BadRequest(f"Invalid backup: {exc}") from None
        url = base64.b64encode(json.dumps(record).encode()).decode()
        return {"backup_service": SERVICE, "backup_url": url}

    def import_(self, context: RequestContext, body: Any) -> Backup:
        project_id = context.project_id or ""
        self._backups.authorize("backup:backup-import", context, project_id)
        fields = body.get("backup-record") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise BadRequest("Missing required element 'backup-record' in request body.")
        service, url = fields.get("backup_service"), fields.get("backup_url")
        if not isinstance(service, str) or not isinstance(url, str):
            raise BadRequest("Invalid input received: backup_service and backup_url are needed.")
        if service != SERVICE:
            raise BadRequest(
                f"Invalid input received: backup service {service!r} is not this cloud's "
                f"({SERVICE})."
            )
        record, manifest = _decode(url)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            if backup_queries.backup(unit, record["id"]) is not None:
                raise BadRequest("Invalid backup: Backup already exists in database.")
            parent_id = record.get("parent_id")
            if parent_id and backup_queries.backup(unit, str(parent_id)) is None:
                raise BadRequest(
                    f"Invalid backup: its parent backup {parent_id} is not in the database; "
                    "import the parent first."
                )
            self._backups.check_quota(unit, project_id, int(record["size_gb"]))
            if manifest.backup_id == record["id"]:
                wrote = self._put_manifest(manifest)
            else:
                manifest, wrote = self._clone(manifest, str(record["id"])), True
            try:
                self._chunks.verify(manifest)
            except BackupStoreError as exc:
                if wrote:
                    self._chunks.delete(manifest.container, manifest.backup_id)
                raise BadRequest(f"Invalid backup: the store cannot restore it: {exc}") from None
            now = utcnow()
            row = BackupRow(
                **{name: record[name] for name in _FIELDS},
                project_id=project_id,
                user_id=context.user_id or "",
                status=AVAILABLE,
                fail_reason=None,
                data_timestamp=datetime.fromisoformat(str(record["data_timestamp"])),
                previous_status=None,
                restore_volume_id=None,
                created_at=now,
                updated_at=now,
            )
            unit.add(row)
            unit.flush()
            return backup(row, has_children=False)

    def _clone(self, manifest: Manifest, backup_id: str) -> Manifest:
        """The data of a record whose id was changed (Tempest imports an exported record that
        way, beside the original): stored again under the new id from the original's files,
        which must still be in the store."""
        if self._chunks.exists(manifest.container, backup_id):
            raise BadRequest(
                f"Invalid backup: the store holds other data under backup {backup_id}."
            )
        try:
            return self._chunks.clone(manifest, backup_id)
        except (BackupStoreError, OSError) as exc:
            raise BadRequest(
                f"Invalid backup: the data of backup {manifest.backup_id} it was exported as "
                f"cannot be read from the store: {exc}"
            ) from None

    def _put_manifest(self, manifest: Manifest) -> bool:
        """Put the manifest back if the store lost it; whether it was written."""
        try:
            if self._chunks.manifest(manifest.container, manifest.backup_id) == manifest:
                return False
        except BackupStoreError:
            pass
        if self._chunks.exists(manifest.container, manifest.backup_id):
            raise BadRequest(
                f"Invalid backup: the store holds other data under backup {manifest.backup_id}."
            )
        self._chunks.save_manifest(manifest)
        return True


def _decode(url: str) -> tuple[dict[str, Any], Manifest]:
    try:
        record = json.loads(base64.b64decode(url.encode(), validate=True))
        if not isinstance(record, dict):
            raise ValueError("not an object")
        manifest = Manifest.from_json(record["manifest"])
        missing = [name for name in (*_FIELDS, "data_timestamp") if name not in record]
        if missing:
            raise ValueError(f"{', '.join(missing)} missing")
        datetime.fromisoformat(str(record["data_timestamp"]))
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", str(record["id"])):
            raise ValueError(f"its id {record['id']!r} is not a backup id")
        if manifest.container != record["container"]:
            raise ValueError("its manifest is another container's")
    except (binascii.Error, UnicodeError, ValueError, KeyError, BackupStoreError) as exc:
        message = f"Invalid input received: backup_url is not a backup record: {exc}"
        raise BadRequest(message) from None
    return record, manifest
