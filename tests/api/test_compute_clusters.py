"""Clusters through Nova's admin APIs (`os-services`, `os-hypervisors`, `os-availability-zone`)
and the scheduler's view of them (`ClusterService.candidates`), on each database backend.

The fake vCenter has two clusters (`DC0_C0`, `DC0_C1`) of three hosts (32 cores, 256 GiB each)
seeing two 1024 GB datastores. Server rows are written straight into the database (see
`add_server`); tests that disable or delete a service put it back before they end.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_quotas import add_server, new_project, nova_fault
from vistack.common.errors import BadRequest
from vistack.compute.domain import clusters as clusters_module
from vistack.compute.domain.clusters import ClusterService
from vistack.config import ComputeSettings, ConfigError
from vistack.drivers.errors import TransientError
from vistack.drivers.fake.state import FakeCluster, FakeHost

member = persona_fixture("compute_api")

C0, C1 = "DC0_C0", "DC0_C1"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
ME = socket.gethostname()
#: One fake cluster: 3 hosts x 32 cores, 3 x 256 GiB, two 1024 GB datastores.
CORES, MEMORY_MB, DISK_GB = 96, 3 * 256 * 1024, 2048


def clusters_of(api: ComputeApi) -> ClusterService:
    return api.cloud.compute.clusters


@pytest.fixture
def fresh_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    """vCenter is asked again on every call (no cached listing)."""
    monkeypatch.setattr(clusters_module, "INVENTORY_SECONDS", 0.0)


def services_by_host(api: ComputeApi, **params: str) -> dict[tuple[str, str], dict[str, Any]]:
    response = api.get("/os-services", params=params)
    assert response.status_code == 200, response.text
    return {(s["binary"], s["host"]): s for s in response.json()["services"]}


def hypervisors_by_name(api: ComputeApi) -> dict[str, dict[str, Any]]:
    response = api.get("/os-hypervisors/detail")
    assert response.status_code == 200, response.text
    return {h["hypervisor_hostname"]: h for h in response.json()["hypervisors"]}


def set_service(api: ComputeApi, action: str, host: str, **extra: str) -> Any:
    return api.put(f"/os-services/{action}", json={"host": host, "binary": "nova-compute", **extra})


@pytest.fixture
def restore_services(compute_api: ComputeApi) -> Iterator[None]:
    yield
    for host in (C0, C1):
        assert set_service(compute_api, "enable", host).status_code == 200


# ------------------------------------------------------------------ os-services


def test_services_are_clusters_plus_scheduler_and_conductor(compute_api: ComputeApi) -> None:
    found = services_by_host(compute_api)
    assert set(found) >= {
        ("nova-scheduler", ME),
        ("nova-conductor", ME),
        ("nova-compute", C0),
        ("nova-compute", C1),
    }
    compute = found["nova-compute", C0]
    assert compute["zone"] == "nova"
    assert compute["status"] == "enabled"
    assert compute["state"] == "up"
    assert compute["disabled_reason"] is None
    assert isinstance(compute["id"], int)
    assert STAMP.match(compute["updated_at"])
    assert found["nova-scheduler", ME]["zone"] == "internal"
    assert found["nova-conductor", ME]["state"] == "up"
    numbers = [s["id"] for s in found.values()]
    assert len(set(numbers)) == len(numbers)
    # Registration runs at each start: it keeps rows and numbers.
    clusters_of(compute_api).register_services()
    again = services_by_host(compute_api)
    assert {k: v["id"] for k, v in again.items()} == {k: v["id"] for k, v in found.items()}


def test_services_filter_by_binary_and_host(compute_api: ComputeApi) -> None:
    computes = services_by_host(compute_api, binary="nova-compute")
    assert {b for b, _ in computes} == {"nova-compute"}
    assert set(services_by_host(compute_api, host=C1)) == {("nova-compute", C1)}
    assert services_by_host(compute_api, host=C1, binary="nova-scheduler") == {}
    assert services_by_host(compute_api, host="nowhere") == {}
    # Nova ignores parameters it does not know.
    assert services_by_host(compute_api, xxx="nova-compute") == services_by_host(compute_api)


def test_disable_and_enable_a_compute_service(
    compute_api: ComputeApi, restore_services: None
) -> None:
    response = set_service(compute_api, "disable", C1)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "service": {"host": C1, "binary": "nova-compute", "status": "disabled"}
    }
    shown = services_by_host(compute_api)["nova-compute", C1]
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", None)
    assert [c.name for c in clusters_of(compute_api).candidates(None)] == [C0]
    assert hypervisors_by_name(compute_api)[C1]["status"] == "disabled"

    response = set_service(compute_api, "disable-log-reason", C1, disabled_reason="patching")
    assert response.status_code == 200, response.text
    assert response.json()["service"] == {
        "host": C1,
        "binary": "nova-compute",
        "status": "disabled",
        "disabled_reason": "patching",
    }
    assert services_by_host(compute_api)["nova-compute", C1]["disabled_reason"] == "patching"
    assert hypervisors_by_name(compute_api)[C1]["service"]["disabled_reason"] == "patching"

    response = set_service(compute_api, "enable", C1)
    assert response.json() == {
        "service": {"host": C1, "binary": "nova-compute", "status": "enabled"}
    }
    shown = services_by_host(compute_api)["nova-compute", C1]
    assert (shown["status"], shown["disabled_reason"]) == ("enabled", None)
    assert sorted(c.name for c in clusters_of(compute_api).candidates(None)) == [C0, C1]


@pytest.mark.parametrize(
    ("action", "body", "code", "needle"),
    [
        ("reboot", {"host": C0, "binary": "nova-compute"}, 404, "Unknown action"),
        ("disable", {"host": "nowhere", "binary": "nova-compute"}, 404, "not mapped to any cell"),
        ("disable", {"host": ME, "binary": "nova-compute"}, 404, "not mapped to any cell"),
        ("disable", {"host": ME, "binary": "nova-scheduler"}, 400, "Only nova-compute"),
        ("disable-log-reason", {"host": C0, "binary": "nova-compute"}, 400, "Missing disabled"),
        ("disable", {"binary": "nova-compute"}, 400, "'host' is a required property"),
        ("disable", {"host": C0, "binary": "nova-compute", "x": 1}, 400, "'x' was unexpected"),
        ("disable", {"host": C0, "binary": 7}, 400, "binary"),
        ("disable", {"host": C0, "binary": "nova-compute", "disabled_reason": ""}, 400, "1 to"),
        ("disable", [C0], 400, "must be an object"),
    ],
)
def test_service_update_errors(
    compute_api: ComputeApi, action: str, body: Any, code: int, needle: str
) -> None:
    assert needle in nova_fault(compute_api.put(f"/os-services/{action}", json=body), code)
    assert services_by_host(compute_api)["nova-compute", C0]["status"] == "enabled"


def test_services_are_admin_only(compute_api: ComputeApi, member: Persona) -> None:
    token = member.token
    nova_fault(compute_api.get("/os-services", token=token), 403)
    body = {"host": C0, "binary": "nova-compute"}
    nova_fault(compute_api.put("/os-services/disable", token=token, json=body), 403)
    number = services_by_host(compute_api)["nova-compute", C0]["id"]
    nova_fault(compute_api.delete(f"/os-services/{number}", token=token), 403)
    assert services_by_host(compute_api)["nova-compute", C0]["status"] == "enabled"


def test_delete_service_errors(compute_api: ComputeApi) -> None:
    assert "must be an integer" in nova_fault(compute_api.delete("/os-services/abc"), 400)
    assert nova_fault(compute_api.delete("/os-services/999999"), 404) == "Service 999999 not found."
    server = add_server(compute_api, new_project(compute_api), cluster=C0)
    number = services_by_host(compute_api)["nova-compute", C0]["id"]
    message = nova_fault(compute_api.delete(f"/os-services/{number}"), 409)
    assert message.startswith("Unable to delete compute service that is hosting instances.")
    assert server


def add_fake_cluster(api: ComputeApi, name: str, *, datastores: bool = True) -> None:
    """A cluster of one 4-core, 8 GiB host appears in the fake vCenter."""
    state = api.fake.state
    with state.lock:
        state.clusters[name] = FakeCluster(
            state.new_id("domain-c"),
            name,
            [FakeHost(f"{name}_H0", 4, 2000, 8192)],
            list(state.datastores) if datastores else [],
        )


def remove_fake_cluster(api: ComputeApi, name: str) -> None:
    """The cluster leaves the fake vCenter and its service is deleted."""
    with api.fake.state.lock:
        del api.fake.state.clusters[name]
    for row in api.get("/os-services").json()["services"]:
        if row["host"] == name:
            assert api.delete(f"/os-services/{row['id']}").status_code == 204


def test_deleted_service_comes_back_with_a_new_number(compute_api: ComputeApi) -> None:
    name = "DC0_GONE"
    add_fake_cluster(compute_api, name)
    try:
        clusters = clusters_of(compute_api)
        clusters.register_services()
        before = services_by_host(compute_api)["nova-compute", name]["id"]
        # A deleted server does not keep its cluster's service.
        add_server(compute_api, new_project(compute_api), cluster=name, deleted=True)
        response = compute_api.delete(f"/os-services/{before}")
        assert response.status_code == 204, response.text
        assert ("nova-compute", name) not in services_by_host(compute_api)
        assert name not in hypervisors_by_name(compute_api)
        clusters.register_services()  # what the next start does
        after = services_by_host(compute_api)["nova-compute", name]["id"]
        assert after > before
        assert after == max(s["id"] for s in services_by_host(compute_api).values())
    finally:
        remove_fake_cluster(compute_api, name)


def test_concurrent_registrations_make_one_row_each(compute_api: ComputeApi) -> None:
    """Two controllers starting at once register a new cluster once."""
    add_fake_cluster(compute_api, "DC0_NEW")
    try:
        controllers = [
            ClusterService(
                clusters_of(compute_api)._store,
                compute_api.cloud.compute.clusters._policy,
                compute_api.fake.drivers(),
                ComputeSettings(),
            )
            for _ in range(3)
        ]
        barrier = threading.Barrier(len(controllers))
        errors: list[BaseException] = []

        def start(controller: ClusterService) -> None:
            barrier.wait()
            try:
                controller.register_services()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(c,)) for c in controllers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        response = compute_api.get("/os-services")
        rows = [s for s in response.json()["services"] if s["host"] == "DC0_NEW"]
        assert len(rows) == 1
        numbers = [s["id"] for s in response.json()["services"]]
        assert len(set(numbers)) == len(numbers)
    finally:
        remove_fake_cluster(compute_api, "DC0_NEW")


def test_unreachable_vcenter_keeps_services_and_shows_them_down(
    compute_api: ComputeApi, fresh_inventory: None
) -> None:
    before = services_by_host(compute_api, binary="nova-compute")
    compute_api.fake.fail_next("list_clusters", TransientError("vCenter restarting"))
    clusters_of(compute_api).register_services()  # must not raise
    compute_api.fake.fail_next("list_clusters", TransientError("vCenter restarting"))
    down = services_by_host(compute_api, binary="nova-compute")
    assert set(down) == set(before)
    assert {s["state"] for s in down.values()} == {"down"}
    compute_api.fake.fail_next("list_clusters", TransientError("vCenter restarting"))
    assert {h["state"] for h in hypervisors_by_name(compute_api).values()} == {"down"}
    compute_api.fake.fail_next("list_clusters", TransientError("vCenter restarting"))
    assert clusters_of(compute_api).candidates(None) == []
    assert {s["state"] for s in services_by_host(compute_api, binary="nova-compute").values()} == {
        "up"
    }


def test_unlisted_datastores_show_no_disk(compute_api: ComputeApi, fresh_inventory: None) -> None:
    compute_api.fake.fail_next("list_datastores", TransientError("vCenter busy"))
    hypervisor = hypervisors_by_name(compute_api)[C0]
    assert (hypervisor["state"], hypervisor["local_gb"], hypervisor["disk_available_least"]) == (
        "up",
        0,
        0,
    )
    assert hypervisors_by_name(compute_api)[C0]["local_gb"] == DISK_GB


# ------------------------------------------------------------------ os-hypervisors


def test_hypervisor_list_and_detail(compute_api: ComputeApi) -> None:
    response = compute_api.get("/os-hypervisors")
    assert response.status_code == 200, response.text
    brief = {h["hypervisor_hostname"]: h for h in response.json()["hypervisors"]}
    assert set(brief) >= {C0, C1}
    assert set(brief[C0]) == {"id", "hypervisor_hostname", "state", "status"}
    assert (brief[C0]["state"], brief[C0]["status"]) == ("up", "enabled")
    services = services_by_host(compute_api)
    assert brief[C0]["id"] == services["nova-compute", C0]["id"]

    detail = hypervisors_by_name(compute_api)[C0]
    assert detail["vcpus"] == CORES
    assert detail["memory_mb"] == MEMORY_MB
    assert detail["local_gb"] == DISK_GB
    assert detail["hypervisor_type"] == "VMware vCenter Server"
    assert isinstance(detail["hypervisor_version"], int)
    assert detail["current_workload"] == 0
    assert detail["free_ram_mb"] == detail["memory_mb"] - detail["memory_mb_used"]
    assert detail["free_disk_gb"] == detail["local_gb"] - detail["local_gb_used"]
    assert isinstance(detail["disk_available_least"], int)
    assert socket.inet_aton(detail["host_ip"])
    cpu = json.loads(detail["cpu_info"])
    assert cpu["topology"]["cores"] == CORES
    assert detail["service"] == {
        "host": C0,
        "id": brief[C0]["id"],
        "disabled_reason": None,
    }
    shown = compute_api.get(f"/os-hypervisors/{brief[C0]['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["hypervisor"]["hypervisor_hostname"] == C0
    assert set(shown.json()["hypervisor"]) == set(detail)


def test_hypervisor_usage_is_its_live_servers(compute_api: ComputeApi) -> None:
    before = hypervisors_by_name(compute_api)[C0]
    project_id = new_project(compute_api)
    add_server(compute_api, project_id, vcpus=4, memory_mb=4096, root_gb=40, cluster=C0)
    add_server(compute_api, project_id, vcpus=2, memory_mb=2048, root_gb=20, cluster=C0)
    add_server(compute_api, project_id, vcpus=64, cluster=C0, deleted=True)
    after = hypervisors_by_name(compute_api)[C0]
    assert after["vcpus_used"] - before["vcpus_used"] == 6
    assert after["memory_mb_used"] - before["memory_mb_used"] == 6144
    assert after["local_gb_used"] - before["local_gb_used"] == 60
    assert after["running_vms"] - before["running_vms"] == 2
    stats = compute_api.get("/os-hypervisors/statistics")
    assert stats.status_code == 200, stats.text
    totals = stats.json()["hypervisor_statistics"]
    everything = hypervisors_by_name(compute_api)
    assert totals["count"] == len(everything)
    for key in ("vcpus", "memory_mb", "vcpus_used", "running_vms", "free_disk_gb"):
        assert totals[key] == sum(h[key] for h in everything.values()), key
    assert set(totals) == {
        "count",
        "vcpus",
        "memory_mb",
        "local_gb",
        "vcpus_used",
        "memory_mb_used",
        "local_gb_used",
        "free_ram_mb",
        "free_disk_gb",
        "current_workload",
        "running_vms",
        "disk_available_least",
    }


def test_hypervisor_search_and_servers(compute_api: ComputeApi) -> None:
    response = compute_api.get("/os-hypervisors/c1/search")
    assert response.status_code == 200, response.text
    assert [h["hypervisor_hostname"] for h in response.json()["hypervisors"]] == [C1]
    both = compute_api.get("/os-hypervisors/DC0_C/search").json()["hypervisors"]
    assert {h["hypervisor_hostname"] for h in both} >= {C0, C1}
    message = nova_fault(compute_api.get("/os-hypervisors/nomatch/search"), 404)
    assert message == "No hypervisor matching 'nomatch' could be found."
    nova_fault(compute_api.get("/os-hypervisors/nomatch/servers"), 404)

    server_id = add_server(compute_api, new_project(compute_api), cluster=C1)
    response = compute_api.get(f"/os-hypervisors/{C1}/servers")
    assert response.status_code == 200, response.text
    (hypervisor,) = response.json()["hypervisors"]
    assert set(hypervisor) == {"id", "hypervisor_hostname", "state", "status", "servers"}
    assert server_id in {s["uuid"] for s in hypervisor["servers"]}
    assert all(set(s) == {"name", "uuid"} for s in hypervisor["servers"])


def test_hypervisor_without_servers_has_no_servers_key(compute_api: ComputeApi) -> None:
    add_fake_cluster(compute_api, "DC0_EMPTY", datastores=False)
    try:
        clusters_of(compute_api).register_services()
        (hypervisor,) = compute_api.get("/os-hypervisors/EMPTY/servers").json()["hypervisors"]
        assert "servers" not in hypervisor
        detail = hypervisors_by_name(compute_api)["DC0_EMPTY"]
        assert (detail["vcpus"], detail["local_gb"], detail["disk_available_least"]) == (4, 0, 0)
    finally:
        remove_fake_cluster(compute_api, "DC0_EMPTY")


@pytest.mark.parametrize("hypervisor_id", ["abc", "999999", "1.5", "-1"])
def test_unknown_hypervisor_is_404(compute_api: ComputeApi, hypervisor_id: str) -> None:
    message = nova_fault(compute_api.get(f"/os-hypervisors/{hypervisor_id}"), 404)
    assert message == f"Hypervisor with ID '{hypervisor_id}' could not be found."


def test_hypervisor_uptime_points_to_vcenter(compute_api: ComputeApi) -> None:
    """Nova's VMware driver answers with where to look, not a figure (a cluster has none)."""
    number = hypervisors_by_name(compute_api)[C0]["id"]
    response = compute_api.get(f"/os-hypervisors/{number}/uptime")
    assert response.status_code == 200, response.text
    hypervisor = response.json()["hypervisor"]
    assert set(hypervisor) == {"id", "hypervisor_hostname", "state", "status", "uptime"}
    assert (hypervisor["id"], hypervisor["hypervisor_hostname"]) == (number, C0)
    assert "vCenter" in hypervisor["uptime"]
    nova_fault(compute_api.get("/os-hypervisors/999999/uptime"), 404)
    nova_fault(compute_api.get("/os-hypervisors/abc/uptime"), 404)


def test_hypervisors_are_admin_only(compute_api: ComputeApi, member: Persona) -> None:
    number = hypervisors_by_name(compute_api)[C0]["id"]
    for path in (
        "/os-hypervisors",
        "/os-hypervisors/detail",
        "/os-hypervisors/statistics",
        f"/os-hypervisors/{number}",
        f"/os-hypervisors/{number}/uptime",
        f"/os-hypervisors/{C0}/search",
        f"/os-hypervisors/{C0}/servers",
    ):
        assert "os-hypervisors" in nova_fault(compute_api.get(path, token=member.token), 403)


# ------------------------------------------------------------------ os-availability-zone


def test_zone_list_for_members(compute_api: ComputeApi, member: Persona) -> None:
    response = compute_api.get("/os-availability-zone", token=member.token)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "availabilityZoneInfo": [
            {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}
        ]
    }
    nova_fault(compute_api.get("/os-availability-zone/detail", token=member.token), 403)


def test_zone_detail_shows_internal_and_hosts(compute_api: ComputeApi) -> None:
    response = compute_api.get("/os-availability-zone/detail")
    assert response.status_code == 200, response.text
    zones = {z["zoneName"]: z for z in response.json()["availabilityZoneInfo"]}
    assert set(zones) == {"nova", "internal"}
    internal = zones["internal"]["hosts"][ME]
    assert set(internal) == {"nova-scheduler", "nova-conductor"}
    assert internal["nova-scheduler"]["available"] is True
    assert internal["nova-scheduler"]["active"] is True
    assert STAMP.match(internal["nova-scheduler"]["updated_at"])
    nova = zones["nova"]
    assert nova["zoneState"] == {"available": True}
    assert set(nova["hosts"]) >= {C0, C1}
    assert set(nova["hosts"][C0]) == {"nova-compute"}


def test_zone_with_every_compute_disabled_is_unavailable(
    compute_api: ComputeApi, restore_services: None
) -> None:
    set_service(compute_api, "disable", C0)
    detail = compute_api.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    nova = next(z for z in detail if z["zoneName"] == "nova")
    assert C0 not in nova["hosts"]  # Nova lists the enabled services only
    assert compute_api.get("/os-availability-zone").json()["availabilityZoneInfo"][0][
        "zoneState"
    ] == {"available": True}
    set_service(compute_api, "disable", C1)
    listed = compute_api.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert listed == [{"zoneName": "nova", "zoneState": {"available": False}, "hosts": None}]
    clusters = clusters_of(compute_api)
    assert clusters.zones() == []
    with pytest.raises(BadRequest, match="The requested availability zone is not available"):
        clusters.candidates("nova")


# ------------------------------------------------------------------ the scheduler's view


def test_candidates_free_capacity_after_ratios(compute_api: ComputeApi) -> None:
    clusters = clusters_of(compute_api)
    project_id = new_project(compute_api)
    before = {c.name: c for c in clusters.candidates("nova")}
    add_server(compute_api, project_id, vcpus=8, memory_mb=16384, root_gb=100, cluster=C1)
    after = {c.name: c for c in clusters.candidates(None)}
    c1 = after[C1]
    assert (c1.zone, c1.hosts[0], c1.datastores) == (
        "nova",
        "DC0_C1_H0",
        ("LocalDS_0", "LocalDS_1"),
    )
    assert before[C1].vcpus_free - c1.vcpus_free == 8
    assert before[C1].memory_mb_free - c1.memory_mb_free == 16384
    assert before[C1].disk_gb_free - c1.disk_gb_free in (0, 100)  # bounded by the datastores
    assert c1.running - before[C1].running == 1
    used = clusters._hypervisors()
    c1_used = next(h for h in used if h.name == C1)
    assert c1.vcpus_free == CORES * 4 - c1_used.vcpus_used  # cpu_allocation_ratio 4.0
    assert c1.memory_mb_free == MEMORY_MB - c1_used.memory_mb_used
    assert c1.disk_gb_free <= c1_used.disk_available_least
    with pytest.raises(BadRequest, match="The requested availability zone is not available"):
        clusters.candidates("nowhere")


def test_cluster_zones_setting(compute_api: ComputeApi) -> None:
    zoned = ClusterService(
        clusters_of(compute_api)._store,
        clusters_of(compute_api)._policy,
        compute_api.fake.drivers(),
        ComputeSettings(cluster_zones=[f"{C1}:zone-b"], default_availability_zone="zone-a"),
    )
    assert zoned.zone_of(C1) == "zone-b"
    assert zoned.zone_of(C0) == "zone-a"
    assert [c.name for c in zoned.candidates("zone-b")] == [C1]
    assert [c.zone for c in zoned.candidates("zone-a")] == ["zone-a"]
    assert set(zoned.zones()) == {"zone-a", "zone-b"}
    for bad in ("no-colon", ":zone", f"{C0}:", f"{C0}:internal"):
        with pytest.raises(ConfigError):
            ClusterService(
                clusters_of(compute_api)._store,
                clusters_of(compute_api)._policy,
                None,
                ComputeSettings(cluster_zones=[bad]),
            )


def test_without_vcenter_only_control_services(compute_api: ComputeApi) -> None:
    bare = ClusterService(
        clusters_of(compute_api)._store, clusters_of(compute_api)._policy, None, ComputeSettings()
    )
    bare.register_services()
    assert bare.candidates(None) == []
    hypervisors = bare._hypervisors()
    assert {h.up for h in hypervisors} == {False}  # known clusters, no vCenter to see them
