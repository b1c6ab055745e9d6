"""Server groups (`os-server-groups`): a named policy a server joins when it is created with the
scheduler hint `group`, enforced by the scheduler and by DRS rules (`group_placement`).

Policies: `affinity` and `anti-affinity` (2.1), their soft variants (2.15), and from 2.64 one
`policy` with `rules` (`max_server_per_host`, anti-affinity only) instead of the `policies`
list. A group belongs to the project that made it; quotas `server_groups` (per project) and
`server_group_members` (per user in a group) are checked under the project's lock, so
concurrent creates cannot overrun them. Membership is written in the transaction that records
the servers: a server is in its group from its first moment, or not created at all.

Deleting a group removes its DRS rules from vCenter first: should vCenter fail, the group is
kept (503), never a rule left constraining VMs whose group is gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, ServiceUnavailable
from vistack.common.policy import PolicyEngine
from vistack.compute.db import server_groups as queries
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerGroupRow
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.drivers.errors import DriverError

AFFINITY = "affinity"
ANTI_AFFINITY = "anti-affinity"
SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"
#: The policies of 2.1 to 2.14, and those from 2.15 on.
STRICT_POLICIES = (ANTI_AFFINITY, AFFINITY)
ALL_POLICIES = (ANTI_AFFINITY, AFFINITY, SOFT_ANTI_AFFINITY, SOFT_AFFINITY)
MAX_SERVER_PER_HOST = "max_server_per_host"
_RULE = "os_compute_api:os-server-groups:{}"


@dataclass(frozen=True)
class ServerGroup:
    """A group as recorded, with its live members in the order they joined."""

    id: str
    name: str
    policy: str
    rules: dict[str, Any]
    project_id: str
    user_id: str
    members: tuple[str, ...] = field(default=())

    @property
    def max_per_host(self) -> int:
        """How many members one host may run (anti-affinity's `max_server_per_host`, else 1)."""
        return int(self.rules.get(MAX_SERVER_PER_HOST, 1))


def group_not_found(group_id: str) -> NotFound:
    return NotFound(f"Instance group {group_id} could not be found.")


def _invalid(field_name: str, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field_name}. {why}")


def _unexpected(keys: Sequence[str]) -> BadRequest:
    named = ", ".join(repr(k) for k in sorted(keys))
    verb = "was" if len(keys) == 1 else "were"
    return BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")


def parse_create(body: Any, *, soft: bool, policy_object: bool) -> tuple[str, str, dict[str, Any]]:
    """(name, policy, rules) of a create, checked as Nova's schema of the request's version:
    `soft` from 2.15 (the soft policies), `policy_object` from 2.64 (`policy` + `rules`)."""
    if not isinstance(body, Mapping) or "server_group" not in body:
        raise _invalid("server_group", "'server_group' is a required property")
    if set(body) - {"server_group"}:
        raise _unexpected([k for k in body if k != "server_group"])
    group = body["server_group"]
    if not isinstance(group, Mapping):
        raise _invalid("server_group", f"{group!r} is not of type 'object'")
    allowed = {"name", "policy", "rules"} if policy_object else {"name", "policies"}
    if set(group) - allowed:
        raise _unexpected([k for k in group if k not in allowed])
    for required in sorted(allowed - {"rules"}):
        if required not in group:
            raise _invalid(required, f"'{required}' is a required property")
    name = group["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise _invalid(
            "name",
            "It must be a string of 1 to 255 characters, not starting or ending with spaces.",
        )
    choices = ALL_POLICIES if soft else STRICT_POLICIES
    if policy_object:
        policy = group["policy"]
        if policy not in choices:
            raise _invalid("policy", f"{policy!r} is not one of {list(choices)}")
        rules = _rules(group.get("rules", {}))
        if rules and policy != ANTI_AFFINITY:
            raise BadRequest("Only anti-affinity policy supports rules.")
        return name, policy, rules
    policies = group["policies"]
    if not isinstance(policies, list) or len(policies) != 1:
        raise _invalid("policies", f"{policies!r} must be a list of exactly one policy")
    (policy,) = policies
    if policy not in choices:
        raise _invalid("policies", f"{policy!r} is not one of {list(choices)}")
    return name, policy, {}


def _rules(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise _invalid("rules", f"{raw!r} is not of type 'object'")
    if set(raw) - {MAX_SERVER_PER_HOST}:
        raise _invalid("rules", str(_unexpected([k for k in raw if k != MAX_SERVER_PER_HOST])))
    if MAX_SERVER_PER_HOST not in raw:
        return {}
    value = raw[MAX_SERVER_PER_HOST]
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(MAX_SERVER_PER_HOST, f"{value!r} must be an integer of at least 1")
    return {MAX_SERVER_PER_HOST: value}


def to_group(row: ServerGroupRow, members: Sequence[str] = ()) -> ServerGroup:
    return ServerGroup(
        id=row.id,
        name=row.name,
        policy=row.policy,
        rules=dict(row.rules or {}),
        project_id=row.project_id,
        user_id=row.user_id,
        members=tuple(members),
    )


#: Removes a group's DRS rules, then runs the callable given (the row's delete) under the
#: group's lock (`GroupPlacement.remove_rules`); None without a vCenter.
RuleRemover = Callable[[str, Callable[[], None]], None]


class ServerGroupService:
    """The API half of server groups, and the membership a server create asks for."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, quotas: ComputeQuotas) -> None:
        self._store = store
        self._policy = policy
        self._quotas = quotas
        #: Set by the wiring when a vCenter is there (see `RuleRemover`).
        self.remove_rules: RuleRemover | None = None

    def create(
        self, context: RequestContext, name: str, policy: str, rules: Mapping[str, Any]
    ) -> ServerGroup:
        project_id = context.project_id
        if project_id is None or context.user_id is None:
            raise BadRequest("Creating a server group needs a project-scoped token.")
        self._policy.authorize(_RULE.format("create"), context, {"project_id": project_id})
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            self._quotas.check_server_groups(unit, project_id)
            row = ServerGroupRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                user_id=context.user_id,
                name=name,
                policy=policy,
                rules=dict(rules),
                created_at=utcnow(),
            )
            unit.add(row)
            return to_group(row)

    def list_groups(
        self, context: RequestContext, *, all_projects: bool, limit: int | None, offset: int
    ) -> list[ServerGroup]:
        """The caller's project's groups; every project's for an admin asking `all_projects`
        (anyone else asking gets their own, as in Nova)."""
        project_id = context.project_id
        self._policy.authorize(_RULE.format("index"), context, {"project_id": project_id})
        everyone = all_projects and self._policy.check(
            _RULE.format("index:all_projects"), context, {"project_id": project_id}
        )
        if not everyone and project_id is None:
            return []
        with self._store.transaction() as unit:
            rows = queries.listing(
                unit, None if everyone else project_id, limit=limit, offset=offset
            )
            members = queries.members(unit, [r.id for r in rows])
            return [to_group(r, members[r.id]) for r in rows]

    def get(self, context: RequestContext, group_id: str) -> ServerGroup:
        with self._store.transaction() as unit:
            row = queries.get(unit, group_id)
            if row is None:
                raise group_not_found(group_id)
            self._policy.authorize(_RULE.format("show"), context, {"project_id": row.project_id})
            return to_group(row, queries.members(unit, [row.id])[row.id])

    def delete(self, context: RequestContext, group_id: str) -> None:
        with self._store.transaction() as unit:
            row = queries.get(unit, group_id)
            if row is None:
                raise group_not_found(group_id)
            target = {"project_id": row.project_id}
        self._policy.authorize(_RULE.format("delete"), context, target)

        def forget() -> None:
            with self._store.transaction() as unit:
                queries.remove(unit, group_id)

        if self.remove_rules is None:
            forget()
            return
        try:
            self.remove_rules(group_id, forget)
        except DriverError as exc:
            raise ServiceUnavailable(
                f"The DRS rules of server group {group_id} could not be removed from vCenter "
                f"({exc}); the group is kept, try again."
            ) from exc

    def join(
        self, unit: ComputeUnit, context: RequestContext, group_id: str, server_ids: Sequence[str]
    ) -> None:
        """Make the new servers members, in the create's transaction (under the project's
        lock). :raises BadRequest: no such group the caller may see. :raises QuotaExceeded:
        the group would hold more of the user's servers than `server_group_members`."""
        row = queries.get(unit, group_id)
        if row is None or not self._policy.check(
            _RULE.format("show"), context, {"project_id": row.project_id}
        ):
            raise BadRequest(f"Instance group {group_id} could not be found.")
        used = queries.user_member_count(unit, group_id, context.user_id or "")
        self._quotas.check_group_members(
            unit, context.project_id or row.project_id, used=used, requested=len(server_ids)
        )
        queries.add_members(unit, group_id, server_ids)
