"""Flavors: what a server is given (vCPUs, memory, disks), their extra specs and, for private
ones, the projects allowed to use them, with Nova 2.1's rules and messages.

Visibility is Nova's: an administrator sees every flavor; anyone else sees the public ones and
the private ones granted to their project, and lists leave out disabled flavors. A server build
copies `for_build`'s snapshot, so a flavor changed or deleted later never changes a server.

Bodies are checked here, field by field, with messages that say what to change: a request that
fails a check writes nothing.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import flavors as queries
from vistack.compute.db.store import Collision, ComputeStore, ComputeUnit
from vistack.compute.db.tables import FlavorRow
from vistack.compute.domain import extra_spec_rules

#: Nova's largest integer (its columns are signed 32-bit).
MAX_INT = 2**31 - 1
#: Nova's largest rxtx_factor (a single-precision float column).
MAX_FLOAT = 3.40282e38
_FLAVOR_ID = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
_DIGITS = re.compile(r"^[0-9]+$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SPEC_KEY = re.compile(r"^[a-zA-Z0-9_.: -]{1,255}$")
_PROJECT_ID = re.compile(r"^[a-zA-Z0-9-]{1,64}$")
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}
CREATE_FIELDS = frozenset(
    {
        "name",
        "id",
        "ram",
        "vcpus",
        "disk",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "rxtx_factor",
        "os-flavor-access:is_public",
    }
)
#: Attempts at a write that met a concurrent one on the same keys before giving up with 409.
WRITE_ATTEMPTS = 3

#: Nova's classic defaults: (id, name, vCPUs, RAM MB, root disk GB).
DEFAULT_FLAVORS = (
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
)


@dataclass(frozen=True)
class NewFlavor:
    """A checked create request."""

    id: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap_mb: int
    rxtx_factor: float
    is_public: bool
    #: 2.55's free text (None: none given).
    description: str | None = None


@dataclass(frozen=True)
class Flavor:
    """A flavor as the API shows it (extra specs apart: 2.1 does not embed them)."""

    id: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap_mb: int
    rxtx_factor: float
    is_public: bool
    disabled: bool
    description: str | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class FlavorQuery:
    """One `GET /flavors[/detail]`, its parameters parsed (is_public still as given: only an
    administrator's counts, and the domain decides who is one)."""

    min_ram: int | None = None
    min_disk: int | None = None
    is_public: str | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int = 1000
    marker: str | None = None


def to_flavor(row: FlavorRow) -> Flavor:
    return Flavor(
        id=row.id,
        name=row.name,
        vcpus=row.vcpus,
        memory_mb=row.memory_mb,
        root_gb=row.root_gb,
        ephemeral_gb=row.ephemeral_gb,
        swap_mb=row.swap_mb,
        rxtx_factor=row.rxtx_factor,
        is_public=row.is_public,
        disabled=row.disabled,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def flavor_not_found(flavor_id: str) -> NotFound:
    return NotFound(f"Flavor {flavor_id} could not be found.")


def spec_not_found(flavor_id: str, key: str) -> NotFound:
    return NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")


class FlavorService:
    """Every flavor operation of the API, called with the caller's context."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def is_admin(self, context: RequestContext) -> bool:
        """Nova's `context.is_admin`: sees private and disabled flavors, filters on is_public."""
        return self._policy.check("admin_required", context, {})

    # ------------------------------------------------------------------ bootstrap

    def ensure_defaults(self) -> None:
        """Create the classic m1.* flavors whose id and name are both still free.

        Called at every start: one an administrator changed stays as changed, one whose id or
        name was taken by another flavor is skipped. One deleted comes back (nothing records
        the deletion). Each is created in its own transaction and a collision with another
        process doing the same is not an error.
        """
        for flavor_id, name, vcpus, ram, disk in DEFAULT_FLAVORS:
            new = NewFlavor(flavor_id, name, vcpus, ram, disk, 0, 0, 1.0, True)
            try:
                with self._store.transaction() as unit:
                    if queries.get(unit, flavor_id) or queries.by_name(unit, name):
                        continue
                    queries.create(unit, new, utcnow())
            except Collision:
                continue

    # ------------------------------------------------------------------ flavors

    def list_flavors(self, context: RequestContext, query: FlavorQuery) -> list[Flavor]:
        """One page of the flavors the caller may see, filtered and sorted as asked.

        :raises BadRequest: `is_public` is not a boolean or "none"; the marker is unknown.
        """
        admin = self.is_admin(context)
        is_public: bool | None = True
        if admin:
            is_public = _is_public_filter(query.is_public)
        with self._store.transaction() as unit:
            rows = queries.listed(
                unit,
                project_id=context.project_id,
                is_public=is_public,
                include_disabled=admin,
                min_ram=query.min_ram,
                min_disk=query.min_disk,
            )
            marker = None
            if query.marker is not None:
                marker = queries.visible(unit, query.marker, context.project_id, admin)
                if marker is None:
                    raise BadRequest(f"marker [{query.marker}] not found")
            flavors = [to_flavor(row) for row in rows]
        key = _sort_key(query.sort_key)
        reverse = query.sort_dir == "desc"
        flavors.sort(key=key, reverse=reverse)
        if marker is not None:
            after = key(to_flavor(marker))
            flavors = [f for f in flavors if (key(f) < after if reverse else key(f) > after)]
        return flavors[: query.limit]

    def get(self, context: RequestContext, flavor_id: str) -> Flavor:
        """:raises NotFound: unknown, or private and not granted to the caller's project."""
        with self._store.transaction() as unit:
            return to_flavor(self._visible(unit, context, flavor_id))

    def create(self, context: RequestContext, body: Any, *, described: bool = False) -> Flavor:
        """Create a flavor from `{"flavor": {...}}` (Nova 2.1's fields, and a `description`
        when `described`: microversion 2.55 and later).

        :raises Forbidden: not an administrator.
        :raises BadRequest: a field is missing, unknown or out of range.
        :raises Conflict: the id or the name is taken.
        """
        self._policy.authorize("os_compute_api:os-flavor-manage:create", context, {})
        new = parse_flavor(body, described=described)
        try:
            with self._store.transaction() as unit:
                self._refuse_duplicate(unit, new)
                row = queries.create(unit, new, utcnow())
                return to_flavor(row)
        except Collision:
            # Another request took the id or the name between the check and the insert.
            with self._store.transaction() as unit:
                self._refuse_duplicate(unit, new)
            raise Conflict(
                f"Flavor {new.name} could not be created: another request changed flavors "
                "at the same time. Try again."
            ) from None

    def describe(self, context: RequestContext, flavor_id: str, body: Any) -> Flavor:
        """`PUT /flavors/{id}` (2.55): a flavor's description is the only thing that changes
        after its creation (`{"flavor": {"description": ...}}`).

        :raises BadRequest: another field, or not a description. :raises NotFound: unknown.
        """
        self._policy.authorize("os_compute_api:os-flavor-manage:update", context, {})
        if not isinstance(body, dict) or not isinstance(body.get("flavor"), dict):
            raise BadRequest(
                "Invalid input for field/attribute flavor. 'flavor' is a required property"
            )
        _refuse_extra(body, {"flavor"})
        _refuse_extra(body["flavor"], {"description"})
        if "description" not in body["flavor"]:
            raise BadRequest(
                "Invalid input for field/attribute flavor. 'description' is a required property"
            )
        description = _description(body["flavor"]["description"])
        with self._store.transaction() as unit:
            row = queries.get(unit, flavor_id)
            if row is None:
                raise flavor_not_found(flavor_id)
            queries.set_description(unit, row, description, utcnow())
            return to_flavor(row)

    def delete(self, context: RequestContext, flavor_id: str) -> None:
        """Delete a flavor (servers keep the copy they were built with).

        :raises NotFound: unknown flavor.
        """
        self._policy.authorize("os_compute_api:os-flavor-manage:delete", context, {})
        with self._store.transaction() as unit:
            row = queries.get(unit, flavor_id)
            if row is None:
                raise flavor_not_found(flavor_id)
            queries.delete_flavor(unit, row)

    def for_build(self, context: RequestContext, flavor_id: str) -> dict[str, Any]:
        """The flavor a server build copies: sizes, extra specs and whether it is public.

        :raises BadRequest: unknown, disabled, or private and not granted to the caller's
            project (administrators may use any enabled flavor).
        """
        admin = self.is_admin(context)
        with self._store.transaction() as unit:
            row = queries.visible(unit, flavor_id, context.project_id, admin)
            if row is None or row.disabled:
                raise BadRequest(f"Flavor {flavor_id} could not be found.")
            flavor = to_flavor(row)
            specs = queries.extra_specs(unit, flavor_id)
        return {
            "id": flavor.id,
            "name": flavor.name,
            "vcpus": flavor.vcpus,
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb,
            "ephemeral": flavor.ephemeral_gb,
            "swap": flavor.swap_mb,
            "rxtx_factor": flavor.rxtx_factor,
            "extra_specs": specs,
            "is_public": flavor.is_public,
        }

    # ------------------------------------------------------------------ extra specs

    def extra_specs(self, context: RequestContext, flavor_id: str) -> dict[str, str]:
        self._policy.authorize(
            "os_compute_api:os-flavor-extra-specs:index",
            context,
            {"project_id": context.project_id},
        )
        with self._store.transaction() as unit:
            self._visible(unit, context, flavor_id)
            return queries.extra_specs(unit, flavor_id)

    def extra_spec(self, context: RequestContext, flavor_id: str, key: str) -> dict[str, str]:
        """`{key: value}` of one extra spec.

        :raises NotFound: unknown flavor, or no such key.
        """
        self._policy.authorize(
            "os_compute_api:os-flavor-extra-specs:show",
            context,
            {"project_id": context.project_id},
        )
        with self._store.transaction() as unit:
            self._visible(unit, context, flavor_id)
            specs = queries.extra_specs(unit, flavor_id)
        if key not in specs:
            raise spec_not_found(flavor_id, key)
        return {key: specs[key]}

    def set_extra_specs(
        self, context: RequestContext, flavor_id: str, body: Any, *, validated: bool = False
    ) -> dict[str, str]:
        """Merge `{"extra_specs": {...}}` into the flavor's; returns what was set (as stored).
        `validated` (microversion 2.86 and later): each spec checked against Nova's known ones.

        :raises BadRequest: a malformed key, a value the vSphere driver could not apply, or
            (validated) an unknown spec in a known namespace or a bad value of a known one.
        :raises NotFound: unknown flavor.
        """
        self._policy.authorize("os_compute_api:os-flavor-extra-specs:create", context, {})
        if not isinstance(body, dict) or "extra_specs" not in body:
            raise BadRequest(
                "Invalid input for field/attribute extra_specs. "
                "'extra_specs' is a required property"
            )
        _refuse_extra(body, {"extra_specs"})
        specs = parse_extra_specs(body["extra_specs"], validated=validated)
        self._write_specs(context, flavor_id, specs)
        return specs

    def update_extra_spec(
        self,
        context: RequestContext,
        flavor_id: str,
        key: str,
        body: Any,
        *,
        validated: bool = False,
    ) -> dict[str, str]:
        """Set one extra spec from `{key: value}` (the key of the URL, and only it);
        `validated` as for `set_extra_specs`.

        :raises BadRequest: the body names another or more keys; a value is invalid.
        :raises NotFound: unknown flavor.
        """
        self._policy.authorize("os_compute_api:os-flavor-extra-specs:update", context, {})
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest(
                "Invalid input for field/attribute extra_specs: the body must be an object "
                "with exactly one key, the one named in the URL."
            )
        specs = parse_extra_specs(body, validated=validated)
        if key not in specs:
            raise BadRequest("Request body and URI mismatch")
        self._write_specs(context, flavor_id, specs)
        return specs

    def delete_extra_spec(self, context: RequestContext, flavor_id: str, key: str) -> None:
        """:raises NotFound: unknown flavor, or no such key."""
        self._policy.authorize("os_compute_api:os-flavor-extra-specs:delete", context, {})
        with self._store.transaction() as unit:
            self._visible(unit, context, flavor_id)
            if not queries.delete_extra_spec(unit, flavor_id, key):
                raise spec_not_found(flavor_id, key)

    def _write_specs(
        self, context: RequestContext, flavor_id: str, specs: Mapping[str, str]
    ) -> None:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    self._visible(unit, context, flavor_id)
                    queries.set_extra_specs(unit, flavor_id, specs)
                return
            except Collision:
                # Another request added one of these keys, or deleted the flavor, meanwhile.
                if attempt == WRITE_ATTEMPTS - 1:
                    raise Conflict(
                        f"Flavor {flavor_id} extra specs could not be updated: they changed "
                        "concurrently. Try again."
                    ) from None

    # ------------------------------------------------------------------ access

    def access(self, context: RequestContext, flavor_id: str) -> list[str]:
        """The projects a private flavor is granted to.

        :raises NotFound: unknown flavor, or a public one (it has no list).
        """
        self._policy.authorize(
            "os_compute_api:os-flavor-access", context, {"project_id": context.project_id}
        )
        with self._store.transaction() as unit:
            row = self._visible(unit, context, flavor_id)
            if row.is_public:
                raise NotFound("Access list not available for public flavors.")
            return queries.access_projects(unit, flavor_id)

    def add_access(
        self, context: RequestContext, flavor_id: str, body: Any, *, refuse_public: bool = True
    ) -> list[str]:
        """Grant the project of `{"tenant": ...}`; returns the flavor's projects. A public
        flavor is refused from 2.7 (`refuse_public`); before, Nova records the grant.

        :raises BadRequest: no valid `tenant`.
        :raises NotFound: unknown flavor.
        :raises Conflict: a public flavor, or the project already has access.
        """
        self._policy.authorize("os_compute_api:os-flavor-access:add_tenant_access", context, {})
        project_id = _tenant(body, "addTenantAccess")
        exists = Conflict(
            f"Flavor access already exists for flavor {flavor_id} and project {project_id} "
            "combination."
        )
        try:
            with self._store.transaction() as unit:
                row = self._visible(unit, context, flavor_id)
                if row.is_public and refuse_public:
                    raise Conflict("Can not add access to a public flavor.")
                if project_id in queries.access_projects(unit, flavor_id):
                    raise exists
                queries.add_access(unit, flavor_id, project_id)
                return queries.access_projects(unit, flavor_id)
        except Collision:
            with self._store.transaction() as unit:
                self._visible(unit, context, flavor_id)  # deleted meanwhile: 404
            raise exists from None

    def remove_access(self, context: RequestContext, flavor_id: str, body: Any) -> list[str]:
        """Revoke the project of `{"tenant": ...}`; returns the flavor's projects.

        :raises NotFound: unknown flavor, or the project had no access.
        """
        self._policy.authorize("os_compute_api:os-flavor-access:remove_tenant_access", context, {})
        project_id = _tenant(body, "removeTenantAccess")
        with self._store.transaction() as unit:
            self._visible(unit, context, flavor_id)
            if not queries.remove_access(unit, flavor_id, project_id):
                raise NotFound(
                    f"Flavor access not found for {flavor_id} / {project_id} combination."
                )
            return queries.access_projects(unit, flavor_id)

    # ------------------------------------------------------------------ internals

    def _visible(self, unit: ComputeUnit, context: RequestContext, flavor_id: str) -> FlavorRow:
        row = queries.visible(unit, flavor_id, context.project_id, self.is_admin(context))
        if row is None:
            raise flavor_not_found(flavor_id)
        return row

    @staticmethod
    def _refuse_duplicate(unit: ComputeUnit, new: NewFlavor) -> None:
        """Nova's order: the id is checked before the name."""
        if queries.get(unit, new.id) is not None:
            raise Conflict(f"Flavor with ID {new.id} already exists.")
        if queries.by_name(unit, new.name) is not None:
            raise Conflict(f"Flavor with name {new.name} already exists.")


# ---------------------------------------------------------------------- parsing


def _description(raw: Any) -> str | None:
    """A flavor's description (2.55): null, or printable text of at most 65535 characters."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 65535 or not raw.replace("\n", "").isprintable():
        raise BadRequest(
            f"Invalid input for field/attribute description. Value: {raw!r}. It must be "
            "printable text of at most 65535 characters, or null."
        )
    return raw


def parse_flavor(body: Any, *, described: bool = False) -> NewFlavor:
    """A create body checked as Nova's schema (2.1's, with `description` when `described`)
    and `flavors.create` check it.

    :raises BadRequest: naming the field and what it must be.
    """
    if not isinstance(body, dict) or "flavor" not in body:
        raise BadRequest(
            "Invalid input for field/attribute flavor. 'flavor' is a required property"
        )
    _refuse_extra(body, {"flavor"})
    fields = body["flavor"]
    if not isinstance(fields, dict):
        raise BadRequest(
            f"Invalid input for field/attribute flavor. Value: {fields}. "
            f"{fields!r} is not of type 'object'"
        )
    _refuse_extra(fields, CREATE_FIELDS | {"description"} if described else CREATE_FIELDS)
    for required in ("name", "ram", "vcpus", "disk"):
        if required not in fields:
            raise BadRequest(
                f"Invalid input for field/attribute flavor. '{required}' is a required property"
            )
    return NewFlavor(
        id=_flavor_id(fields.get("id")),
        name=_name(fields["name"]),
        vcpus=_integer("vcpus", fields["vcpus"], 1),
        memory_mb=_integer("ram", fields["ram"], 1),
        root_gb=_integer("disk", fields["disk"], 0),
        ephemeral_gb=_integer(
            "OS-FLV-EXT-DATA:ephemeral", fields.get("OS-FLV-EXT-DATA:ephemeral", 0), 0
        ),
        swap_mb=_integer("swap", fields.get("swap", 0), 0),
        rxtx_factor=_rxtx_factor(fields.get("rxtx_factor", 1.0)),
        is_public=_boolean(
            "os-flavor-access:is_public", fields.get("os-flavor-access:is_public", True)
        ),
        description=_description(fields.get("description")),
    )


def parse_extra_specs(specs: Any, *, validated: bool = False) -> dict[str, str]:
    """Extra specs as stored: keys Nova accepts, values as strings (numbers and booleans
    stringified), and the values of the keys the vSphere driver applies checked now rather
    than failing a build later (at every microversion); `validated` (2.86 and later): also
    Nova's checks of every spec it knows (`extra_spec_rules`).

    :raises BadRequest: naming the key and what its value must be.
    """
    if not isinstance(specs, dict):
        raise BadRequest(
            f"Invalid input for field/attribute extra_specs. Value: {specs}. "
            f"{specs!r} is not of type 'object'"
        )
    parsed: dict[str, str] = {}
    for key, value in specs.items():
        if not _SPEC_KEY.match(key):
            raise BadRequest(
                f"Invalid extra spec key {key!r}: 1 to 255 characters among letters, digits, "
                "'_', '-', '.', ':' and spaces."
            )
        if isinstance(value, int | float):  # booleans too: True is stored as "True"
            text = str(value)
        elif isinstance(value, str):
            text = value
        else:
            raise BadRequest(
                f"Invalid extra spec {key!r}: its value must be a string, a number or a "
                f"boolean, not {value!r}."
            )
        if not 1 <= len(text) <= 255:
            raise BadRequest(f"Invalid extra spec {key!r}: its value must be 1 to 255 characters.")
        check = VMWARE_SPECS.get(key)
        if check is not None:
            check(key, text)
        if validated:
            extra_spec_rules.validate(key, text)
        parsed[key] = text
    return parsed


def _spec_integer(minimum: int) -> Callable[[str, str], None]:
    def check(key: str, value: str) -> None:
        if not re.fullmatch(r"-?[0-9]+", value.strip()) or not minimum <= int(value) <= MAX_INT:
            raise BadRequest(
                f"Invalid extra spec {key}={value!r}: it must be an integer from {minimum} "
                f"to {MAX_INT}."
            )

    return check


def _spec_shares_level(key: str, value: str) -> None:
    if value not in ("low", "normal", "high", "custom"):
        raise BadRequest(
            f"Invalid extra spec {key}={value!r}: it must be one of low, normal, high, custom."
        )


def _spec_hw_version(key: str, value: str) -> None:
    if not re.fullmatch(r"vmx-[0-9]{2}", value):
        raise BadRequest(
            f"Invalid extra spec {key}={value!r}: it must name a virtual hardware version as "
            "vSphere does, e.g. vmx-13 or vmx-19."
        )


#: The extra specs Nova's VMware driver applies, with the values it can apply (-1 is
#: "unlimited"), checked at every microversion. Of these this cloud's build applies only
#: `hw:cpu_cores` (cores per socket) today; the others are kept with the flavor.
VMWARE_SPECS: dict[str, Callable[[str, str], None]] = {
    "quota:cpu_limit": _spec_integer(-1),
    "quota:cpu_reservation": _spec_integer(0),
    "quota:cpu_shares_level": _spec_shares_level,
    "quota:cpu_shares_share": _spec_integer(0),
    "quota:memory_limit": _spec_integer(-1),
    "quota:memory_reservation": _spec_integer(0),
    "quota:memory_shares_level": _spec_shares_level,
    "quota:memory_shares_share": _spec_integer(0),
    "hw:cpu_cores": _spec_integer(1),
    "hw:cpu_sockets": _spec_integer(1),
    "vmware:hw_version": _spec_hw_version,
}


def _refuse_extra(fields: Mapping[str, Any], allowed: frozenset[str] | set[str]) -> None:
    extra = sorted(k for k in fields if k not in allowed)
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise BadRequest(
            f"Invalid input for field/attribute name. Value: {value}. The name must be a "
            "string of 1 to 255 characters."
        )
    if value != value.strip() or not all(c.isprintable() for c in value):
        raise BadRequest(
            f"Invalid input for field/attribute name. Value: {value}. An invalid 'name' value "
            "was provided. The name must be: printable characters. Can not start or end with "
            "whitespace."
        )
    return value


def _flavor_id(value: Any) -> str:
    """Nova's flavorid: a uuid when not given; numbers are taken as their text."""
    if value is None:
        return str(uuid.uuid4())
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(
            f"Invalid input for field/attribute id. Value: {value}. {value!r} is not of type "
            "'string', 'number', 'null'"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"Invalid input for field/attribute id. Value: {value}.")
    text = str(value)
    if not 1 <= len(text) <= 255 or (isinstance(value, str) and not _FLAVOR_ID.match(text)):
        raise BadRequest(
            f"Invalid input for field/attribute id. Value: {value}. The id must be 1 to 255 "
            "letters, digits, '.', '_', '-' or spaces, not starting or ending with a space."
        )
    return text


def _integer(name: str, value: Any, minimum: int) -> int:
    """An integer, or a string of digits, from `minimum` to Nova's largest integer."""
    prefix = f"Invalid input for field/attribute {name}. Value: {value}."
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{prefix} {value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not _DIGITS.match(value):
        raise BadRequest(f"{prefix} {value!r} does not match '^[0-9]+$'")
    number = int(value)
    if number < minimum:
        raise BadRequest(f"{prefix} {number} is less than the minimum of {minimum}")
    if number > MAX_INT:
        raise BadRequest(f"{prefix} {number} is greater than the maximum of {MAX_INT}")
    return number


def _rxtx_factor(value: Any) -> float:
    prefix = f"Invalid input for field/attribute rxtx_factor. Value: {value}."
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"{prefix} {value!r} is not of type 'number', 'string'")
    if isinstance(value, str) and not _DECIMAL.match(value):
        raise BadRequest(f"{prefix} {value!r} does not match '^[0-9]+(\\.[0-9]+)?$'")
    number = float(value)
    if not 0 < number <= MAX_FLOAT:
        raise BadRequest(f"{prefix} It must be a number greater than 0 and at most {MAX_FLOAT}.")
    return number


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise BadRequest(
        f"Invalid input for field/attribute {name}. Value: {value}. {value!r} is not a "
        "boolean (true or false)"
    )


def _tenant(body: Any, action: str) -> str:
    """The project of an access action's `{"tenant": ...}`."""
    fields = body.get(action) if isinstance(body, dict) else None
    if not isinstance(fields, dict) or "tenant" not in fields:
        raise BadRequest(
            f"Invalid input for field/attribute {action}. 'tenant' is a required property"
        )
    _refuse_extra(fields, {"tenant"})
    tenant = fields["tenant"]
    if not isinstance(tenant, str) or not _PROJECT_ID.match(tenant):
        raise BadRequest(
            f"Invalid input for field/attribute tenant. Value: {tenant}. A project id is 1 to "
            "64 letters, digits or '-'."
        )
    return tenant


def _is_public_filter(value: str | None) -> bool | None:
    """An administrator's `is_public`: absent → public (and granted) ones, `none` → all."""
    if value is None:
        return True
    if value.lower() == "none":
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadRequest(f"Invalid is_public filter [{value}]")


#: Sort keys a list may name → the flavor attribute.
SORT_ATTRIBUTES = {
    "flavorid": "id",
    "name": "name",
    "memory_mb": "memory_mb",
    "ram": "memory_mb",
    "vcpus": "vcpus",
    "root_gb": "root_gb",
    "disk": "root_gb",
    "ephemeral_gb": "ephemeral_gb",
    "swap": "swap_mb",
    "rxtx_factor": "rxtx_factor",
    "is_public": "is_public",
    "disabled": "disabled",
    "description": "description",
    # Nova's `id` is its autoincrement column, i.e. creation order.
    "id": "created_at",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _sort_key(name: str) -> Callable[[Flavor], tuple[Any, ...]]:
    """A total order: the attribute (None first, as NULLs sort first ascending in Nova's
    MySQL) then the flavor id, so a marker names one place."""
    attribute = SORT_ATTRIBUTES[name]

    def key(flavor: Flavor) -> tuple[Any, ...]:
        value = getattr(flavor, attribute)
        return (value is not None, value if value is not None else 0, flavor.id)

    return key
