"""`os-instance_usage_audit_log`: Nova's report of its periodic instance usage audit.

Nova's compute services can audit, once per period (`instance_usage_audit_period`, a month by
default), which instances existed, and record per host how that went; the API reports the
last completed period. Nova runs the audit only with `instance_usage_audit = True`; this cloud
runs none (as Nova with that option's default, False), so the report is Nova's for that case:
every compute host (here one `nova-compute` per vSphere cluster) listed as not run, none done
or running, no instances and no errors, for the period Nova computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.policy import PolicyEngine
from vistack.compute.db import services as service_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import COMPUTE

LIST_RULE = "os_compute_api:os-instance-usage-audit-log:list"
SHOW_RULE = "os_compute_api:os-instance-usage-audit-log:show"


def parse_before(text: str) -> datetime:
    """The `{before_timestamp}` of the show path, in Nova's two accepted forms
    (`2026-11-24 16:00:00` and with microseconds, `2026-11-24 16:00:00.123456`).

    :raises BadRequest: anything else.
    """
    form = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(text, form)
    except ValueError:
        raise BadRequest(
            f"Invalid timestamp for date {text}: give it as 'YYYY-MM-DD hh:mm:ss[.ffffff]'"
        ) from None


def _month_before(moment: datetime) -> datetime:
    """The first instant of the month before `moment`'s month."""
    if moment.month == 1:
        return datetime(moment.year - 1, 12, 1)
    return datetime(moment.year, moment.month - 1, 1)


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """Nova's last completed audit period of a month before `before`: it ends on the first of
    `before`'s month (or of the month before, when `before` is exactly that first instant)
    and begins a month earlier."""
    end = datetime(before.year, before.month, 1)
    if end >= before:
        end = _month_before(end)
    return _month_before(end), end


@dataclass(frozen=True)
class AuditReport:
    """One period's report, as Nova's `_get_audit_task_logs` builds it."""

    begin: datetime
    end: datetime
    hosts: tuple[str, ...]

    def view(self) -> dict[str, Any]:
        """Nova's body (its periods are `str(datetime)`: `2026-10-01 00:00:00`). No host ran
        the audit, so none is done, running or has a log entry."""
        done = 0
        total = len(self.hosts)
        overall = "ALL" if done == total else f"{done} of {total}"
        return {
            "period_beginning": str(self.begin),
            "period_ending": str(self.end),
            "num_hosts": total,
            "num_hosts_done": done,
            "num_hosts_running": 0,
            "num_hosts_not_run": total,
            "hosts_not_run": list(self.hosts),
            "total_instances": 0,
            "total_errors": 0,
            "overall_status": f"{overall} hosts done. 0 errors.",
            "log": {},
        }


class UsageAuditLog:
    """The report, for an administrator (Nova's policy)."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def report(self, context: RequestContext, before: str | None = None) -> AuditReport:
        """The last completed period before the timestamp `before` (None: now, as the list
        path asks). The policy is checked first, as Nova does: a bad timestamp from someone
        who may not ask at all is 403, not 400.

        :raises Forbidden: not an administrator.
        :raises BadRequest: `before` is not a timestamp Nova accepts.
        """
        rule = LIST_RULE if before is None else SHOW_RULE
        self._policy.authorize(rule, context, {})
        moment = parse_before(before) if before is not None else utcnow()
        begin, end = last_completed_month(moment)
        with self._store.transaction() as unit:
            hosts = tuple(r.host for r in service_queries.services(unit) if r.binary == COMPUTE)
        return AuditReport(begin, end, hosts)
