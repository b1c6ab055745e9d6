"""The small server actions: os-resetState, injectNetworkInfo, restore, forceDelete, evacuate,
changePassword and trigger_crash_dump, each as Nova does it, or refused as Nova refuses it for
a driver that cannot.

- `os-resetState` sets vm_state to active or error and clears the task (an administrator's
  repair), recorded as the `reset_state` action.
- `injectNetworkInfo` refreshes the server's network info cache (its `addresses`) from
  Neutron; Nova's VMware driver has nothing to inject into the guest, so that is all it does.
- `restore`: this cloud keeps no soft-deleted servers (`reclaim_instance_interval` is 0), so
  no server is ever in the state restore needs; `forceDelete` deletes at once, whatever the
  state, as Nova's does.
- `evacuate`: a compute node is a whole vSphere cluster, whose ESXi hosts vSphere HA restarts
  VMs from by itself; Nova refuses to evacuate from a compute service that is up, and from a
  forced-down one this refuses (501): no server is ever rebuilt on another cluster. So 2.95
  (an evacuated server ends SHUTOFF, not ACTIVE) changes nothing here: the request is checked
  and refused alike at every version, and nothing reaches a destination to be stopped.
- `changePassword` needs a guest agent vSphere does not have (Nova's VMware driver does not
  implement it): 501. `trigger_crash_dump` needs an NMI vSphere cannot inject: 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    NotImplementedByBackend,
)
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db import services as service_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.access import visible_row
from vistack.compute.domain.action_events import Version
from vistack.compute.domain.address_refresh import fixed_addresses, with_floating
from vistack.compute.domain.clusters import COMPUTE
from vistack.compute.domain.servers import server_not_found, state_conflict
from vistack.network.domain.service import NetworkService

#: `os-resetState` states (Nova's `state_map`).
RESET_STATES = {"active": states.ACTIVE, "error": states.ERROR}
#: The vm_states each action accepts (Nova's `check_instance_state`).
EVACUATE_STATES = (states.ACTIVE, states.STOPPED, states.ERROR)
CRASH_DUMP_STATES = (states.ACTIVE, states.PAUSED, states.RESCUED, states.RESIZED, states.ERROR)
PASSWORD_STATES = (states.ACTIVE,)


def _argument(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")
    return value


def _only(argument: Mapping[str, Any], allowed: set[str], name: str) -> None:
    unknown = set(argument) - allowed
    if unknown:
        names = ", ".join(sorted(map(repr, unknown)))
        raise BadRequest(
            f"Invalid input for field/attribute {name}. Additional properties are not allowed "
            f"({names} were unexpected)"
        )


class AdminActions:
    """The actions above, with the caller's context."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, networks: NetworkService):
        self._store = store
        self._policy = policy
        self._networks = networks

    # ------------------------------------------------------------------ helpers

    def _checked(
        self,
        context: RequestContext,
        server_id: str,
        rule: str,
        *,
        lock: bool = False,
        allowed: tuple[str, ...] | None = None,
        action: str = "",
    ) -> ServerRow:
        """The server if the caller may see it and `rule` allows; then (when asked) the lock
        and the vm_state checks, in Nova's order. The row is a snapshot (read in its own
        transaction)."""
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id)
            target = {"project_id": row.project_id, "user_id": row.user_id}
            self._policy.authorize(rule, context, target)
            if lock and row.locked and "admin" not in context.roles:
                raise Conflict(f"Instance {server_id} is locked")
            if allowed is not None and (row.vm_state not in allowed or row.task_state is not None):
                raise state_conflict(row, action)
            unit.session.expunge(row)
            return row

    def _record(self, context: RequestContext, server_id: str, action: str, result: str) -> None:
        with self._store.transaction() as unit:
            queries.start_action(
                unit,
                server_id,
                action,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
            queries.finish_action(unit, server_id, context.request_id, result)

    # ------------------------------------------------------------------ os-resetState

    def reset_state(self, context: RequestContext, server_id: str, argument: Any) -> None:
        body = _argument(argument, "os-resetState")
        _only(body, {"state"}, "os-resetState")
        if "state" not in body:
            raise BadRequest("Invalid input for field/attribute os-resetState. 'state' is required")
        wanted = body["state"]
        if wanted not in RESET_STATES:
            raise BadRequest(
                f"Invalid input for field/attribute state. Value: {wanted}. "
                f"{wanted!r} is not one of ['active', 'error']"
            )
        self._checked(context, server_id, "os_compute_api:os-admin-actions:reset_state")
        with self._store.transaction() as unit:
            if queries.locked(unit, server_id) is None:
                raise server_not_found(server_id)
            queries.set_fields(unit, server_id, vm_state=RESET_STATES[wanted], task_state=None)
        self._record(context, server_id, "reset_state", "Success")

    # ------------------------------------------------------------------ injectNetworkInfo

    def inject_network_info(self, context: RequestContext, server_id: str) -> None:
        """Rebuild the server's `addresses` from its ports as Neutron has them now (floating
        addresses of ports still plugged are kept)."""
        row = self._checked(
            context, server_id, "os_compute_api:os-admin-actions:inject_network_info", lock=True
        )
        fixed, names = fixed_addresses(self._networks, context, row.port_ids or [])
        addresses = with_floating(fixed, names, row.addresses)
        with self._store.transaction() as unit:
            if queries.locked(unit, server_id) is not None:
                queries.set_fields(unit, server_id, addresses=addresses)

    # ------------------------------------------------------------------ deferred delete

    def restore(self, context: RequestContext, server_id: str) -> None:
        """No server is ever soft-deleted here, so restore always finds the wrong state."""
        row = self._checked(context, server_id, "os_compute_api:os-deferred-delete:restore")
        raise Conflict(
            f"Cannot 'restore' instance {server_id} while it is in vm_state {row.vm_state}"
        )

    def authorize_force_delete(self, context: RequestContext, server_id: str) -> None:
        """forceDelete's own policy; the delete itself is `ServerService.delete`."""
        self._checked(context, server_id, "os_compute_api:os-deferred-delete:force")

    # ------------------------------------------------------------------ evacuate

    def evacuate(
        self, context: RequestContext, server_id: str, argument: Any, version: Version
    ) -> None:
        """Check the request as Nova does, then refuse: the cluster's compute service is up
        (vSphere HA restarts VMs inside it), or, forced down, it is still vSphere's HA that
        restarts them, never a rebuild elsewhere (whatever the microversion: 2.95's stopped
        destination never comes to be)."""
        body = _argument(argument, "evacuate")
        v214 = version.at_least("2.14")
        allowed = {"host", "adminPass"} | (set() if v214 else {"onSharedStorage"})
        if version.at_least("2.29") and not version.at_least("2.68"):
            allowed.add("force")
        _only(body, allowed, "evacuate")
        if not v214 and "onSharedStorage" not in body:
            raise BadRequest(
                "Invalid input for field/attribute evacuate. 'onSharedStorage' is a required "
                "property"
            )
        host = body.get("host")
        row = self._checked(context, server_id, "os_compute_api:os-evacuate")
        if not row.cluster:
            raise Conflict(f"Instance {server_id} is not ready")  # never placed on a cluster
        with self._store.transaction() as unit:
            if host is not None and service_queries.by_host(unit, COMPUTE, str(host)) is None:
                raise NotFound(f"Compute host {host} not found.")
            source = service_queries.by_host(unit, COMPUTE, row.cluster or "")
            forced_down = source is not None and source.forced_down
        if host is not None and row.cluster == host:
            raise BadRequest("The target host can't be the same one.")
        if row.vm_state not in EVACUATE_STATES or row.task_state is not None:
            raise state_conflict(row, "evacuate")
        if not forced_down:
            raise BadRequest(f"Compute service of {row.cluster} is still in use.")
        raise NotImplementedByBackend(
            f"Compute node {row.cluster} is a vSphere cluster: vSphere HA restarts the VMs of a "
            "failed ESXi host on the cluster's other hosts; servers are not evacuated to "
            "another cluster."
        )

    # ------------------------------------------------------------------ refusals

    def change_password(self, context: RequestContext, server_id: str, argument: Any) -> None:
        body = _argument(argument, "changePassword")
        _only(body, {"adminPass"}, "changePassword")
        if not isinstance(body.get("adminPass"), str):
            raise BadRequest(
                "Invalid input for field/attribute changePassword. 'adminPass' is a required "
                "string property"
            )
        self._checked(
            context,
            server_id,
            "os_compute_api:os-admin-password",
            lock=True,
            allowed=PASSWORD_STATES,
            action="changePassword",
        )
        self._record(context, server_id, "changePassword", "Error")
        raise NotImplementedByBackend("Unable to set password on instance")

    def trigger_crash_dump(self, context: RequestContext, server_id: str) -> None:
        self._checked(
            context,
            server_id,
            "os_compute_api:servers:trigger_crash_dump",
            lock=True,
            allowed=CRASH_DUMP_STATES,
            action="trigger_crash_dump",
        )
        self._record(context, server_id, "trigger_crash_dump", "Error")
        raise BadRequest("Triggering crash dump is not supported")
