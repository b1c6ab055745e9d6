"""Network RBAC: who may see and use a network, and the `/v2.0/rbac-policies` operations.

A network is visible to a project that owns it, to admins (and cloud readers), and to every
project an RBAC policy targets (by id, or `*` for all): `access_as_shared` makes it shared
with the target (ports yes, subnets only for the owner), `access_as_external` makes it an
external network the target may see. `shared: true` IS the wildcard `access_as_shared`
policy: the network's `shared` column mirrors that row's existence (kept in the same
transaction), so SQL filters on it stay right, and `shared` renders it. (Neutron renders
`shared` per caller, true also for a policy naming the caller's project; here such a policy
makes the network visible and usable without changing `shared`.)

Visibility lives here only: `network_target` is the policy target the `get_network` rule is
checked against, `network_visible` the Python predicate, `visible_networks_clause` the same
rule as SQL for lists filtered in the database (a superset under custom policy files: apply
the predicate to what it returns).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db import listing, rbac_queries
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.db.sharing_tables import RbacPolicyRow
from vistack.network.db.tables import NetworkRow
from vistack.network.domain.attributes import check_attributes
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    invalid,
)

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"
ACTIONS = (SHARED, EXTERNAL)
WILDCARD = rbac_queries.WILDCARD
#: Neutron's PROJECT_ID_FIELD_SIZE.
TARGET_LENGTH = 255
CREATE = {"object_type", "object_id", "action", "target_tenant", "project_id", "tenant_id"}
ROUTER_GATEWAY = "network:router_gateway"


# ---------------------------------------------------------------- visibility (the one place)


def network_target(row: NetworkRow, grants: Collection[str]) -> dict[str, Any]:
    """The `get_network` policy target as the caller sees the network: `grants` are the
    actions RBAC gives the caller's project on it (see `Unit.rbac_grants`)."""
    return {
        "target.project_id": row.project_id,
        "target.shared": SHARED in grants,
        "target.external": row.external and EXTERNAL in grants,
    }


def network_visible(
    policy: PolicyEngine, context: RequestContext, row: NetworkRow, grants: Collection[str]
) -> bool:
    """Whether the caller may see the network (the Python predicate lists and shows use)."""
    return policy.check("get_network", context, network_target(row, grants))


def grants_of(unit: Unit, context: RequestContext, row: NetworkRow) -> set[str]:
    """The actions RBAC grants the caller's project on one network."""
    return unit.rbac_grants(context.project_id, [row.id]).get(row.id, set())


def sees_all(policy: PolicyEngine, context: RequestContext) -> bool:
    """Whether the caller sees every network (admins, cloud readers)."""
    nobody = {"target.project_id": "", "target.shared": False, "target.external": False}
    return policy.check("get_network", context, nobody)


def network_keys(context: RequestContext) -> tuple[listing.Column, ...]:
    """`network_target`'s inputs as SQL over `network_network`, for `listing.visibility`."""
    return rbac_queries.network_keys(context.project_id, SHARED, EXTERNAL)


def key_visible(policy: PolicyEngine, context: RequestContext, key: tuple[Any, ...]) -> bool:
    """`network_visible` for one value of `network_keys`."""
    target = {
        "target.project_id": key[0],
        "target.shared": bool(key[1]),
        "target.external": bool(key[2]),
    }
    return policy.check("get_network", context, target)


def visible_networks_clause(policy: PolicyEngine, context: RequestContext) -> listing.Clause:
    """`network_visible` as a WHERE clause on `NetworkRow`, for the default rules (under a
    custom policy file, prefer `listing.visibility` with `network_keys`/`key_visible`)."""
    if sees_all(policy, context):
        return listing.EVERYTHING
    return rbac_queries.visible_networks(context.project_id, SHARED, EXTERNAL)


def shared_key(context: RequestContext) -> listing.Column:
    """Whether the network is shared with the caller (0/1), as `network_keys`' second."""
    return rbac_queries.granted_key(context.project_id, SHARED)


def may_attach(
    policy: PolicyEngine,
    context: RequestContext,
    unit: Unit,
    row: NetworkRow,
    project: str,
    *,
    lock: bool = False,
) -> bool:
    """Whether the caller may put a port of `project` on a network it can see: the network's
    own project's, one shared with the caller, or any for an admin. Neutron hides the others
    (404): an external network is for routers' gateways, not tenants' ports. `lock`: read the
    sharing policies with a locking read, so none goes until the port is committed (a policy
    delete locks the network first, see `RbacService`)."""
    if project == row.project_id:
        return True
    grants = unit.rbac_grants(context.project_id, [row.id], lock=lock).get(row.id, set())
    return SHARED in grants or policy.check("admin_required", context)


# ---------------------------------------------------------------- the shared and external flags


def wildcard(unit: Unit, network_id: str, action: str) -> RbacPolicyRow | None:
    for policy in unit.rbac_policies(network_id):
        if policy.action == action and policy.target_project == WILDCARD:
            return policy
    return None


def set_shared(unit: Unit, row: NetworkRow, shared: bool) -> None:
    """Make `shared` true (add the wildcard policy) or false (remove it, refused with 409
    while another project's ports on the network depend on it)."""
    # The network before its policies, as port creates and policy deletes take them.
    unit.network_locked(row.id, shared=False)
    current = wildcard(unit, row.id, SHARED)
    if shared and current is None:
        unit.add(_policy_row(row.project_id, row.id, SHARED, WILDCARD))
    elif not shared and current is not None:
        if _dependent_ports(unit, row, SHARED, WILDCARD, exclude=current.id):
            raise NeutronConflict(
                f"Unable to reconfigure sharing settings for network {row.id}. "
                "Multiple tenants are using it.",
                "InvalidSharedSetting",
            )
        unit.delete(current)
    row.shared = shared


def set_external(unit: Unit, row: NetworkRow, external: bool) -> None:
    """`router:external` true: external for everyone (a wildcard `access_as_external`), as
    Neutron's; false: no external policy at all, refused while a router gateway uses it."""
    unit.network_locked(row.id, shared=False)  # the network before its policies
    if external and not row.external:
        if wildcard(unit, row.id, EXTERNAL) is None:
            unit.add(_policy_row(row.project_id, row.id, EXTERNAL, WILDCARD))
    elif not external and row.external:
        if any(p.device_owner == ROUTER_GATEWAY for p in unit.ports(row.id)):
            raise NeutronConflict(
                f"External network {row.id} cannot be updated to be non-external, since it "
                "has existing gateway ports.",
                "ExternalNetworkInUse",
            )
        for policy in unit.rbac_policies(row.id):
            if policy.action == EXTERNAL:
                unit.delete(policy)
    row.external = external


def grant_flags(unit: Unit, row: NetworkRow) -> None:
    """A new network's `shared` and `router:external` as their wildcard policies."""
    for action, flag in ((SHARED, row.shared), (EXTERNAL, row.external)):
        if flag:
            unit.add(_policy_row(row.project_id, row.id, action, WILDCARD))


def _policy_row(project: str, network_id: str, action: str, target: str) -> RbacPolicyRow:
    return RbacPolicyRow(
        id=str(uuid.uuid4()),
        project_id=project,
        object_id=network_id,
        action=action,
        target_project=target,
    )


def _dependent_ports(
    unit: Unit, row: NetworkRow, action: str, target: str, exclude: str
) -> list[str]:
    """Ports that would lose their access if the `action` policy `exclude` (for `target`)
    went: those of projects no other such policy covers, the owner's never count. Sharing
    (`access_as_shared`) serves every port; `access_as_external` only router gateways."""
    others = [
        p.target_project
        for p in unit.rbac_policies(row.id)
        if p.action == action and p.id != exclude
    ]
    if WILDCARD in others:
        return []
    covered = {row.project_id, *others}
    return [
        port.id
        for port in unit.ports(row.id)
        if (action == SHARED or port.device_owner == ROUTER_GATEWAY)
        and port.project_id not in covered
        and (target == WILDCARD or port.project_id == target)
    ]


def _touch(row: NetworkRow) -> None:
    row.updated_at = utcnow()
    row.revision_number = (row.revision_number or 0) + 1


# ---------------------------------------------------------------- /v2.0/rbac-policies


def _not_found(policy_id: str) -> NeutronNotFound:
    return NeutronNotFound(
        f"RBAC policy of type network with ID {policy_id} not found", "RbacPolicyNotFound"
    )


def _target(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"'{value}' is not a valid target_tenant: give a project id, or '*' for all.")
    if len(value) > TARGET_LENGTH:
        raise invalid(
            f"'{value[:32]}...' exceeds maximum length of {TARGET_LENGTH} for target_tenant."
        )
    return value


def policy_view(row: RbacPolicyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object_type": "network",
        "object_id": row.object_id,
        "action": row.action,
        "target_tenant": row.target_project,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
    }


class RbacService:
    """The `rbac-policies` resource, for networks (the only object type shared here)."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    @staticmethod
    def _rule_target(row: RbacPolicyRow | None, project: str, target: str) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id if row is not None else project,
            "target.wildcard": target == WILDCARD,
        }

    def _visible(self, unit: Unit, context: RequestContext, policy_id: str) -> RbacPolicyRow:
        row = unit.rbac_policy(policy_id)
        if row is None or not self._policy.check(
            "get_rbac_policy", context, self._rule_target(row, "", row.target_project)
        ):
            raise _not_found(policy_id)
        return row

    def _network(self, unit: Unit, context: RequestContext, network_id: str) -> NetworkRow:
        """The policy's network: visible to the caller, and the caller's unless an admin."""
        row = unit.network(network_id)
        if row is None or not network_visible(
            self._policy, context, row, grants_of(unit, context, row)
        ):
            raise invalid(f"Network {network_id} could not be found.")
        if row.project_id != context.project_id and not self._policy.check(
            "admin_required", context
        ):
            raise invalid("Only admins can manipulate policies on networks they do not own.")
        return row

    def list_policies(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            return [
                policy_view(row)
                for row in unit.rbac_policies()
                if self._policy.check(
                    "get_rbac_policy", context, self._rule_target(row, "", row.target_project)
                )
            ]

    def get_policy(self, context: RequestContext, policy_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return policy_view(self._visible(unit, context, policy_id))

    def create_policy(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, CREATE, "rbac_policy")
        for name in ("object_type", "object_id", "action", "target_tenant"):
            if name not in attrs:
                raise NeutronBadRequest(
                    f"Failed to parse request. Required attribute '{name}' not specified"
                )
        if attrs["object_type"] != "network":
            raise invalid(
                f"object_type '{attrs['object_type']}' is not supported: this cloud shares "
                "networks only ('network')."
            )
        action = attrs["action"]
        if action not in ACTIONS:
            raise invalid(f"action '{action}' is not one of {', '.join(ACTIONS)}.")
        target = _target(attrs["target_tenant"])
        owner = attrs.get("project_id") or attrs.get("tenant_id") or context.project_id
        if not owner or not isinstance(owner, str):
            raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
        rule_target = self._rule_target(None, owner, target)
        self._policy.authorize("create_rbac_policy", context, rule_target)
        self._policy.authorize("create_rbac_policy:target_tenant", context, rule_target)
        network_id = str(attrs["object_id"])
        try:
            with self._store.transaction() as unit:
                unit.network_locked(network_id, shared=False)  # the network before its policies
                network = self._network(unit, context, network_id)
                row = _policy_row(owner, network.id, action, target)
                unit.add(row)
                if action == SHARED and target == WILDCARD:
                    network.shared = True
                if action == EXTERNAL:
                    network.external = True
                _touch(network)
                unit.flush()
                return policy_view(row)
        except Collision:
            raise NeutronConflict(
                "An RBAC policy already exists with those values.", "DuplicateRbacPolicy"
            ) from None

    def _network_of(self, context: RequestContext, policy_id: str) -> str:
        """The policy's network id (never changes), read before the locking transaction."""
        with self._store.transaction() as unit:
            return self._visible(unit, context, policy_id).object_id

    def update_policy(self, context: RequestContext, policy_id: str, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, {"target_tenant"}, "rbac_policy")
        network_id = self._network_of(context, policy_id)
        try:
            with self._store.transaction() as unit:
                # First: port creates hold it shared, so the in-use check below sees them all.
                unit.network_locked(network_id, shared=False)
                row = self._visible(unit, context, policy_id)
                if "target_tenant" not in attrs:
                    return policy_view(row)
                target = _target(attrs["target_tenant"])
                rule_target = self._rule_target(row, "", target)
                self._policy.authorize("update_rbac_policy", context, rule_target)
                self._policy.authorize("update_rbac_policy:target_tenant", context, rule_target)
                network = self._network(unit, context, row.object_id)
                if target != row.target_project:
                    old = row.target_project
                    # Written before the in-use check (on SQLite the write lock comes with it).
                    row.target_project = target
                    unit.flush()
                    self._refuse_if_in_use(unit, network, row, old)
                    self._mirror(unit, network)
                return policy_view(row)
        except Collision:
            raise NeutronConflict(
                "An RBAC policy already exists with those values.", "DuplicateRbacPolicy"
            ) from None

    def delete_policy(self, context: RequestContext, policy_id: str) -> None:
        network_id = self._network_of(context, policy_id)
        with self._store.transaction() as unit:
            # First: port creates hold it shared, so the in-use check below sees them all.
            unit.network_locked(network_id, shared=False)
            row = self._visible(unit, context, policy_id)
            self._policy.authorize(
                "delete_rbac_policy", context, self._rule_target(row, "", row.target_project)
            )
            network = unit.network(row.object_id)
            if network is None:  # cascaded away meanwhile
                raise _not_found(policy_id)
            # Deleted before the in-use check (on SQLite the write lock comes with it); a
            # refusal rolls the deletion back.
            unit.delete(row)
            self._refuse_if_in_use(unit, network, row, row.target_project)
            self._mirror(unit, network)

    @staticmethod
    def _refuse_if_in_use(unit: Unit, network: NetworkRow, row: RbacPolicyRow, target: str) -> None:
        """Neutron's rule: a policy may not stop granting `target` while the project(s) it
        grants still use the network (ports for sharing, router gateways for external); a
        self-share never is in use."""
        if target == network.project_id:
            return
        users = _dependent_ports(unit, network, row.action, target, row.id)
        if users:
            raise NeutronConflict(
                f"RBAC policy on object {network.id} cannot be removed because other objects "
                f"depend on it.\nDetails: port(s) {', '.join(sorted(users))} of the target "
                "project(s) still use the network; delete them first.",
                "RbacPolicyInUse",
            )

    @staticmethod
    def _mirror(unit: Unit, network: NetworkRow) -> None:
        """Keep the network's `shared` column equal to "a wildcard share exists"."""
        network.shared = wildcard(unit, network.id, SHARED) is not None
        _touch(network)
        unit.flush()
