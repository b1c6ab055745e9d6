"""What `os-hosts/{host}` shows of a cluster's servers: their sizes summed per project."""

from __future__ import annotations

from sqlalchemy import func, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import ServerRow


def by_project(unit: ComputeUnit, cluster: str) -> list[tuple[str, int, int, int]]:
    """(project, vCPUs, memory MB, disk GB) of the cluster's live servers, by project."""
    query = (
        select(
            ServerRow.project_id,
            func.coalesce(func.sum(ServerRow.vcpus), 0),
            func.coalesce(func.sum(ServerRow.memory_mb), 0),
            func.coalesce(func.sum(ServerRow.root_gb), 0),
        )
        .where(ServerRow.cluster == cluster, ServerRow.deleted_at.is_(None))
        .group_by(ServerRow.project_id)
        .order_by(ServerRow.project_id)
    )
    return [(str(p), int(c), int(m), int(d)) for p, c, m, d in unit.session.execute(query)]
