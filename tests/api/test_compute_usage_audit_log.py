"""`os-instance_usage_audit_log`: the report of an audit this cloud does not run (as Nova with
`instance_usage_audit = False`), for the last completed month before now or a timestamp; an
administrator's only; a bad timestamp is 400."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import fault
from vistack.common.clock import utcnow
from vistack.compute.domain.clusters import COMPUTE
from vistack.compute.domain.usage_audit import last_completed_month, parse_before

member = persona_fixture("compute_api")

FIELDS = {
    "hosts_not_run",
    "log",
    "num_hosts",
    "num_hosts_done",
    "num_hosts_not_run",
    "num_hosts_running",
    "overall_status",
    "period_beginning",
    "period_ending",
    "total_errors",
    "total_instances",
}


def _compute_hosts(compute_api: ComputeApi) -> list[str]:
    services = compute_api.get("/os-services", params={"binary": COMPUTE}).json()["services"]
    return sorted(s["host"] for s in services)


def _check(report: dict[str, Any], hosts: list[str]) -> None:
    assert set(report) == FIELDS
    assert sorted(report["hosts_not_run"]) == hosts
    assert report["num_hosts"] == report["num_hosts_not_run"] == len(hosts)
    assert report["num_hosts_done"] == report["num_hosts_running"] == 0
    assert report["total_instances"] == report["total_errors"] == 0
    assert report["log"] == {}
    done = "ALL" if not hosts else f"0 of {len(hosts)}"
    assert report["overall_status"] == f"{done} hosts done. 0 errors."


def test_the_list_reports_every_cluster_as_not_run(compute_api: ComputeApi) -> None:
    response = compute_api.get("/os-instance_usage_audit_log")
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["instance_usage_audit_logs"]
    report = response.json()["instance_usage_audit_logs"]
    hosts = _compute_hosts(compute_api)
    assert hosts  # the fake vCenter has clusters
    _check(report, hosts)
    begin, end = last_completed_month(utcnow())
    assert (report["period_beginning"], report["period_ending"]) == (str(begin), str(end))


def test_before_a_timestamp(compute_api: ComputeApi) -> None:
    for stamp in ("2026-03-15 10:20:30", "2026-03-15 10:20:30.123456"):
        response = compute_api.get(f"/os-instance_usage_audit_log/{quote(stamp)}")
        assert response.status_code == 200, response.text
        report = response.json()["instance_usage_audit_log"]
        _check(report, _compute_hosts(compute_api))
        assert report["period_beginning"] == "2026-02-01 00:00:00"
        assert report["period_ending"] == "2026-03-01 00:00:00"


def test_a_bad_timestamp_is_400(compute_api: ComputeApi) -> None:
    for stamp in ("invalid_time", "2026-13-01 00:00:00", "2026-03-15"):
        message = fault(
            compute_api.get(f"/os-instance_usage_audit_log/{quote(stamp)}"), 400, "badRequest"
        )
        assert stamp in message


def test_an_administrators_only(compute_api: ComputeApi, member: Persona) -> None:
    token = member.token
    fault(compute_api.get("/os-instance_usage_audit_log", token=token), 403, "forbidden")
    now = quote(datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    fault(compute_api.get(f"/os-instance_usage_audit_log/{now}", token=token), 403, "forbidden")
    # The policy comes first: a bad timestamp from a member is 403 too, as in Nova.
    fault(compute_api.get("/os-instance_usage_audit_log/x", token=token), 403, "forbidden")


@pytest.mark.parametrize(
    ("before", "begin", "end"),
    [
        ("2026-03-15 10:00:00", "2026-02-01 00:00:00", "2026-03-01 00:00:00"),
        # Exactly a month's first instant: the month just ended is not yet taken as complete.
        ("2026-03-01 00:00:00", "2026-01-01 00:00:00", "2026-02-01 00:00:00"),
        ("2026-01-10 00:00:00", "2025-12-01 00:00:00", "2026-01-01 00:00:00"),
        ("2026-02-01 00:00:00", "2025-12-01 00:00:00", "2026-01-01 00:00:00"),
    ],
)
def test_the_period_is_novas_last_completed_month(before: str, begin: str, end: str) -> None:
    start, finish = last_completed_month(parse_before(before))
    assert (str(start), str(finish)) == (begin, end)
