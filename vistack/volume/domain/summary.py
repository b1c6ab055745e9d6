"""`GET /volumes/summary` (3.12): how many volumes the caller's project has and their
gigabytes; from 3.36 also every metadata key with the distinct values it takes across them.
An administrator may ask for every project's (`all_tenants`, narrowed by `project_id`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vistack.common.context import RequestContext
from vistack.volume.db import queries
from vistack.volume.domain import list_scope
from vistack.volume.domain.volumes import VolumeService


@dataclass(frozen=True)
class VolumeSummary:
    total_count: int
    total_size: int
    #: key -> its distinct values, sorted (Cinder's `metadata` at 3.36).
    metadata: dict[str, list[str]]


def summarize(
    volumes: VolumeService, context: RequestContext, query: Mapping[str, str]
) -> VolumeSummary:
    volumes.authorize("volume:get_all", context, context.project_id)
    project = list_scope.project_of(volumes.policy, context, query)
    count = size = 0
    values: dict[str, set[str]] = {}
    with volumes.store.transaction() as unit:
        for row in queries.volumes(unit, project):
            count += 1
            size += row.size_gb
            for key, value in (row.metadata_items or {}).items():
                values.setdefault(key, set()).add(value)
    return VolumeSummary(count, size, {k: sorted(v) for k, v in sorted(values.items())})
