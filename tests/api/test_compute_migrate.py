"""Cold and live migration through HTTP on the fake vCenter (two clusters): the VM moves to the
other cluster and the server's host follows, confirm/revert of a cold migration, Nova's
refusals per microversion, `os-migrations` with its filters and microversion fields, and the
server migrations API (2.22-2.80) answering as Nova does for vSphere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_resize import act, migrations_of
from tests.api.test_compute_servers import (  # noqa: F401  (module fixtures)
    boot,
    fault,
    image_id,
    network,
    wait_gone,
    wait_status,
)
from vistack.compute.api import microversion
from vistack.compute.db import migrations as moves_db
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.scheduler import NO_VALID_HOST
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")


@pytest.fixture
def server(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,  # noqa: F811
    network: dict[str, Any],  # noqa: F811
) -> Iterator[str]:
    """An ACTIVE server of the member's, deleted afterwards (the project's quota is 10)."""
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    yield server_id
    compute_api.delete(f"/servers/{server_id}", token=compute_api.admin_token)
    wait_gone(compute_api, server_id, member.token)


@pytest.fixture
def newer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Serve microversions up to 2.80 (the features gated on them are built; advertising them
    is the microversion work's)."""
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 80))
    yield


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def host_of(api: ComputeApi, server_id: str) -> str:
    shown = api.get(f"/servers/{server_id}").json()["server"]
    host: str = shown["OS-EXT-SRV-ATTR:host"]
    assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] == host
    return host


def other(api: ComputeApi, cluster: str) -> str:
    return next(c for c in api.fake.state.clusters if c != cluster)


def live(api: ComputeApi, server_id: str, host: str | None, **extra: Any) -> Any:
    body = {"host": host, "block_migration": False, "disk_over_commit": False, **extra}
    return act(api, server_id, api.admin_token, {"os-migrateLive": body})


def test_cold_migration_moves_the_vm_then_confirm(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    refused = act(compute_api, server, member.token, {"migrate": None})
    fault(refused, 403, "forbidden")
    assert act(compute_api, server, compute_api.admin_token, {"migrate": None}).status_code == 202
    shown = wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert shown["flavor"]["id"] == "1"
    target = host_of(compute_api, server)
    assert target == other(compute_api, source)
    vm = compute_api.fake.state.vms[server]
    assert vm.cluster == target and vm.power_state == PowerState.ON
    assert any(h.name == vm.host for h in compute_api.fake.state.clusters[target].hosts)
    (migration,) = migrations_of(compute_api, server)
    assert (migration["source_compute"], migration["dest_compute"]) == (source, target)
    assert act(compute_api, server, member.token, {"confirmResize": None}).status_code == 204
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == target
    typed = compute_api.get(f"/os-migrations?instance_uuid={server}&migration_type=migration")
    assert [m["status"] for m in typed.json()["migrations"]] == ["confirmed"]


def test_cold_migration_reverted_goes_back(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    act(compute_api, server, compute_api.admin_token, {"migrate": None})
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert act(compute_api, server, member.token, {"revertResize": None}).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == source
    assert compute_api.fake.state.vms[server].cluster == source


def test_migrate_to_a_named_host_from_2_56(
    compute_api: ComputeApi, member: Persona, server: str, newer: None
) -> None:
    source = host_of(compute_api, server)
    admin = compute_api.admin_token
    body = {"migrate": {"host": source}}
    same = compute_api.post(f"/servers/{server}/action", json=body, headers=at("2.56"))
    assert "host where the server exists" in fault(same, 400, "badRequest")
    body = {"migrate": {"host": "nowhere"}}
    unknown = compute_api.post(f"/servers/{server}/action", json=body, headers=at("2.56"))
    assert fault(unknown, 400, "badRequest") == "Compute host nowhere could not be found."
    target = other(compute_api, source)
    body = {"migrate": {"host": target}}
    moved = compute_api.post(
        f"/servers/{server}/action", token=admin, json=body, headers=at("2.56")
    )
    assert moved.status_code == 202, moved.text
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert host_of(compute_api, server) == target


def usage(api: ComputeApi) -> dict[str, tuple[int, int]]:
    """(running_vms, memory_mb_used) by hypervisor."""
    found = api.get("/os-hypervisors/detail").json()["hypervisors"]
    return {h["hypervisor_hostname"]: (h["running_vms"], h["memory_mb_used"]) for h in found}


def test_live_migration_between_clusters(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    target = other(compute_api, source)
    before = usage(compute_api)
    assert live(compute_api, server, target).status_code == 202
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["OS-EXT-STS:task_state"] is None
    assert host_of(compute_api, server) == target
    after = usage(compute_api)  # the capacity the server takes follows it
    assert after[source] == (before[source][0] - 1, before[source][1] - 512)
    assert after[target] == (before[target][0] + 1, before[target][1] + 512)
    vm = compute_api.fake.state.vms[server]
    assert vm.cluster == target and vm.power_state == PowerState.ON
    # The scheduler's choice when no host is named: the other cluster again.
    assert live(compute_api, server, None).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == source
    found = compute_api.get(f"/os-migrations?instance_uuid={server}&host={target}")
    assert [m["status"] for m in found.json()["migrations"]] == ["completed", "completed"]
    actions = compute_api.get(f"/servers/{server}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"]].count("live-migration") == 2


def test_live_migration_refusals(compute_api: ComputeApi, member: Persona, server: str) -> None:
    source = host_of(compute_api, server)
    self_move = live(compute_api, server, source)
    assert fault(self_move, 400, "badRequest") == (
        f"Unable to migrate instance ({server}) to current host ({source})."
    )
    unknown = live(compute_api, server, "nowhere")
    assert fault(unknown, 400, "badRequest") == "Compute host nowhere could not be found."
    body: dict[str, Any] = {"os-migrateLive": {"host": None, "block_migration": False}}
    fault(act(compute_api, server, compute_api.admin_token, body), 400, "badRequest")
    body = {"os-migrateLive": {"host": None, "block_migration": "x", "disk_over_commit": 0}}
    fault(act(compute_api, server, compute_api.admin_token, body), 400, "badRequest")
    fault(live(compute_api, "00000000-0000-0000-0000-000000000000", None), 404, "itemNotFound")
    body = {"os-migrateLive": {"host": None, "block_migration": False, "disk_over_commit": False}}
    fault(act(compute_api, server, member.token, body), 403, "forbidden")
    act(compute_api, server, compute_api.admin_token, {"os-stop": None})
    wait_status(compute_api, server, member.token, "SHUTOFF")
    stopped = live(compute_api, server, None)
    assert "vm_state stopped" in fault(stopped, 409, "conflictingRequest")
    errors = compute_api.get(f"/os-migrations?instance_uuid={server}&status=error")
    assert len(errors.json()["migrations"]) == 1  # the self-move, recorded as Nova does
    assert host_of(compute_api, server) == source


def test_live_migration_body_by_microversion(
    compute_api: ComputeApi, member: Persona, server: str, newer: None
) -> None:
    path = f"/servers/{server}/action"
    source = host_of(compute_api, server)
    target = other(compute_api, source)
    old_style: dict[str, Any] = {
        "os-migrateLive": {"host": None, "block_migration": False, "disk_over_commit": 1}
    }
    fault(compute_api.post(path, json=old_style, headers=at("2.25")), 400, "badRequest")
    forced = {"os-migrateLive": {"host": None, "block_migration": "auto", "force": True}}
    refused = compute_api.post(path, json=forced, headers=at("2.30"))
    assert fault(refused, 400, "badRequest") == "Can't force to a non-provided destination"
    forced["os-migrateLive"]["host"] = target
    fault(compute_api.post(path, json=forced, headers=at("2.68")), 400, "badRequest")
    # From 2.34 a refused move is accepted and its migration says it failed.
    to_self = {"os-migrateLive": {"host": source, "block_migration": "auto"}}
    assert compute_api.post(path, json=to_self, headers=at("2.34")).status_code == 202
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == source and shown["OS-EXT-STS:task_state"] is None
    assert compute_api.post(path, json=forced, headers=at("2.30")).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == target


def test_os_migrations_fields_by_microversion(
    compute_api: ComputeApi, member: Persona, server: str, newer: None
) -> None:
    live(compute_api, server, None)
    wait_status(compute_api, server, member.token, "ACTIVE")
    path = f"/os-migrations?instance_uuid={server}"
    fault(compute_api.get(path, token=member.token), 403, "forbidden")
    (plain,) = compute_api.get(path).json()["migrations"]
    assert "migration_type" not in plain and "uuid" not in plain
    (typed,) = compute_api.get(path, headers=at("2.23")).json()["migrations"]
    assert typed["migration_type"] == "live-migration" and "links" not in typed
    (full,) = compute_api.get(path, headers=at("2.80")).json()["migrations"]
    assert full["uuid"] and full["user_id"] and full["project_id"] == member.project_id
    paged = compute_api.get(f"{path}&limit=1", headers=at("2.59")).json()
    assert len(paged["migrations"]) == 1 and "migrations_links" in paged
    bad = compute_api.get(f"{path}&marker=nope", headers=at("2.59"))
    assert fault(bad, 400, "badRequest") == "Marker nope could not be found."
    fault(compute_api.get(f"{path}&bogus=1", headers=at("2.59")), 400, "badRequest")
    assert compute_api.get(f"{path}&bogus=1").status_code == 200  # ignored before 2.59
    none = compute_api.get(f"{path}&status=running").json()["migrations"]
    assert none == []


def test_server_migrations_api(
    compute_api: ComputeApi, member: Persona, server: str, newer: None
) -> None:
    base = f"/servers/{server}/migrations"
    fault(compute_api.get(base, headers=at("2.22")), 404, "itemNotFound")
    assert compute_api.get(base, headers=at("2.23")).json() == {"migrations": []}
    live(compute_api, server, None)
    wait_status(compute_api, server, member.token, "ACTIVE")
    (done,) = migrations_of(compute_api, server)
    shown = compute_api.get(f"{base}/{done['id']}", headers=at("2.23"))
    assert "is not in progress" in fault(shown, 404, "itemNotFound")
    fault(compute_api.get(f"{base}/999999", headers=at("2.23")), 404, "itemNotFound")
    force = compute_api.post(
        f"{base}/{done['id']}/action", json={"force_complete": None}, headers=at("2.22")
    )
    assert "task_state None" in fault(force, 409, "conflictingRequest")
    abort = compute_api.delete(f"{base}/{done['id']}", headers=at("2.24"))
    fault(abort, 409, "conflictingRequest")
    fault(compute_api.delete(f"{base}/{done['id']}", headers=at("2.23")), 404, "itemNotFound")


def test_no_other_cluster_is_no_valid_host(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    target = other(compute_api, source)
    service = {"host": target, "binary": "nova-compute"}
    assert compute_api.put("/os-services/disable", json=service).status_code == 200
    try:
        cold = act(compute_api, server, compute_api.admin_token, {"migrate": None})
        assert fault(cold, 400, "badRequest") == NO_VALID_HOST
        assert fault(live(compute_api, server, None), 400, "badRequest") == NO_VALID_HOST
    finally:
        compute_api.put("/os-services/enable", json=service)
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["OS-EXT-STS:task_state"] is None and host_of(compute_api, server) == source
    statuses = [m["status"] for m in migrations_of(compute_api, server)]
    assert statuses == ["error", "error"]


def test_a_failed_vmotion_leaves_the_server_where_it_was(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    compute_api.fake.state.fail_next("relocate_vm", NoCapacityError("no room on the target"))
    assert live(compute_api, server, None).status_code == 202
    (migration,) = migrations_of(compute_api, server)
    deadline = time.monotonic() + 20
    while migration["status"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.05)
        (migration,) = migrations_of(compute_api, server)
    assert migration["status"] == "failed"
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["OS-EXT-STS:task_state"] is None
    assert host_of(compute_api, server) == source
    assert compute_api.fake.state.vms[server].power_state == PowerState.ON


def test_a_restart_finishes_an_interrupted_live_migration(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    source = host_of(compute_api, server)
    target = other(compute_api, source)
    store = ComputeStore(compute_api.cloud.database)
    with store.transaction() as unit:
        row = server_queries.locked(unit, server)
        assert row is not None
        moves_db.add(
            unit, row, "live-migration", "queued", dest=target, old_flavor_id="1", new_flavor_id="1"
        )
        server_queries.set_fields(unit, server, task_state="migrating")
    moves = compute_api.cloud.compute.moves
    assert moves is not None
    moves.start()
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert host_of(compute_api, server) == target
    assert [m["status"] for m in migrations_of(compute_api, server)] == ["completed"]
