"""A server built on the cluster an administrator named: `availability_zone: "zone:host"`
(Nova's forced host, any microversion) or 2.74's `host` / `hypervisor_hostname`.

The create records the cluster in the server's `system_metadata`; this placement filter keeps
the build's candidates to it, so the server goes there or fails with "No valid host" (when
that cluster is disabled, down or full), as Nova's requested destination does. Only the first
build is pinned: a later resize or migration is scheduled freely, as in Nova.
"""

from __future__ import annotations

from vistack.compute.domain import states
from vistack.compute.domain.clusters import ClusterCapacity
from vistack.compute.domain.models import Server

KEY = "requested_cluster"


def destination_metadata(cluster: str | None) -> dict[str, str]:
    """What the create records for `narrow` (nothing when no cluster was named)."""
    return {KEY: cluster} if cluster else {}


def narrow(server: Server, candidates: list[ClusterCapacity]) -> list[ClusterCapacity]:
    """`ServerWork.placement_filters` hook: only the named cluster, for the first build."""
    wanted = server.system_metadata.get(KEY)
    if not wanted or server.vm_state != states.BUILDING:
        return candidates
    return [c for c in candidates if c.name == wanted]
