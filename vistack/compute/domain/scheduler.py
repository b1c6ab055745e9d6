"""Picks the cluster a server runs on (the filter-then-weigh shape of Nova's scheduler).

Filters: the requested zone (applied by `ClusterService.candidates`), enough free vCPUs, memory
and disk after allocation ratios. Weigher: most free memory first (Nova's default RAM weigher
spreads servers), ties by name so the choice is reproducible. Within the cluster DRS picks the
host, which is vSphere's job.
"""

from __future__ import annotations

from collections.abc import Sequence

from vistack.compute.domain.clusters import ClusterCapacity

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


def pick_cluster(
    candidates: Sequence[ClusterCapacity], *, vcpus: int, memory_mb: int, disk_gb: int
) -> ClusterCapacity | None:
    fitting = [
        c
        for c in candidates
        if c.vcpus_free >= vcpus and c.memory_mb_free >= memory_mb and c.disk_gb_free >= disk_gb
    ]
    if not fitting:
        return None
    return min(fitting, key=lambda c: (-c.memory_mb_free, c.name))


def pick_datastore(cluster: ClusterCapacity, preferred: str | None) -> str | None:
    """The image's own datastore when the cluster sees it (the template copy stays local),
    else the cluster's first."""
    if preferred is not None and preferred in cluster.datastores:
        return preferred
    return cluster.datastores[0] if cluster.datastores else None
