"""Group types (3.11): named sets of group specs a generic volume group is made with.

Administrators manage them; everyone may list and show the public ones (a private type is an
administrator's until Cinder gives it an access API, which it does not). The default group
type is the one the settings name (`volume.default_group_type`, Cinder's option); none named, or
none of that name, is Cinder's 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.volume.db import group_queries as gq
from vistack.volume.db.group_tables import GroupTypeRow
from vistack.volume.db.store import Collision, VolumeStore, VolumeUnit
from vistack.volume.domain import requests, type_rules
from vistack.volume.domain.group_models import GroupType, group_type
from vistack.volume.domain.type_rules import GROUP_TYPE
from vistack.volume.domain.types import check_extra_specs


class GroupTypeService:
    """Create, read, update and delete group types and their group specs."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine, default_name: str) -> None:
        self._store = store
        self._policy = policy
        self._default_name = default_name

    def is_admin(self, context: RequestContext) -> bool:
        return self._policy.check("volume_extension:types_manage", context, {})

    def sees_specs(self, context: RequestContext) -> bool:
        """Whether views show `group_specs` (Cinder's `group:access_group_types_specs`)."""
        return self._policy.check("group:access_group_types_specs", context, {})

    def _authorize(self, rule: str, context: RequestContext) -> None:
        self._policy.authorize(rule, context, {"project_id": context.project_id or ""})

    def find(self, unit: VolumeUnit, context: RequestContext, ref: str) -> GroupTypeRow:
        """A group type by id or name that `context` may see.

        :raises NotFound: no such type, or a private one and the caller no administrator.
        """
        row = gq.group_type(unit, ref) or gq.group_type_named(unit, ref)
        if row is None or not (row.is_public or self.is_admin(context)):
            raise NotFound(f"Group type {ref} could not be found.")
        return row

    def _view(self, unit: VolumeUnit, row: GroupTypeRow) -> GroupType:
        return group_type(row, gq.group_specs(unit, row.id))

    # -- types -----------------------------------------------------------------------------

    def list_types(self, context: RequestContext, query: Mapping[str, str]) -> list[GroupType]:
        """The group types, filtered, sorted and cut as Cinder's list is.

        `is_public` is an administrator's filter: absent, the public types (Cinder's default);
        `true`/`false`, the public or the private ones; `none`, all. Everyone else sees the
        public ones whatever they ask. `sort` (or `sort_key`/`sort_dir`) orders by a column,
        newest first by default; `limit`, `marker` and `offset` cut the list.

        :raises BadRequest: an unknown sort key or direction, a bad limit or is_public.
        :raises NotFound: the marker is no type of the list.
        """
        admin = self.is_admin(context)
        is_public = type_rules.public_filter(admin, query)
        with self._store.transaction() as unit:
            rows = [
                r
                for r in gq.group_types(unit, public_only=not admin)
                if is_public is None or r.is_public == is_public
            ]
            specs = gq.all_group_specs(unit)
            return [group_type(r, specs.get(r.id, {})) for r in type_rules.page_types(rows, query)]

    def show(self, context: RequestContext, ref: str) -> GroupType:
        with self._store.transaction() as unit:
            return self._view(unit, self.find(unit, context, ref))

    def default(self, context: RequestContext) -> GroupType:
        with self._store.transaction() as unit:
            row = gq.group_type_named(unit, self._default_name) if self._default_name else None
            if row is None or not (row.is_public or self.is_admin(context)):
                raise NotFound(
                    "Default group type could not be found: none is configured "
                    "(volume.default_group_type)."
                    if not self._default_name
                    else f"Default group type {self._default_name} could not be found."
                )
            return self._view(unit, row)

    def create(self, context: RequestContext, body: Any) -> GroupType:
        self._authorize("group:group_types:create", context)
        fields = requests.body_of(body, "group_type")
        values = type_rules.new_type_values(GROUP_TYPE, fields)
        specs = check_extra_specs(fields.get("group_specs") or {})
        try:
            with self._store.transaction() as unit:
                if gq.group_type_named(unit, values["name"]) is not None:
                    raise Collision(values["name"])
                row = GroupTypeRow(**values)
                unit.add(row)
                unit.flush()
                gq.set_group_specs(unit, row.id, specs)
                return group_type(row, specs)
        except Collision:
            raise Conflict(GROUP_TYPE.conflict(values["name"])) from None

    def update(self, context: RequestContext, type_id: str, body: Any) -> GroupType:
        self._authorize("group:group_types:update", context)
        fields = requests.body_of(body, "group_type")
        try:
            with self._store.transaction() as unit:
                row = self.find(unit, context, type_id)
                type_rules.update_type(
                    GROUP_TYPE,
                    row,
                    fields,
                    default_name=self._default_name,
                    named=lambda name: gq.group_type_named(unit, name),
                )
                unit.flush()
                return self._view(unit, row)
        except Collision:
            raise Conflict(GROUP_TYPE.conflict(fields.get("name"))) from None

    def delete(self, context: RequestContext, type_id: str) -> None:
        self._authorize("group:group_types:delete", context)
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if row.name == self._default_name:
                raise BadRequest("The default group type cannot be deleted.")
            if gq.groups_of_type(unit, row.id):
                raise BadRequest(
                    f"Group Type {row.id} deletion is not allowed with groups present."
                )
            unit.delete(row)

    # -- group specs -----------------------------------------------------------------------

    def specs(self, context: RequestContext, type_id: str) -> dict[str, str]:
        self._authorize("group:group_types_specs:get_all", context)
        with self._store.transaction() as unit:
            return gq.group_specs(unit, self.find(unit, context, type_id).id)

    def spec(self, context: RequestContext, type_id: str, key: str) -> str:
        self._authorize("group:group_types_specs:get", context)
        with self._store.transaction() as unit:
            specs = gq.group_specs(unit, self.find(unit, context, type_id).id)
        return type_rules.spec_value(GROUP_TYPE, specs, type_id, key)

    def set_specs(self, context: RequestContext, type_id: str, body: Any) -> dict[str, str]:
        """POST: create or update the specs given (the others stay)."""
        self._authorize("group:group_types_specs:create", context)
        if not isinstance(body, dict) or "group_specs" not in body:
            raise BadRequest("Missing required element 'group_specs' in request body.")
        specs = check_extra_specs(body["group_specs"])
        if not specs:
            raise BadRequest("group_specs must not be empty.")
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            gq.set_group_specs(unit, row.id, specs)
            row.updated_at = utcnow()
        return specs

    def update_spec(
        self, context: RequestContext, type_id: str, key: str, body: Any
    ) -> dict[str, str]:
        self._authorize("group:group_types_specs:update", context)
        type_rules.one_spec(GROUP_TYPE, body, key)
        specs = check_extra_specs(body)
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            gq.set_group_specs(unit, row.id, specs)
            row.updated_at = utcnow()
        return specs

    def delete_spec(self, context: RequestContext, type_id: str, key: str) -> None:
        self._authorize("group:group_types_specs:delete", context)
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if not gq.delete_group_spec(unit, row.id, key):
                raise NotFound(type_rules.missing_spec(GROUP_TYPE, type_id, key))
