"""Project default volume types (Cinder 3.62, `/default-types`): an administrator gives a
project its own default type, which a create naming no type then uses instead of the
configured `default_volume_type` (see `VolumeTypeService.default_row`).

Setting needs an existing type the project may use (a private type must have been given to
it). A type that is some project's default cannot be deleted until the default is unset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.volume.db import default_type_tables, queries
from vistack.volume.db.default_type_tables import DefaultTypeRow
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.domain import requests


@dataclass(frozen=True)
class DefaultType:
    project_id: str
    volume_type_id: str


class DefaultTypeService:
    """Set, show, list and unset projects' default volume types."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def set(self, context: RequestContext, project_id: str, body: Any) -> DefaultType:
        """:raises BadRequest: no `volume_type`, or one the project may not use.
        :raises NotFound: no such type."""
        self._policy.authorize(
            "volume_extension:default_set_or_update", context, {"project_id": project_id}
        )
        fields = requests.body_of(body, "default_type")
        ref = fields.get("volume_type")
        if not isinstance(ref, str) or not ref:
            raise BadRequest(
                "Invalid input received: 'volume_type' must name a volume type (id or name)."
            )
        with self._store.transaction() as unit:
            row = queries.volume_type(unit, ref) or queries.volume_type_named(unit, ref)
            if row is None:
                raise NotFound(f"Volume type {ref} could not be found.")
            if not row.is_public and project_id not in queries.type_access(unit, row.id):
                raise BadRequest(
                    f"Invalid input received: volume type {ref} is private and project "
                    f"{project_id} has no access to it."
                )
            now = utcnow()
            current = default_type_tables.default_of(unit, project_id)
            if current is None:
                unit.add(
                    DefaultTypeRow(project_id=project_id, volume_type_id=row.id, created_at=now)
                )
            else:
                current.volume_type_id = row.id
                current.updated_at = now
            return DefaultType(project_id, row.id)

    def get(self, context: RequestContext, project_id: str) -> DefaultType:
        """:raises NotFound: the project has no default of its own."""
        self._policy.authorize("volume_extension:default_get", context, {"project_id": project_id})
        with self._store.transaction() as unit:
            return _view(self._require(unit, project_id))

    def list_defaults(self, context: RequestContext) -> list[DefaultType]:
        self._policy.authorize("volume_extension:default_get_all", context, {})
        with self._store.transaction() as unit:
            return [_view(r) for r in default_type_tables.all_defaults(unit)]

    def unset(self, context: RequestContext, project_id: str) -> None:
        """:raises NotFound: the project has no default of its own."""
        self._policy.authorize(
            "volume_extension:default_unset", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            unit.session.delete(self._require(unit, project_id))

    @staticmethod
    def _require(unit: VolumeUnit, project_id: str) -> DefaultTypeRow:
        row = default_type_tables.default_of(unit, project_id)
        if row is None:
            raise NotFound(f"Default type for project {project_id} could not be found.")
        return row


def _view(row: DefaultTypeRow) -> DefaultType:
    return DefaultType(row.project_id, row.volume_type_id)
