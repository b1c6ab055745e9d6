"""`os-server-password`: the password a guest posted to the metadata service, shown to the
server's owner and cleared by them.

A guest agent (cloud-init, cloudbase-init) encrypts the password it set with the instance's
SSH public key and POSTs it once to `/openstack/latest/password`; the metadata service keeps it
in the server's `system_metadata` (`instance_facts.InstanceFactsSource.set_password`). Nova's
API shows it (empty when none) and clears it, which lets the guest post a new one; clearing
does not change the password inside the guest.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.access import visible_row
from vistack.compute.domain.instance_facts import PASSWORD

SHOW_RULE = "os_compute_api:os-server-password:show"
CLEAR_RULE = "os_compute_api:os-server-password:clear"


class ServerPasswordService:
    """Show and clear the posted password, with Nova's checks (404 before 403)."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def show(self, context: RequestContext, server_id: str) -> str:
        """The encrypted password as posted, or "" when the guest posted none.

        :raises NotFound: no such server, or one the caller may not see.
        :raises Forbidden: the policy refuses.
        """
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id)
            self._policy.authorize(SHOW_RULE, context, {"project_id": row.project_id})
            return str((row.system_metadata or {}).get(PASSWORD) or "")

    def clear(self, context: RequestContext, server_id: str) -> None:
        """Forget the posted password (under the row lock, so a guest's concurrent POST either
        lands before and is cleared, or after and is kept)."""
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id, lock=True)
            self._policy.authorize(CLEAR_RULE, context, {"project_id": row.project_id})
            system = dict(row.system_metadata or {})
            if PASSWORD not in system:
                return
            del system[PASSWORD]
            queries.set_fields(unit, server_id, system_metadata=system)
