"""What a server view shows beyond the server's own row, looked up once per request: its tags
(2.26), the state of the compute service it runs on (`host_status`, 2.16), whether the
caller may see the embedded flavor's extra specs (2.47) and its server groups (2.71)."""

from __future__ import annotations

from collections.abc import Sequence

from vistack.common.context import RequestContext
from vistack.common.errors import Forbidden, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import server_groups as group_queries
from vistack.compute.db import server_tags as tag_queries
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import ClusterService

#: Nova's `host_status` values.
UP, DOWN, MAINTENANCE, UNKNOWN = "UP", "DOWN", "MAINTENANCE", "UNKNOWN"


class ServerExtras:
    """Per-request lookups for server views."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, clusters: ClusterService) -> None:
        self._store = store
        self._policy = policy
        self._clusters = clusters

    def tags_of(self, server_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each server's tags (servers the caller was already allowed to see)."""
        with self._store.transaction() as unit:
            return tag_queries.of_servers(unit, server_ids)

    def topology(self, context: RequestContext, server_id: str) -> None:
        """Check a caller may read the server's topology (2.78): 404 when it cannot see the
        server, 403 when policy refuses (servers here have no NUMA topology to show)."""
        with self._store.transaction() as unit:
            row = server_queries.get(unit, server_id)
        target = {"project_id": row.project_id} if row is not None else {}
        if row is None or not self._policy.check("os_compute_api:servers:show", context, target):
            raise NotFound(f"Instance {server_id} could not be found.")
        self._policy.authorize("compute:server:topology:index", context, target)

    def server_groups(self, server_id: str) -> list[str]:
        """The ids of the groups the server is in (2.71's `server_groups`: at most one)."""
        with self._store.transaction() as unit:
            group = group_queries.group_of(unit, server_id)
            return [group.id] if group is not None else []

    def host_status(self, context: RequestContext) -> dict[str, str] | None:
        """Each cluster's `host_status`, or None when the caller may not see it (Nova's
        default: administrators only).

        A cluster whose `nova-compute` is forced down or missing from vCenter is DOWN; a
        disabled one is MAINTENANCE (it takes no new server); otherwise UP. A server on a
        cluster with no service shows UNKNOWN, one on no cluster an empty string.
        """
        if not self._policy.check("os_compute_api:servers:show:host_status", context, {}):
            return None
        try:
            states = self._clusters.services(context, binary="nova-compute")
        except Forbidden:
            return {}  # may see the status but not the services: UNKNOWN below
        out: dict[str, str] = {}
        for state in states:
            if not state.up:
                out[state.host] = DOWN
            elif state.disabled:
                out[state.host] = MAINTENANCE
            else:
                out[state.host] = UP
        return out

    def sees_extra_specs(self, context: RequestContext) -> bool:
        """Whether the embedded flavor (2.47) shows its extra specs to this caller."""
        target = {"project_id": context.project_id or ""}
        return self._policy.check("os_compute_api:os-flavor-extra-specs:index", context, target)
