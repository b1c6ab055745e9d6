"""Volume types: named sets of extra specs saying where and how a volume's disk is made.

The extra specs this cloud acts on (validated when set, so a bad one fails at once and not at
the next create):
- `vmware:vmdk_type`: thin (default), thick or eagerZeroedThick, the disk's allocation;
- `vmware:datastore_regex`: only datastores whose name matches (Python `re.fullmatch`).
Any other spec is kept and shown, as Cinder keeps specs other backends read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.drivers.models import Provisioning
from vistack.volume.db import default_type_tables, group_queries, qos_queries, queries
from vistack.volume.db.store import Collision, VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeTypeAccessRow, VolumeTypeRow
from vistack.volume.domain import convert, multiattach, requests, type_rules
from vistack.volume.domain.models import VolumeType
from vistack.volume.domain.type_rules import MAX_NAME, VOLUME_TYPE

VMDK_TYPE = "vmware:vmdk_type"
DATASTORE_REGEX = "vmware:datastore_regex"


def provisioning_of(specs: dict[str, str]) -> Provisioning:
    return Provisioning(specs.get(VMDK_TYPE, Provisioning.THIN.value))


def check_extra_specs(specs: Any) -> dict[str, str]:
    """Extra specs as strings, the ones this cloud reads validated.

    :raises BadRequest: not an object of short string keys and values, or a known spec is bad.
    """
    if not isinstance(specs, dict):
        raise BadRequest("extra_specs must be an object of string keys and values.")
    out: dict[str, str] = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_NAME:
            raise BadRequest(f"Extra spec key {key!r} must be 1 to 255 characters.")
        if isinstance(value, bool):
            value = str(value)
        if isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise BadRequest(f"Extra spec {key!r} must be a string of at most 255 characters.")
        out[key] = value
    if VMDK_TYPE in out and out[VMDK_TYPE] not in {p.value for p in Provisioning}:
        raise BadRequest(
            f"Extra spec {VMDK_TYPE} must be one of thin, thick, eagerZeroedThick, "
            f"not {out[VMDK_TYPE]!r}."
        )
    if DATASTORE_REGEX in out:
        try:
            re.compile(out[DATASTORE_REGEX])
        except re.error as exc:
            raise BadRequest(
                f"Extra spec {DATASTORE_REGEX} is not a regular expression: {exc}"
            ) from None
    multiattach.check_specs(out)
    return out


class VolumeTypeService:
    """Create, read, update and delete volume types, their extra specs and their access."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine, default_name: str) -> None:
        self._store = store
        self._policy = policy
        self._default_name = default_name

    # -- lookups shared with volume creation ---------------------------------------------------

    def is_admin(self, context: RequestContext) -> bool:
        return self._policy.check("volume_extension:types_manage", context, {})

    def find(self, unit: VolumeUnit, context: RequestContext, ref: str) -> VolumeTypeRow:
        """A type by id or name that `context` may use.

        :raises NotFound: no such type, or a private one the caller's project was not given.
        """
        row = queries.volume_type(unit, ref) or queries.volume_type_named(unit, ref)
        if row is None or not self._may_use(unit, context, row):
            raise NotFound(f"Volume type {ref} could not be found.")
        return row

    def default_row(self, unit: VolumeUnit, project_id: str | None = None) -> VolumeTypeRow:
        """The project's own default type (3.62's `/default-types`) when it has one, else the
        configured default, made when missing (a renamed default in the config)."""
        if project_id:
            chosen = default_type_tables.default_of(unit, project_id)
            if chosen is not None:
                own = queries.volume_type(unit, chosen.volume_type_id)
                if own is not None:
                    return own
        row = queries.volume_type_named(unit, self._default_name)
        if row is None:
            row = VolumeTypeRow(
                id=str(uuid.uuid4()),
                name=self._default_name,
                description="Default Volume Type",
                is_public=True,
                created_at=utcnow(),
            )
            unit.add(row)
        return row

    def _may_use(self, unit: VolumeUnit, context: RequestContext, row: VolumeTypeRow) -> bool:
        if row.is_public or self.is_admin(context):
            return True
        return queries.type_access_row(unit, row.id, context.project_id or "") is not None

    # -- the API -------------------------------------------------------------------------------

    def list_types(
        self,
        context: RequestContext,
        query: Mapping[str, str],
        extra_specs: Mapping[str, str] | None = None,
    ) -> list[VolumeType]:
        """The volume types, filtered, sorted and cut as Cinder's list is.

        `is_public` is an administrator's filter (`type_rules.public_filter`): absent or true,
        the public types and the private ones the caller's project was given; false, the
        private ones; `none`, all. Everyone else sees the public types and those given to
        their project, whatever they ask. `extra_specs` (3.52) keeps the types having every
        one of them (values compared as text). Then `type_rules.page_types` sorts and cuts.

        :raises BadRequest: an unknown sort key or direction, a bad limit or is_public.
        :raises NotFound: the marker is no type of the list.
        """
        self._policy.authorize("volume_extension:type_get_all", context, {})
        is_public = type_rules.public_filter(self.is_admin(context), query)
        wanted = dict(extra_specs or {})
        with self._store.transaction() as unit:
            self.default_row(unit)
            rows = queries.volume_types(unit, (context.project_id or "") if is_public else None)
            specs = queries.all_extra_specs(unit)
            kept = [
                r
                for r in rows
                if is_public is not False or not r.is_public
                if all(specs.get(r.id, {}).get(k) == v for k, v in wanted.items())
            ]
            qos = qos_queries.qos_ids_by_type(unit)
            return [
                convert.volume_type(r, specs.get(r.id, {}), qos.get(r.id))
                for r in type_rules.page_types(kept, query)
            ]

    def show(self, context: RequestContext, ref: str) -> VolumeType:
        self._policy.authorize("volume_extension:type_get", context, {})
        with self._store.transaction() as unit:
            row = self.find(unit, context, ref)
            qos = qos_queries.association(unit, row.id)
            return convert.volume_type(
                row, queries.extra_specs(unit, row.id), qos.qos_id if qos is not None else None
            )

    def default(self, context: RequestContext) -> VolumeType:
        self._policy.authorize("volume_extension:type_get", context, {})
        with self._store.transaction() as unit:
            row = self.default_row(unit, context.project_id)
            return convert.volume_type(row, queries.extra_specs(unit, row.id))

    def create(self, context: RequestContext, body: Any) -> VolumeType:
        self._policy.authorize("volume_extension:types_manage", context, {})
        fields = requests.body_of(body, "volume_type")
        values = type_rules.new_type_values(VOLUME_TYPE, fields)
        specs = check_extra_specs(fields.get("extra_specs") or {})
        try:
            with self._store.transaction() as unit:
                if queries.volume_type_named(unit, values["name"]) is not None:
                    raise Collision(values["name"])
                row = VolumeTypeRow(**values)
                unit.add(row)
                queries.set_extra_specs(unit, row.id, specs)
                return convert.volume_type(row, specs)
        except Collision:
            raise Conflict(VOLUME_TYPE.conflict(values["name"])) from None

    def update(self, context: RequestContext, type_id: str, body: Any) -> VolumeType:
        self._policy.authorize("volume_extension:types_manage", context, {})
        fields = requests.body_of(body, "volume_type")
        try:
            with self._store.transaction() as unit:
                row = self.find(unit, context, type_id)
                type_rules.update_type(
                    VOLUME_TYPE,
                    row,
                    fields,
                    default_name=self._default_name,
                    named=lambda name: queries.volume_type_named(unit, name),
                )
                unit.flush()
                return convert.volume_type(row, queries.extra_specs(unit, row.id))
        except Collision:
            raise Conflict(VOLUME_TYPE.conflict(fields.get("name"))) from None

    def delete(self, context: RequestContext, type_id: str) -> None:
        self._policy.authorize("volume_extension:types_manage", context, {})
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if row.name == self._default_name:
                raise BadRequest("Default volume type can not be deleted.")
            projects = default_type_tables.projects_defaulting_to(unit, row.id)
            if projects:
                raise BadRequest(
                    f"Volume type {row.id} is the default volume type of project(s) "
                    f"{', '.join(projects)}; unset it there first (/default-types)."
                )
            if queries.volumes_of_type(unit, row.id):
                raise BadRequest(
                    f"Volume Type {row.id} deletion is not allowed with volumes present with the "
                    "type."
                )
            if group_queries.groups_using_volume_type(unit, row.id):
                raise BadRequest(f"Volume Type {row.id} is still in use by a generic volume group.")
            unit.delete(row)

    # -- extra specs ---------------------------------------------------------------------------

    def extra_specs(self, context: RequestContext, type_id: str) -> dict[str, str]:
        self._policy.authorize("volume_extension:types_extra_specs:index", context, {})
        with self._store.transaction() as unit:
            return queries.extra_specs(unit, self.find(unit, context, type_id).id)

    def extra_spec(self, context: RequestContext, type_id: str, key: str) -> str:
        self._policy.authorize("volume_extension:types_extra_specs:show", context, {})
        with self._store.transaction() as unit:
            specs = queries.extra_specs(unit, self.find(unit, context, type_id).id)
        return type_rules.spec_value(VOLUME_TYPE, specs, type_id, key)

    def set_extra_specs(self, context: RequestContext, type_id: str, specs: Any) -> dict[str, str]:
        self._policy.authorize("volume_extension:types_extra_specs:create", context, {})
        checked = check_extra_specs(specs)
        if not checked:
            raise BadRequest("extra_specs must not be empty.")
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            # Validated together with what is there, so the result is a valid whole.
            check_extra_specs({**queries.extra_specs(unit, row.id), **checked})
            queries.set_extra_specs(unit, row.id, checked)
            row.updated_at = utcnow()
        return checked

    def update_extra_spec(
        self, context: RequestContext, type_id: str, key: str, body: Any
    ) -> dict[str, str]:
        self._policy.authorize("volume_extension:types_extra_specs:update", context, {})
        type_rules.one_spec(VOLUME_TYPE, body, key)
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            checked = check_extra_specs(body)
            check_extra_specs({**queries.extra_specs(unit, row.id), **checked})
            queries.set_extra_specs(unit, row.id, checked)
        return checked

    def delete_extra_spec(self, context: RequestContext, type_id: str, key: str) -> None:
        self._policy.authorize("volume_extension:types_extra_specs:delete", context, {})
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if not queries.delete_extra_spec(unit, row.id, key):
                raise NotFound(type_rules.missing_spec(VOLUME_TYPE, type_id, key))

    # -- access --------------------------------------------------------------------------------

    def access(self, context: RequestContext, type_id: str) -> list[str]:
        self._policy.authorize("volume_extension:volume_type_access", context, {})
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if row.is_public:
                raise NotFound("Access list not available for public volume types.")
            return queries.type_access(unit, row.id)

    def add_access(self, context: RequestContext, type_id: str, body: Any) -> None:
        self._policy.authorize("volume_extension:volume_type_access:addProjectAccess", context, {})
        project = _project(body, "addProjectAccess")
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if row.is_public:
                raise BadRequest(
                    "Invalid volume type: Type access modification is not applicable to public "
                    "volume type."
                )
            if queries.type_access_row(unit, row.id, project) is not None:
                raise Conflict(
                    f"Volume type access for {row.id} / {project} combination already exists."
                )
            unit.add(VolumeTypeAccessRow(type_id=row.id, project_id=project))

    def remove_access(self, context: RequestContext, type_id: str, body: Any) -> None:
        self._policy.authorize(
            "volume_extension:volume_type_access:removeProjectAccess", context, {}
        )
        project = _project(body, "removeProjectAccess")
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if row.is_public:
                raise BadRequest(
                    "Invalid volume type: Type access modification is not applicable to public "
                    "volume type."
                )
            access = queries.type_access_row(unit, row.id, project)
            if access is None:
                raise NotFound(
                    f"Volume type access not found for {row.id} / {project} combination."
                )
            unit.delete(access)


def _project(body: Any, action: str) -> str:
    fields = requests.body_of(body, action)
    project = fields.get("project")
    if not isinstance(project, str) or not project:
        raise BadRequest(f"{action} needs a 'project'.")
    return project
