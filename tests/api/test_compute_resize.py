"""Resize through HTTP on the fake vCenter: RESIZE → VERIFY_RESIZE with the VM reconfigured and
its root disk grown (the old one kept beside it), confirm (the copy dropped) and revert (the
copy put back), a stopped server staying stopped, Nova's refusals, the quota, a failure rolled
back, and a delete in VERIFY_RESIZE leaving no disk behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_compute_servers import (  # noqa: F401  (module fixtures)
    boot,
    fault,
    image_id,
    network,
    wait_gone,
    wait_status,
)
from vistack.common.context import RequestContext
from vistack.compute.db import migrations as moves_db
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import ClusterCapacity
from vistack.compute.domain.scheduler import NO_VALID_HOST
from vistack.drivers.errors import TransientError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")
ADMIN = RequestContext(request_id="req-test", user_id="admin", project_id="admin", roles=("admin",))


def act(api: ComputeApi, server_id: str, token: str, body: Any) -> Any:
    return api.post(f"/servers/{server_id}/action", token=token, json=body)


def resize(api: ComputeApi, server_id: str, token: str, flavor: str) -> Any:
    return act(api, server_id, token, {"resize": {"flavorRef": flavor}})


def backups(api: ComputeApi, server_id: str) -> list[str]:
    return [p for p in api.fake.state.disks if server_id in p and "resize-backup" in p]


def migrations_of(api: ComputeApi, server_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/os-migrations?instance_uuid={server_id}")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["migrations"]
    return found


def actions_of(api: ComputeApi, server_id: str, token: str) -> list[str]:
    response = api.get(f"/servers/{server_id}/os-instance-actions", token=token)
    assert response.status_code == 200, response.text
    return [a["action"] for a in response.json()["instanceActions"]]


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


def test_resize_then_confirm(compute_api: ComputeApi, member: Persona, server: str) -> None:
    cluster = compute_api.fake.state.vms[server].cluster
    asked = resize(compute_api, server, member.token, "2")
    assert asked.status_code == 202, asked.text
    shown = wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    request_id = asked.headers["x-openstack-request-id"]
    action = compute_api.get(f"/servers/{server}/os-instance-actions/{request_id}").json()
    events = {e["event"]: e["result"] for e in action["instanceAction"]["events"]}
    assert events == {"compute_resize_instance": "Success", "compute_finish_resize": "Success"}
    assert shown["flavor"]["id"] == "2"
    assert shown["OS-EXT-STS:vm_state"] == "resized" and shown["OS-EXT-STS:power_state"] == 1
    vm = compute_api.fake.state.vms[server]
    assert (vm.memory_mb, vm.cpus, vm.power_state) == (2048, 1, PowerState.ON)
    assert compute_api.fake.state.disks[vm.disks[0]].capacity_gb == 20
    assert vm.cluster == cluster  # room on its own cluster: it stays
    (kept,) = backups(compute_api, server)
    assert compute_api.fake.state.disks[kept].capacity_gb == 1
    (migration,) = migrations_of(compute_api, server)
    assert migration["status"] == "finished"
    assert (migration["old_instance_type_id"], migration["new_instance_type_id"]) == (1, 2)
    assert migration["source_compute"] == migration["dest_compute"] == cluster
    assert "migration_type" not in migration  # 2.23

    confirmed = act(compute_api, server, member.token, {"confirmResize": None})
    assert confirmed.status_code == 204, confirmed.text
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["flavor"]["id"] == "2"
    assert backups(compute_api, server) == []
    assert migrations_of(compute_api, server)[0]["status"] == "confirmed"
    assert {"resize", "confirmResize"} <= set(actions_of(compute_api, server, member.token))
    again = act(compute_api, server, member.token, {"confirmResize": None})
    assert "vm_state active" in fault(again, 409, "conflictingRequest")


def test_resize_then_revert(compute_api: ComputeApi, member: Persona, server: str) -> None:
    assert resize(compute_api, server, member.token, "3").status_code == 202
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert compute_api.fake.state.vms[server].cpus == 2
    reverted = act(compute_api, server, member.token, {"revertResize": None})
    assert reverted.status_code == 202, reverted.text
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["flavor"]["id"] == "1"
    vm = compute_api.fake.state.vms[server]
    assert (vm.cpus, vm.memory_mb, vm.power_state) == (1, 512, PowerState.ON)
    assert [compute_api.fake.state.disks[p].capacity_gb for p in vm.disks] == [1]
    assert backups(compute_api, server) == []
    assert migrations_of(compute_api, server)[0]["status"] == "reverted"


def test_a_stopped_server_stays_stopped(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    assert act(compute_api, server, member.token, {"os-stop": None}).status_code == 202
    wait_status(compute_api, server, member.token, "SHUTOFF")
    assert resize(compute_api, server, member.token, "2").status_code == 202
    shown = wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert shown["OS-EXT-STS:power_state"] == 4
    assert compute_api.fake.state.vms[server].power_state == PowerState.OFF
    act(compute_api, server, member.token, {"revertResize": None})
    wait_status(compute_api, server, member.token, "SHUTOFF")
    assert resize(compute_api, server, member.token, "2").status_code == 202
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert act(compute_api, server, member.token, {"confirmResize": None}).status_code == 204
    shown = wait_status(compute_api, server, member.token, "SHUTOFF")
    assert shown["flavor"]["id"] == "2"
    assert compute_api.fake.state.vms[server].power_state == PowerState.OFF


def test_resize_refusals(compute_api: ComputeApi, member: Persona, server: str) -> None:
    token = member.token
    same = resize(compute_api, server, token, "1")
    assert fault(same, 400, "badRequest") == "Resize requires a flavor change."
    unknown = resize(compute_api, server, token, "no-such-flavor")
    assert fault(unknown, 400, "badRequest") == "Unable to locate requested flavor."
    fault(act(compute_api, server, token, {"resize": {}}), 400, "badRequest")
    fault(
        act(compute_api, server, token, {"resize": {"flavorRef": "2", "x": 1}}), 400, "badRequest"
    )
    not_resized = act(compute_api, server, token, {"confirmResize": None})
    assert "vm_state active" in fault(not_resized, 409, "conflictingRequest")
    fault(act(compute_api, server, token, {"revertResize": None}), 409, "conflictingRequest")
    # Shrinking the disk: a zero-disk flavor, then a smaller one.
    zero = unique("zero")
    made = compute_api.post(
        "/flavors", json={"flavor": {"name": zero, "ram": 512, "vcpus": 1, "disk": 0, "id": zero}}
    )
    assert made.status_code == 200, made.text
    assert "zero disk" in fault(resize(compute_api, server, token, zero), 400, "badRequest")
    assert resize(compute_api, server, token, "2").status_code == 202
    wait_status(compute_api, server, token, "VERIFY_RESIZE")
    act(compute_api, server, token, {"confirmResize": None})
    wait_status(compute_api, server, token, "ACTIVE")
    shrink = resize(compute_api, server, token, "1")
    assert fault(shrink, 400, "badRequest") == "Resize error: Unable to shrink disk."
    # A locked server refuses its owner.
    assert act(compute_api, server, compute_api.admin_token, {"lock": None}).status_code == 202
    fault(resize(compute_api, server, token, "3"), 409, "conflictingRequest")
    act(compute_api, server, compute_api.admin_token, {"unlock": None})
    missing = resize(compute_api, "00000000-0000-0000-0000-000000000000", token, "2")
    fault(missing, 404, "itemNotFound")


def test_resize_beyond_the_cores_quota_is_refused(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    path = f"/os-quota-sets/{member.project_id}"
    usage = compute_api.get(f"{path}/detail").json()["quota_set"]["cores"]["in_use"]
    assert compute_api.put(path, json={"quota_set": {"cores": usage}}).status_code == 200
    try:
        refused = resize(compute_api, server, member.token, "3")
        assert "Quota exceeded for cores" in fault(refused, 403, "forbidden")
        assert (
            compute_api.get(f"/servers/{server}", token=member.token).json()["server"]["status"]
            == "ACTIVE"
        )
    finally:
        compute_api.delete(path)


def test_usage_counts_the_new_flavor(compute_api: ComputeApi, member: Persona, server: str) -> None:
    path = f"/os-quota-sets/{member.project_id}/detail"
    before = compute_api.get(path).json()["quota_set"]
    resize(compute_api, server, member.token, "3")
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    after = compute_api.get(path).json()["quota_set"]
    assert after["cores"]["in_use"] == before["cores"]["in_use"] + 1
    assert after["ram"]["in_use"] == before["ram"]["in_use"] + 4096 - 512


def test_a_failed_resize_rolls_back(compute_api: ComputeApi, member: Persona, server: str) -> None:
    compute_api.fake.state.fail_next("resize_vm", TransientError("vCenter went away"))
    assert resize(compute_api, server, member.token, "2").status_code == 202
    shown = wait_status(compute_api, server, member.token, "ACTIVE")
    assert shown["flavor"]["id"] == "1"
    vm = compute_api.fake.state.vms[server]
    assert (vm.memory_mb, vm.power_state) == (512, PowerState.ON)
    assert [compute_api.fake.state.disks[p].capacity_gb for p in vm.disks] == [1]
    assert backups(compute_api, server) == []
    assert migrations_of(compute_api, server)[0]["status"] == "error"


def test_deleting_a_resized_server_removes_the_kept_disk(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    resize(compute_api, server, member.token, "2")
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert backups(compute_api, server)
    assert compute_api.delete(f"/servers/{server}", token=member.token).status_code == 204
    wait_gone(compute_api, server, member.token)
    assert server not in compute_api.fake.state.vms
    assert backups(compute_api, server) == []
    assert migrations_of(compute_api, server)[0]["status"] == "confirmed"  # as Nova does
    assert compute_api.fake.state.disks == {
        p: d for p, d in compute_api.fake.state.disks.items() if server not in p
    }


def test_a_restart_resumes_an_interrupted_resize(
    compute_api: ComputeApi, member: Persona, server: str
) -> None:
    """The controller died after powering the VM off for a resize: at start the resize goes on
    from the step it had recorded, to VERIFY_RESIZE, and can be reverted."""
    store = ComputeStore(compute_api.cloud.database)
    new = compute_api.cloud.compute.flavors.for_build(ADMIN, "2")
    with store.transaction() as unit:
        row = server_queries.locked(unit, server)
        assert row is not None
        migration = moves_db.add(
            unit, row, "resize", "migrating", dest=row.cluster, old_flavor_id="1", new_flavor_id="2"
        )
        root = compute_api.fake.state.vms[server].disks[0]
        move = {
            "migration_id": migration.id,
            "kind": "resize",
            "old_flavor": dict(row.flavor),
            "new_flavor": new,
            "old_vm_state": "active",
            "source": row.cluster,
            "source_host": row.vm_host,
            "dest": row.cluster,
            "step": "stopped",
            "root": root,
        }
        moves_db.write_move(unit, server, move)
        server_queries.set_fields(unit, server, task_state="resize_migrating")
    compute_api.fake.drivers().compute.power_off(server)
    moves = compute_api.cloud.compute.moves
    assert moves is not None
    moves.start()
    shown = wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    assert shown["flavor"]["id"] == "2"
    vm = compute_api.fake.state.vms[server]
    assert (vm.memory_mb, vm.power_state) == (2048, PowerState.ON)
    assert len(backups(compute_api, server)) == 1
    assert act(compute_api, server, member.token, {"revertResize": None}).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    assert compute_api.fake.state.disks[root].capacity_gb == 1
    assert backups(compute_api, server) == []


def test_a_resize_its_cluster_cannot_take_moves_to_one_that_can(
    compute_api: ComputeApi,
    member: Persona,
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clusters = compute_api.cloud.compute.clusters
    source = compute_api.fake.state.vms[server].cluster
    real = clusters.candidates

    def full_source(zone: str | None) -> list[ClusterCapacity]:
        return [replace(c, memory_mb_free=0) if c.name == source else c for c in real(zone)]

    monkeypatch.setattr(clusters, "candidates", full_source)
    assert resize(compute_api, server, member.token, "2").status_code == 202
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    vm = compute_api.fake.state.vms[server]
    assert vm.cluster != source and vm.memory_mb == 2048
    (migration,) = migrations_of(compute_api, server)
    assert (migration["source_compute"], migration["dest_compute"]) == (source, vm.cluster)
    assert act(compute_api, server, member.token, {"revertResize": None}).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    vm = compute_api.fake.state.vms[server]
    assert (vm.cluster, vm.memory_mb) == (source, 512)


def test_a_resize_no_cluster_can_take_is_refused(
    compute_api: ComputeApi,
    member: Persona,
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clusters = compute_api.cloud.compute.clusters
    real = clusters.candidates

    def all_full(zone: str | None) -> list[ClusterCapacity]:
        return [replace(c, memory_mb_free=0) for c in real(zone)]

    monkeypatch.setattr(clusters, "candidates", all_full)
    refused = resize(compute_api, server, member.token, "2")
    assert fault(refused, 400, "badRequest") == NO_VALID_HOST
    shown = compute_api.get(f"/servers/{server}", token=member.token).json()["server"]
    assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", "1")
    (migration,) = migrations_of(compute_api, server)
    assert (migration["status"], migration["new_instance_type_id"]) == ("error", 2)
