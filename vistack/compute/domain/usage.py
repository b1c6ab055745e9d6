"""Simple tenant usage (`os-simple-tenant-usage`): how long each project's servers ran in a
window, and the vCPU, memory and disk hours that makes, computed as Nova computes them.

A server counts from `launched_at` (when its build finished) to `terminated_at` (else its
`deleted_at`), clipped to the window; deleted servers keep their rows for this. The window's end
is never later than now: usage to come is not usage. Sizes are the flavor's as the server was
built with it (a later flavor change does not rewrite history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.policy import PolicyEngine
from vistack.compute.db import usage as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.db.tables import ServerRow

#: The forms Nova reads `start` and `end` in (UTC, no zone suffix).
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
TERMINATED = "terminated"


@dataclass(frozen=True)
class ServerUsage:
    """One server's part of a project's usage."""

    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    hours: float
    vcpus: int
    memory_mb: int
    local_gb: int
    started_at: datetime
    ended_at: datetime | None
    state: str
    #: Seconds from launch to end (or to now, for a server still there).
    uptime: int


@dataclass(frozen=True)
class TenantUsage:
    """A project's usage over the window [start, stop]; `server_usages` None when the list
    was not asked for in detail."""

    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float
    total_vcpus_usage: float
    total_memory_mb_usage: float
    total_local_gb_usage: float
    server_usages: tuple[ServerUsage, ...] | None


class UsageService:
    """Usage of every project (administrators) or of one (its readers)."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def tenant_usages(
        self, context: RequestContext, start: str | None, end: str | None, detailed: bool
    ) -> list[TenantUsage]:
        """Every project with a server that ran in the window.

        :raises BadRequest: a time Nova cannot read, or start not before end.
        """
        self._policy.authorize("os_compute_api:os-simple-tenant-usage:list", context, {})
        return self._usages(start, end, None, detailed=detailed)

    def tenant_usage(
        self, context: RequestContext, project_id: str, start: str | None, end: str | None
    ) -> TenantUsage | None:
        """One project's usage, its servers detailed; None when none of them ran in the window.

        :raises BadRequest: a time Nova cannot read, or start not before end.
        """
        self._policy.authorize(
            "os_compute_api:os-simple-tenant-usage:show", context, {"project_id": project_id}
        )
        found = self._usages(start, end, project_id, detailed=True)
        return found[0] if found else None

    def page(
        self,
        context: RequestContext,
        project_id: str | None,
        start: str | None,
        end: str | None,
        *,
        detailed: bool,
        limit: int,
        marker: str | None,
    ) -> tuple[list[TenantUsage], str | None]:
        """One page of usage (2.40): the servers after `marker` (a server id), at most `limit`
        of them, summed per project; and the last server's id when the page is full (there
        may be more), else None. `project_id` None: every project (administrators).

        :raises BadRequest: a bad time, or a marker that is no server of the window.
        """
        if project_id is None:
            self._policy.authorize("os_compute_api:os-simple-tenant-usage:list", context, {})
        else:
            self._policy.authorize(
                "os_compute_api:os-simple-tenant-usage:show", context, {"project_id": project_id}
            )
        return self._paged(start, end, project_id, detailed=detailed, limit=limit, marker=marker)

    def _usages(
        self, start: str | None, end: str | None, project_id: str | None, *, detailed: bool
    ) -> list[TenantUsage]:
        return self._paged(start, end, project_id, detailed=detailed)[0]

    def _paged(
        self,
        start: str | None,
        end: str | None,
        project_id: str | None,
        *,
        detailed: bool,
        limit: int | None = None,
        marker: str | None = None,
    ) -> tuple[list[TenantUsage], str | None]:
        now = utcnow()
        period_start, period_stop = _window(start, end, now)
        with self._store.transaction() as unit:
            rows = queries.active_in(unit, period_start, period_stop, project_id)
        if marker is not None:
            ids = [row.id for row in rows]
            if marker not in ids:
                raise BadRequest(f"marker [{marker}] not found")
            rows = rows[ids.index(marker) + 1 :]
        last = None
        if limit is not None:
            rows = rows[:limit]
            last = rows[-1].id if rows and len(rows) == limit else None
        by_project: dict[str, list[ServerUsage]] = {}
        for row in rows:
            by_project.setdefault(row.project_id, []).append(
                _server_usage(row, period_start, period_stop, now)
            )
        return [
            TenantUsage(
                tenant_id=tenant,
                start=period_start,
                stop=period_stop,
                total_hours=sum(u.hours for u in servers),
                total_vcpus_usage=sum(u.vcpus * u.hours for u in servers),
                total_memory_mb_usage=sum(u.memory_mb * u.hours for u in servers),
                total_local_gb_usage=sum(u.local_gb * u.hours for u in servers),
                server_usages=tuple(servers) if detailed else None,
            )
            for tenant, servers in by_project.items()
        ], last


def _window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The window asked for, its end no later than now. Nova takes a missing bound as now, so
    asking for neither bills the servers running now for no time.

    :raises BadRequest: a bound Nova cannot read, or start not before end.
    """
    period_start = _moment(start, "start", now)
    period_stop = _moment(end, "end", now)
    if (start or end) and not period_start < period_stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return period_start, min(period_stop, now)


def _moment(text: str | None, field: str, now: datetime) -> datetime:
    if not text:
        return now
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    raise BadRequest(
        f"Invalid datetime string: Datetime is in invalid format. Give {field} as "
        f"YYYY-MM-DDTHH:MM:SS[.ffffff] in UTC, without a zone (got {text!r})."
    )


def _server_usage(row: ServerRow, start: datetime, stop: datetime, now: datetime) -> ServerUsage:
    launched = row.launched_at
    assert launched is not None  # the query keeps launched servers only
    ended = row.terminated_at or row.deleted_at
    return ServerUsage(
        instance_id=row.id,
        name=row.name,
        tenant_id=row.project_id,
        flavor=str((row.flavor or {}).get("name") or ""),
        hours=_hours(launched, ended, start, stop),
        vcpus=row.vcpus,
        memory_mb=row.memory_mb,
        local_gb=row.root_gb + int((row.flavor or {}).get("ephemeral") or 0),
        started_at=launched,
        ended_at=ended,
        state=TERMINATED if ended is not None else row.vm_state,
        uptime=int(((ended or now) - launched).total_seconds()),
    )


def _hours(launched: datetime, ended: datetime | None, start: datetime, stop: datetime) -> float:
    """How long the server ran inside [start, stop], in hours (never negative)."""
    begin = max(launched, start)
    finish = min(stop, ended) if ended is not None else stop
    return max(0.0, (finish - begin).total_seconds() / 3600.0)
