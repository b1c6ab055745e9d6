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
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.drivers.models import Provisioning
from vistack.volume.db import default_type_tables, group_queries, qos_queries, queries
from vistack.volume.db.store import Collision, VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeTypeAccessRow, VolumeTypeRow
from vistack.volume.domain import convert
from vistack.volume.domain.models import VolumeType

VMDK_TYPE = "vmware:vmdk_type"
DATASTORE_REGEX = "vmware:datastore_regex"
MAX_NAME = 255


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
        self, context: RequestContext, is_public: bool | None = None
    ) -> list[VolumeType]:
        self._policy.authorize("volume_extension:type_get_all", context, {})
        admin = self.is_admin(context)
        with self._store.transaction() as unit:
            self.default_row(unit)
            rows = queries.volume_types(unit, None if admin else context.project_id or "")
            specs = queries.all_extra_specs(unit)
            qos = qos_queries.qos_ids_by_type(unit)
            out = [convert.volume_type(r, specs.get(r.id, {}), qos.get(r.id)) for r in rows]
        if admin and is_public is not None:
            out = [t for t in out if t.is_public == is_public]
        return out

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
        fields = _body(body, "volume_type")
        name = _name(fields.get("name"))
        description = _description(fields.get("description"))
        is_public = _boolean(
            "os-volume-type-access:is_public",
            fields.get("os-volume-type-access:is_public", fields.get("is_public", True)),
        )
        specs = check_extra_specs(fields.get("extra_specs") or {})
        try:
            with self._store.transaction() as unit:
                if queries.volume_type_named(unit, name) is not None:
                    raise Collision(name)
                row = VolumeTypeRow(
                    id=str(uuid.uuid4()),
                    name=name,
                    description=description,
                    is_public=is_public,
                    created_at=utcnow(),
                )
                unit.add(row)
                queries.set_extra_specs(unit, row.id, specs)
                return convert.volume_type(row, specs)
        except Collision:
            raise Conflict(f"Volume Type {name} already exists.") from None

    def update(self, context: RequestContext, type_id: str, body: Any) -> VolumeType:
        self._policy.authorize("volume_extension:types_manage", context, {})
        fields = _body(body, "volume_type")
        if not {"name", "description", "is_public"} & set(fields):
            raise BadRequest("Specify volume type name, description, is_public or a combination.")
        try:
            with self._store.transaction() as unit:
                row = self.find(unit, context, type_id)
                if "name" in fields:
                    name = _name(fields["name"])
                    if row.name == self._default_name and name != row.name:
                        raise BadRequest("The default volume type cannot be renamed.")
                    other = queries.volume_type_named(unit, name)
                    if other is not None and other.id != row.id:
                        raise Collision(name)
                    row.name = name
                if "description" in fields:
                    row.description = _description(fields["description"])
                if "is_public" in fields:
                    row.is_public = _boolean("is_public", fields["is_public"])
                row.updated_at = utcnow()
                unit.flush()
                return convert.volume_type(row, queries.extra_specs(unit, row.id))
        except Collision:
            raise Conflict(f"Volume Type {fields.get('name')} already exists.") from None

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
        if key not in specs:
            raise NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")
        return specs[key]

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
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest("Request body must hold exactly one extra spec.")
        if key not in body:
            raise BadRequest("Request body and URI mismatch")
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            checked = check_extra_specs(body)
            queries.set_extra_specs(unit, row.id, checked)
        return checked

    def delete_extra_spec(self, context: RequestContext, type_id: str, key: str) -> None:
        self._policy.authorize("volume_extension:types_extra_specs:delete", context, {})
        with self._store.transaction() as unit:
            row = self.find(unit, context, type_id)
            if not queries.delete_extra_spec(unit, row.id, key):
                raise NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")

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


def _body(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    fields: dict[str, Any] = body[key]
    return fields


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise BadRequest("Volume type name must be a non-blank string of at most 255 characters.")
    return value.strip()


def _description(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
        raise BadRequest("Volume type description must be a string of at most 255 characters.")
    return value


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise BadRequest(f"{name} must be a boolean, not {value!r}.")


def _project(body: Any, action: str) -> str:
    fields = _body(body, action)
    project = fields.get("project")
    if not isinstance(project, str) or not project:
        raise BadRequest(f"{action} needs a 'project'.")
    return project
