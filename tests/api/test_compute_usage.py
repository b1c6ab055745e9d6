"""Simple tenant usage (`os-simple-tenant-usage`) and the migrations record (`os-migrations`)
through HTTP, on each database backend.

Servers are rows written straight into the database with the launch and end times a test needs
(as builds and deletes leave them), in a project of the test's own; times are in 2024 so the
window's clipping to now never touches them unless a test means it to.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_quotas import new_project, nova_fault
from vistack.common.clock import utcnow

member = persona_fixture("compute_api")

#: The middle of the test window [T - 5h, T - 1h].
T = datetime(2024, 3, 1, 12, 0, 0)
FORM = "%Y-%m-%dT%H:%M:%S"
WINDOW = {
    "start": (T - timedelta(hours=5)).strftime(FORM),
    "end": (T - timedelta(hours=1)).strftime(FORM),
}


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def add_usage_server(
    api: ComputeApi,
    project_id: str,
    *,
    launched: datetime | None,
    terminated: datetime | None = None,
    deleted: datetime | None = None,
    vcpus: int = 1,
    memory_mb: int = 512,
    root_gb: int = 1,
    ephemeral_gb: int = 0,
    vm_state: str = "suspended",
) -> str:
    """A server row launched (or never launched, for a failed build) and ended as given.
    Suspended by default: the power sync leaves such rows alone (it would make an active one
    whose VM the fake vCenter does not have ERROR)."""
    server_id = str(uuid.uuid4())
    created = launched or T
    flavor = {
        "id": "2",
        "name": f"flavor-{vcpus}",
        "vcpus": vcpus,
        "ram": memory_mb,
        "disk": root_gb,
        "ephemeral": ephemeral_gb,
    }
    insert_server(
        api,
        project_id,
        id=server_id,
        flavor=flavor,
        vcpus=vcpus,
        memory_mb=memory_mb,
        root_gb=root_gb,
        vm_state=vm_state,
        cluster="DC0_C0",
        launched_at=launched,
        terminated_at=terminated,
        created_at=created,
        updated_at=created,
        deleted_at=deleted,
    )
    return server_id


def usage_of(api: ComputeApi, project_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/os-simple-tenant-usage/{project_id}", params=params)
    assert response.status_code == 200, response.text
    usage: dict[str, Any] = response.json()["tenant_usage"]
    return usage


def listed(api: ComputeApi, project_id: str, **params: str) -> dict[str, Any] | None:
    response = api.get("/os-simple-tenant-usage", params=params)
    assert response.status_code == 200, response.text
    found = [u for u in response.json()["tenant_usages"] if u["tenant_id"] == project_id]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture
def billed(compute_api: ComputeApi) -> tuple[str, dict[str, str]]:
    """A project whose servers ran in and around the window; returns it and its servers."""
    project_id = new_project(compute_api)
    hour = timedelta(hours=1)
    servers = {
        # There since before the window: billed the whole window, 4 hours.
        "running": add_usage_server(
            compute_api,
            project_id,
            launched=T - 10 * hour,
            vcpus=2,
            memory_mb=1024,
            root_gb=10,
            ephemeral_gb=5,
        ),
        # Ended inside the window (terminated, then deleted): 2 hours.
        "ended": add_usage_server(
            compute_api,
            project_id,
            launched=T - 20 * hour,
            terminated=T - 3 * hour,
            deleted=T - 3 * hour,
            vm_state="deleted",
        ),
        # Deleted with no termination time recorded: its deletion ends it, 2 hours.
        "deleted": add_usage_server(
            compute_api,
            project_id,
            launched=T - 4 * hour,
            deleted=T - 2 * hour,
            vcpus=4,
            vm_state="deleted",
        ),
    }
    # Outside the window or never launched: not billed.
    add_usage_server(compute_api, project_id, launched=T, terminated=T + hour)
    add_usage_server(compute_api, project_id, launched=T - 30 * hour, terminated=T - 6 * hour)
    add_usage_server(compute_api, project_id, launched=None, vm_state="error")
    return project_id, servers


# ------------------------------------------------------------------ one project


def test_show_bills_each_server_for_its_part_of_the_window(
    compute_api: ComputeApi, billed: tuple[str, dict[str, str]]
) -> None:
    project_id, servers = billed
    usage = usage_of(compute_api, project_id, **WINDOW)
    assert set(usage) == {
        "tenant_id",
        "start",
        "stop",
        "total_hours",
        "total_vcpus_usage",
        "total_memory_mb_usage",
        "total_local_gb_usage",
        "server_usages",
    }
    assert usage["tenant_id"] == project_id
    assert (usage["start"], usage["stop"]) == (
        stamp(T - timedelta(hours=5)),
        stamp(T - timedelta(hours=1)),
    )
    by_id = {s["instance_id"]: s for s in usage["server_usages"]}
    assert set(by_id) == set(servers.values())
    assert [by_id[servers[k]]["hours"] for k in ("running", "ended", "deleted")] == [4, 2, 2]
    assert usage["total_hours"] == pytest.approx(8)
    assert usage["total_vcpus_usage"] == pytest.approx(2 * 4 + 1 * 2 + 4 * 2)
    assert usage["total_memory_mb_usage"] == pytest.approx(1024 * 4 + 512 * 2 + 512 * 2)
    assert usage["total_local_gb_usage"] == pytest.approx(15 * 4 + 1 * 2 + 1 * 2)

    running = by_id[servers["running"]]
    assert set(running) == {
        "instance_id",
        "name",
        "tenant_id",
        "flavor",
        "hours",
        "vcpus",
        "memory_mb",
        "local_gb",
        "started_at",
        "ended_at",
        "state",
        "uptime",
    }
    assert (running["flavor"], running["vcpus"], running["memory_mb"], running["local_gb"]) == (
        "flavor-2",
        2,
        1024,
        15,
    )
    assert (running["state"], running["ended_at"]) == ("suspended", None)
    assert running["started_at"] == stamp(T - timedelta(hours=10))
    assert running["tenant_id"] == project_id
    assert running["uptime"] >= int((utcnow() - (T - timedelta(hours=10))).total_seconds()) - 5
    ended = by_id[servers["ended"]]
    assert (ended["state"], ended["ended_at"]) == ("terminated", stamp(T - timedelta(hours=3)))
    assert ended["uptime"] == 17 * 3600
    deleted = by_id[servers["deleted"]]
    assert (deleted["state"], deleted["ended_at"]) == ("terminated", stamp(T - timedelta(hours=2)))


def test_a_project_without_usage_shows_an_empty_object(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    assert usage_of(compute_api, project_id, **WINDOW) == {}
    add_usage_server(compute_api, project_id, launched=T)  # after the window
    assert usage_of(compute_api, project_id, **WINDOW) == {}


def test_the_window_ends_now_at_the_latest(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    now = utcnow()
    add_usage_server(compute_api, project_id, launched=now - timedelta(minutes=30))
    params = {
        "start": (now - timedelta(hours=1)).strftime(FORM),
        "end": (now + timedelta(days=1)).strftime(FORM),
    }
    usage = usage_of(compute_api, project_id, **params)
    stop = datetime.strptime(usage["stop"], "%Y-%m-%dT%H:%M:%S.%f")
    assert now <= stop <= utcnow()
    assert 0.49 < usage["total_hours"] < 0.6


def test_no_window_bills_running_servers_for_no_time(
    compute_api: ComputeApi, billed: tuple[str, dict[str, str]]
) -> None:
    """Nova takes a missing start and end as now: only what runs now, for no time."""
    project_id, servers = billed
    usage = usage_of(compute_api, project_id)
    assert [s["instance_id"] for s in usage["server_usages"]] == [servers["running"]]
    assert usage["total_hours"] == 0
    assert usage["start"] == usage["stop"]


@pytest.mark.parametrize(
    "start",
    ["2024-03-01 07:00:00.000000", "2024-03-01T07:00:00.000000", "2024-03-01T07:00:00"],
)
def test_nova_time_forms_are_read(
    compute_api: ComputeApi, billed: tuple[str, dict[str, str]], start: str
) -> None:
    project_id, _ = billed
    usage = usage_of(compute_api, project_id, start=start, end=WINDOW["end"])
    assert usage["start"] == stamp(T - timedelta(hours=5))
    assert usage["total_hours"] == pytest.approx(8)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "Invalid datetime string: Datetime is in invalid format"),
        ({"start": "2024-03-01"}, "Invalid datetime string: Datetime is in invalid format"),
        ({"end": "2024-03-01T07:00:00Z"}, "Invalid datetime string: Datetime is in invalid format"),
        (
            {"start": WINDOW["end"], "end": WINDOW["start"]},
            "Invalid start time. The start time cannot occur after the end time.",
        ),
        (
            {"start": WINDOW["start"], "end": WINDOW["start"]},
            "Invalid start time. The start time cannot occur after the end time.",
        ),
        ({"end": "2020-01-01T00:00:00"}, "Invalid start time."),
    ],
)
def test_bad_windows_are_refused(
    compute_api: ComputeApi, params: dict[str, str], message: str
) -> None:
    project_id = new_project(compute_api)
    for path in (f"/os-simple-tenant-usage/{project_id}", "/os-simple-tenant-usage"):
        assert nova_fault(compute_api.get(path, params=params), 400).startswith(message)


# ------------------------------------------------------------------ every project


def test_list_is_every_project_detailed_on_request(
    compute_api: ComputeApi, billed: tuple[str, dict[str, str]]
) -> None:
    project_id, servers = billed
    other = new_project(compute_api)
    add_usage_server(compute_api, other, launched=T - timedelta(hours=2))
    detailed = listed(compute_api, project_id, detailed="1", **WINDOW)
    assert detailed is not None
    shown = usage_of(compute_api, project_id, **WINDOW)
    # The same usage as the project's own view (uptimes aside: they run on with the clock).
    for usage in (detailed, shown):
        for server in usage["server_usages"]:
            del server["uptime"]
    assert detailed == shown
    assert {s["instance_id"] for s in detailed["server_usages"]} == set(servers.values())
    brief = listed(compute_api, project_id, **WINDOW)
    assert brief is not None
    assert "server_usages" not in brief
    assert brief == {k: v for k, v in detailed.items() if k != "server_usages"}
    # Nova reads `detailed=1` only.
    true = listed(compute_api, project_id, detailed="True", **WINDOW)
    assert true is not None and "server_usages" not in true
    other_usage = listed(compute_api, other, **WINDOW)
    assert other_usage is not None and other_usage["total_hours"] == pytest.approx(1)


def test_usage_policy(
    compute_api: ComputeApi, member: Persona, billed: tuple[str, dict[str, str]]
) -> None:
    project_id, _ = billed
    token = member.token
    message = nova_fault(compute_api.get("/os-simple-tenant-usage", token=token), 403)
    assert "os-simple-tenant-usage:list" in message
    response = compute_api.get(f"/os-simple-tenant-usage/{project_id}", token=token)
    assert "os-simple-tenant-usage:show" in nova_fault(response, 403)
    add_usage_server(compute_api, member.project_id, launched=T - timedelta(hours=2))
    response = compute_api.get(
        f"/os-simple-tenant-usage/{member.project_id}", token=token, params=WINDOW
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant_usage"]["total_hours"] == pytest.approx(1)


# ------------------------------------------------------------------ os-migrations


def test_migrations_are_an_empty_record(compute_api: ComputeApi, member: Persona) -> None:
    response = compute_api.get("/os-migrations")
    assert response.status_code == 200, response.text
    assert response.json() == {"migrations": []}
    filters = {
        "host": "DC0_C0",
        "status": "finished",
        "migration_type": "live-migration",
        "source_compute": "DC0_C1",
        "instance_uuid": str(uuid.uuid4()),
        "hidden": "0",
        "unknown": "ignored",
    }
    response = compute_api.get("/os-migrations", params=filters)
    assert (response.status_code, response.json()) == (200, {"migrations": []})
    message = nova_fault(compute_api.get("/os-migrations", token=member.token), 403)
    assert "os-migrations:index" in message
