"""Nova's quotas: per-project limits on servers, cores, RAM, key pairs, metadata items and
server groups, their defaults (`[compute]`, overridden by the `default` quota class), and the
checks server and key pair creation call.

Usage is counted live from the tables (as Nova does since Pike), so it cannot drift from what
exists; a server create calls `check_servers` after `unit.lock_project`, which serialises the
project's creates so two of them cannot both take the last free slot.

Storage: a project's overrides are `compute_quota` rows keyed by its id; a quota class's values
(`os-quota-class-sets`) are rows of the reserved id `__class_<name>__`, which no Keystone project
id can look like. Only the `default` class is ever applied (as in Nova, where a project's own
class is never looked up).

The network-era resources Nova still shows at 2.1 (floating_ips, fixed_ips, security_groups,
security_group_rules) are accepted and stored like the others, so clients and Tempest that send
the whole set back work, but nothing here enforces them: Neutron owns security groups and
floating IPs and applies its own quotas. The injected-file ones are limits a server create may
check (`limit`). Per-user quotas (`?user_id=`) are not supported: servers, cores and RAM are
counted per project; a read with `user_id` shows the project's values, a write is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, Forbidden
from vistack.common.policy import PolicyEngine
from vistack.compute.db import quotas as queries
from vistack.compute.db.store import Collision, ComputeStore, ComputeUnit
from vistack.config import ComputeSettings

#: Nova's defaults for the resources `[compute]` has no option for.
LEGACY_DEFAULTS = {
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "security_group_rules": 20,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
}
#: Every quota resource of Nova 2.1, in Nova's (alphabetical) order.
RESOURCES = tuple(
    sorted(
        (
            "instances",
            "cores",
            "ram",
            "key_pairs",
            "metadata_items",
            "server_groups",
            "server_group_members",
            *LEGACY_DEFAULTS,
        )
    )
)
#: Counted from the tables; every other resource shows 0 in use (Nova shows key pairs and
#: server group members as 0 too: they are counted per user or per group, not per project).
COUNTED = ("instances", "cores", "ram", "server_groups")
UNLIMITED = -1
#: Nova's largest limit (its column is a signed 32-bit integer).
MAX_LIMIT = 2**31 - 1
#: What `max_servers` answers when nothing limits the count.
PLENTY = 2**31 - 1
DEFAULT_CLASS = "default"
#: Attempts at a limit change that collides with a concurrent first one.
WRITE_ATTEMPTS = 3
_CLASS_OWNER = "__class_{}__"
#: A quota class name must fit the 64-character project id column with its affixes.
MAX_CLASS_NAME = 64 - len(_CLASS_OWNER.format(""))
_INTEGER = re.compile(r"^-?[0-9]+$")
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


class QuotaExceeded(Forbidden):
    """A create would take a project (or a user, for key pairs) past a limit (HTTP 403, as
    Nova answers over-quota requests)."""


class ComputeQuotas:
    """Limits, usage and the quota checks of the compute service."""

    def __init__(
        self, store: ComputeStore, settings: ComputeSettings, policy: PolicyEngine
    ) -> None:
        self._store = store
        self._settings = settings
        self._policy = policy

    # ------------------------------------------------------------ checks other services call

    def limit(self, unit: ComputeUnit, project_id: str, resource: str) -> int:
        """The project's limit for `resource` (-1: unlimited)."""
        return self._limits(unit, project_id)[resource]

    def check_servers(
        self, unit: ComputeUnit, project_id: str, *, instances: int, cores: int, ram: int
    ) -> None:
        """Refuse servers that would take the project past its instances, cores or RAM quota;
        call it after `unit.lock_project(project_id)`, in the transaction that adds them.

        :raises QuotaExceeded: with Nova's message, naming every exceeded resource.
        """
        limits = self._limits(unit, project_id)
        usage = queries.server_usage(unit, project_id)
        asked = {"cores": cores, "instances": instances, "ram": ram}
        used = {"cores": usage.cores, "instances": usage.instances, "ram": usage.ram}
        overs = [r for r in sorted(asked) if 0 <= limits[r] < used[r] + asked[r] and asked[r] > 0]
        if overs:

            def joined(values: Mapping[str, int]) -> str:
                return ", ".join(str(values[r]) for r in overs)

            names = ", ".join(overs)
            raise QuotaExceeded(
                f"Quota exceeded for {names}: Requested {joined(asked)}, but already used "
                f"{joined(used)} of {joined(limits)} {names}"
            )

    def max_servers(
        self, unit: ComputeUnit, project_id: str, *, cores_each: int, ram_each: int
    ) -> int:
        """How many more servers of this size the project's quota lets it create (`PLENTY`
        when nothing limits them)."""
        limits = self._limits(unit, project_id)
        usage = queries.server_usage(unit, project_id)
        room = [PLENTY]
        if limits["instances"] >= 0:
            room.append(limits["instances"] - usage.instances)
        if limits["cores"] >= 0 and cores_each > 0:
            room.append((limits["cores"] - usage.cores) // cores_each)
        if limits["ram"] >= 0 and ram_each > 0:
            room.append((limits["ram"] - usage.ram) // ram_each)
        return max(0, min(room))

    def check_keypairs(
        self, unit: ComputeUnit, *, user_id: str, project_id: str | None, requested: int = 1
    ) -> None:
        """Key pairs are a user's, counted per user against the project's `key_pairs` limit
        (the default one for a token without a project).

        :raises QuotaExceeded: Nova's "Quota exceeded, too many key pairs."
        """
        limits = self._limits(unit, project_id) if project_id else self._defaults(unit)
        limit = limits["key_pairs"]
        if limit >= 0 and queries.keypair_count(unit, user_id) + requested > limit:
            raise QuotaExceeded("Quota exceeded, too many key pairs.")

    def check_server_groups(self, unit: ComputeUnit, project_id: str) -> None:
        """One more server group for the project; call it under `unit.lock_project`.

        :raises QuotaExceeded: Nova's "Quota exceeded, too many server groups."
        """
        limit = self._limits(unit, project_id)["server_groups"]
        if 0 <= limit < queries.server_group_count(unit, project_id) + 1:
            raise QuotaExceeded("Quota exceeded, too many server groups.")

    def check_group_members(
        self, unit: ComputeUnit, project_id: str, *, used: int, requested: int
    ) -> None:
        """`requested` more servers in a group where the user has `used` (Nova counts
        `server_group_members` per user and group, against the project's limit).

        :raises QuotaExceeded: Nova's "Quota exceeded, too many servers in group".
        """
        limit = self._limits(unit, project_id)["server_group_members"]
        if 0 <= limit < used + requested:
            raise QuotaExceeded("Quota exceeded, too many servers in group")

    def check_metadata_items(self, project_id: str, count: int) -> None:
        """A server's metadata may hold at most the project's `metadata_items`.

        :raises QuotaExceeded: Nova's "Maximum number of metadata items exceeds {limit}".
        """
        if count == 0:
            return  # no limit is below none: most creates give no metadata, and skip a read
        with self._store.transaction() as unit:
            limit = self._limits(unit, project_id)["metadata_items"]
        if 0 <= limit < count:
            raise QuotaExceeded(f"Maximum number of metadata items exceeds {limit}")

    def injection_limits(self, project_id: str) -> dict[str, int]:
        """The project's personality limits: `injected_files`, `injected_file_path_bytes`,
        `injected_file_content_bytes` (checked by `personality.check_limits`)."""
        with self._store.transaction() as unit:
            limits = self._limits(unit, project_id)
        names = ("injected_files", "injected_file_path_bytes", "injected_file_content_bytes")
        return {name: limits[name] for name in names}

    # ------------------------------------------------------------------ os-quota-sets

    def show(
        self, context: RequestContext, project_id: str, *, user_id: str | None = None
    ) -> dict[str, int]:
        """The project's limits (with `user_id`: the same, per-user quotas being unsupported)."""
        self._policy.authorize(
            "os_compute_api:os-quota-sets:show", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            return self._limits(unit, project_id)

    def detail(
        self, context: RequestContext, project_id: str, *, user_id: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Each limit with its usage: `{"limit", "in_use", "reserved": 0}` (Nova has not
        reserved anything since it started counting)."""
        self._policy.authorize(
            "os_compute_api:os-quota-sets:detail", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            limits = self._limits(unit, project_id)
            usage = self._usage(unit, project_id)
        return {r: {"in_use": usage[r], "limit": limits[r], "reserved": 0} for r in RESOURCES}

    def defaults(self, context: RequestContext, project_id: str) -> dict[str, int]:
        self._policy.authorize(
            "os_compute_api:os-quota-sets:defaults", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            return self._defaults(unit)

    def update(
        self,
        context: RequestContext,
        project_id: str,
        body: Any,
        *,
        user_id: str | None = None,
    ) -> dict[str, int]:
        """Set some of the project's limits, all or none: each new limit must be -1 or at
        least what the project uses, unless `force` is true.

        :raises BadRequest: malformed body, unknown resource, a limit below usage, `user_id`.
        """
        self._policy.authorize(
            "os_compute_api:os-quota-sets:update", context, {"project_id": project_id}
        )
        _refuse_user_quota(user_id)
        values, force = _parse_limits(body, "quota_set", allow_force=True)

        def write(unit: ComputeUnit) -> dict[str, int]:
            if not force:
                usage = self._usage(unit, project_id)
                for resource, value in values.items():
                    if value != UNLIMITED and value < usage[resource]:
                        raise BadRequest(
                            f"Quota limit {value} for {resource} must be greater than or equal "
                            f"to already used and reserved {usage[resource]}."
                        )
            queries.store_limits(unit, project_id, values)
            return self._limits(unit, project_id)

        return self._locked_write(project_id, write)

    def delete(
        self, context: RequestContext, project_id: str, *, user_id: str | None = None
    ) -> None:
        """Drop the project's overrides: it is back to the defaults."""
        self._policy.authorize(
            "os_compute_api:os-quota-sets:delete", context, {"project_id": project_id}
        )
        _refuse_user_quota(user_id)
        with self._store.transaction() as unit:
            queries.forget_limits(unit, project_id)

    # ------------------------------------------------------------------ os-quota-class-sets

    def show_class(self, context: RequestContext, name: str) -> dict[str, int]:
        """A quota class's values: its stored ones over `[compute]`'s (Nova's `get_class_quotas`:
        another class does not inherit from `default`)."""
        self._policy.authorize(
            "os_compute_api:os-quota-class-sets:show", context, {"quota_class": name}
        )
        with self._store.transaction() as unit:
            return self._class_values(unit, name)

    def update_class(self, context: RequestContext, name: str, body: Any) -> dict[str, int]:
        """Set some of a quota class's values; those of `default` are every project's defaults.

        :raises BadRequest: malformed body, unknown resource, a name too long to store.
        """
        self._policy.authorize(
            "os_compute_api:os-quota-class-sets:update", context, {"quota_class": name}
        )
        if not 1 <= len(name) <= MAX_CLASS_NAME:
            raise BadRequest(
                f"Quota class name {name!r} must be 1 to {MAX_CLASS_NAME} characters long."
            )
        values, _ = _parse_limits(body, "quota_class_set", allow_force=False)
        owner = _CLASS_OWNER.format(name)

        def write(unit: ComputeUnit) -> dict[str, int]:
            queries.store_limits(unit, owner, values)
            return self._class_values(unit, name)

        return self._locked_write(owner, write)

    # ------------------------------------------------------------------ limits

    def absolute_limits(
        self, context: RequestContext, tenant_id: str | None
    ) -> tuple[dict[str, int], dict[str, int]]:
        """(limits, usage) of the caller's project, or of `tenant_id` (another project's
        needs `os_compute_api:limits:other_project`)."""
        self._policy.authorize("os_compute_api:limits", context, {})
        project_id = context.project_id
        if tenant_id is not None and tenant_id != project_id:
            self._policy.authorize(
                "os_compute_api:limits:other_project", context, {"project_id": tenant_id}
            )
            project_id = tenant_id
        with self._store.transaction() as unit:
            if project_id is None:  # a system or domain token: no project, the defaults
                return self._defaults(unit), dict.fromkeys(RESOURCES, 0)
            return self._limits(unit, project_id), self._usage(unit, project_id)

    # ------------------------------------------------------------------ internals

    def _locked_write(
        self, owner: str, write: Callable[[ComputeUnit], dict[str, int]]
    ) -> dict[str, int]:
        """Run `write` in a transaction holding `owner`'s lock row: a project's limit changes
        are serialised with its server creates (the usage checked is the usage kept) and with
        each other (two first writes of a limit would collide). A collision left (none is
        expected once the lock row exists) is retried.

        :raises Conflict: still colliding after `WRITE_ATTEMPTS`.
        """
        # The lock row is made beforehand, in its own transaction: lock_project must be the
        # first statement of the one that writes (see `ComputeUnit.lock_project`).
        self._store.ensure_project(owner)
        for _ in range(WRITE_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    unit.lock_project(owner)
                    return write(unit)
            except Collision:
                continue
        raise Conflict("The quotas were being changed by another request; try again.")

    def _configured(self) -> dict[str, int]:
        s = self._settings
        return {
            "instances": s.quota_instances,
            "cores": s.quota_cores,
            "ram": s.quota_ram,
            "key_pairs": s.quota_key_pairs,
            "metadata_items": s.quota_metadata_items,
            "server_groups": s.quota_server_groups,
            "server_group_members": s.quota_server_group_members,
            **LEGACY_DEFAULTS,
        }

    def _class_values(self, unit: ComputeUnit, name: str) -> dict[str, int]:
        stored = queries.limits(unit, _CLASS_OWNER.format(name))
        return {r: stored.get(r, v) for r, v in self._configured().items()}

    def _defaults(self, unit: ComputeUnit) -> dict[str, int]:
        return self._class_values(unit, DEFAULT_CLASS)

    def _limits(self, unit: ComputeUnit, project_id: str) -> dict[str, int]:
        overrides = queries.limits(unit, project_id)
        return {r: overrides.get(r, v) for r, v in self._defaults(unit).items()}

    def _usage(self, unit: ComputeUnit, project_id: str) -> dict[str, int]:
        servers = queries.server_usage(unit, project_id)
        usage = dict.fromkeys(RESOURCES, 0)
        usage.update(
            instances=servers.instances,
            cores=servers.cores,
            ram=servers.ram,
            server_groups=queries.server_group_count(unit, project_id),
        )
        return usage


def _refuse_user_quota(user_id: str | None) -> None:
    if user_id:
        raise BadRequest(
            "Per-user quotas are not supported: servers, cores and RAM are counted and limited "
            "per project. Set the project's quota (without user_id) instead."
        )


def _parse_limits(body: Any, key: str, *, allow_force: bool) -> tuple[dict[str, int], bool]:
    """The limits of `{key: {resource: value, ...}}` as Nova's schema reads them (integers or
    integer strings from -1 to 2**31-1), and its `force` flag.

    :raises BadRequest: with Nova's wording for each kind of mistake.
    """
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    extra = sorted(k for k in body if k != key)
    if extra:
        raise BadRequest(_unexpected(extra))
    items = body[key]
    if not isinstance(items, dict):
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {items}. "
            f"{items!r} is not of type 'object'"
        )
    if "networks" in items:
        raise BadRequest(
            "The networks quota has been removed: Neutron owns networks and their quotas."
        )
    allowed = set(RESOURCES) | ({"force"} if allow_force else set())
    unknown = sorted(k for k in items if k not in allowed)
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute {key}. {_unexpected(unknown)}")
    force = _boolean("force", items["force"]) if "force" in items else False
    values = {r: _limit_value(r, v) for r, v in items.items() if r != "force"}
    return values, force


def _unexpected(keys: list[str]) -> str:
    named = ", ".join(repr(k) for k in keys)
    verb = "was" if len(keys) == 1 else "were"
    return f"Additional properties are not allowed ({named} {verb} unexpected)"


def _limit_value(resource: str, value: Any) -> int:
    prefix = f"Invalid input for field/attribute {resource}. Value: {value}."
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{prefix} {value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not _INTEGER.match(value):
        raise BadRequest(f"{prefix} {value!r} does not match '^-?[0-9]+$'")
    number = int(value)
    if number < UNLIMITED:
        raise BadRequest(f"{prefix} {number} is less than the minimum of -1")
    if number > MAX_LIMIT:
        raise BadRequest(f"{prefix} {number} is greater than the maximum of {MAX_LIMIT}")
    return number


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(
        f"Invalid input for field/attribute {name}. Value: {value}. {value!r} is not a boolean "
        "(true or false)"
    )
