"""Compute microversions 2.90, 2.91, 2.92, 2.94, 2.95 and 2.96 at their boundaries (2.93, the
volume-backed rebuild, has its own suite; test_compute_microversions_late.py holds the first
boundary tests of 2.90, 2.92, 2.94 and 2.96): the behaviour at N and not at N-1, and each
refusal in Nova's fault format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona
from tests.api.test_compute_microversions import at, create, image_id, member, network, show
from tests.api.test_compute_servers import fault, wait_for, wait_status
from tests.api.test_compute_snapshots import action
from vistack.compute.api import microversion

__all__ = ["image_id", "member", "network"]  # the shared module-scoped fixtures
C0, C1 = "DC0_C0", "DC0_C1"
#: What the service advertises (read before any test raises it).
ADVERTISED = microversion.MAX_VERSION


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def test_the_advertised_range_is_2_96(
    compute_api: ComputeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 2.93 (re-imaging a volume-backed server's root volume) built, the service claims
    2.96, whatever this module patches for its own boundary tests; 2.97 is refused."""
    assert ADVERTISED == (2, 96)
    monkeypatch.setattr(microversion, "MAX_VERSION", ADVERTISED)
    latest = compute_api.get("/flavors", headers=at("latest"))
    assert latest.headers["OpenStack-API-Version"] == "compute 2.96"
    refused = compute_api.get("/flavors", headers=at("2.97"))
    assert "maximum is 2.96" in fault(refused, 406, "notAcceptable")


def test_2_90_hostname_is_every_callers(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id, hostname="web-1")
    assert "OS-EXT-SRV-ATTR:hostname" not in show(compute_api, server_id, "2.89", member.token)
    assert show(compute_api, server_id, "2.90", member.token)["OS-EXT-SRV-ATTR:hostname"] == (
        "web-1"
    )
    listed = compute_api.get("/servers/detail", token=member.token, headers=at("2.90")).json()
    (mine,) = [s for s in listed["servers"] if s["id"] == server_id]
    assert mine["OS-EXT-SRV-ATTR:hostname"] == "web-1"
    assert "OS-EXT-SRV-ATTR:host" not in mine  # the other extended attributes stay admin's
    body = {"server": {"hostname": "web-2"}}
    path = f"/servers/{server_id}"
    updated = compute_api.put(path, token=member.token, headers=at("2.90"), json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-2"


@pytest.mark.parametrize(
    ("version", "name", "ok"),
    [
        ("2.90", "a", False),  # Nova's hostname: 2 to 63 characters
        ("2.90", "ab", True),
        ("2.90", "x" * 63, True),
        ("2.90", "x" * 64, False),
        ("2.90", "web-", False),
        ("2.93", "web.example.org", False),
        ("2.94", "web.example.org", True),
        ("2.94", "a", False),
        ("2.94", ".".join(["x" * 63] * 4), True),  # 255 characters
        ("2.94", ".".join(["x" * 63] * 4) + "x", False),
        ("2.94", "web..example", False),
    ],
)
def test_2_90_2_94_hostname_bounds_at_update(
    compute_api: ComputeApi, member: Persona, version: str, name: str, ok: bool
) -> None:
    server_id = insert_server(compute_api, member.project_id)
    body = {"server": {"hostname": name}}
    path = f"/servers/{server_id}"
    answer = compute_api.put(path, token=member.token, headers=at(version), json=body)
    if ok:
        assert answer.status_code == 200, answer.text
        assert answer.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == name
    else:
        assert "hostname" in fault(answer, 400, "badRequest")


def offloaded(api: ComputeApi, member: Persona, **fields: Any) -> str:
    """A SHELVED_OFFLOADED server row (no VM), for the unshelve checks that refuse."""
    values = {"vm_state": "shelved_offloaded", "power_state": 0, "cluster": None, **fields}
    return insert_server(api, member.project_id, **values)


def test_2_91_unshelve_body_by_version(compute_api: ComputeApi, member: Persona) -> None:
    server_id = offloaded(compute_api, member)
    token = member.token
    host = {"unshelve": {"host": C1}}
    refused = action(compute_api, server_id, token, host, headers=at("2.90"))
    assert "only availability_zone is allowed" in fault(refused, 400, "badRequest")
    empty = action(compute_api, server_id, token, {"unshelve": {}}, headers=at("2.90"))
    assert "'availability_zone' is a required property" in fault(empty, 400, "badRequest")
    null = {"unshelve": {"availability_zone": None}}
    refused = action(compute_api, server_id, token, null, headers=at("2.90"))
    assert "2.91" in fault(refused, 400, "badRequest")
    bad = {"unshelve": {"host": 7}}
    refused = action(compute_api, server_id, compute_api.admin_token, bad, headers=at("2.91"))
    assert "host" in fault(refused, 400, "badRequest")
    extra = {"unshelve": {"host": C1, "node": C1}}
    refused = action(compute_api, server_id, compute_api.admin_token, extra, headers=at("2.91"))
    assert "availability_zone and host" in fault(refused, 400, "badRequest")


def test_2_91_unshelve_to_host_refusals(compute_api: ComputeApi, member: Persona) -> None:
    admin = compute_api.admin_token
    server_id = offloaded(compute_api, member)
    body = {"unshelve": {"host": C1}}
    # Choosing the cluster is an administrator's (os_compute_api:os-shelve:unshelve_to_host).
    fault(action(compute_api, server_id, member.token, body, headers=at("2.91")), 403, "forbidden")
    unknown = {"unshelve": {"host": "no-such-cluster"}}
    refused = action(compute_api, server_id, admin, unknown, headers=at("2.91"))
    assert fault(refused, 400, "badRequest") == "Compute host no-such-cluster could not be found."
    # A server pinned to a zone goes to a host of that zone only (unless unpinned with it).
    pinned = offloaded(compute_api, member, availability_zone="elsewhere")
    refused = action(compute_api, pinned, admin, body, headers=at("2.91"))
    assert fault(refused, 409, "conflictingRequest") == (
        f'Host "{C1}" is not in the availability zone "elsewhere".'
    )
    both = {"unshelve": {"host": C1, "availability_zone": "nova"}}
    no_zone = {"unshelve": {"availability_zone": "no-such-zone", "host": C1}}
    refused = action(compute_api, pinned, admin, no_zone, headers=at("2.91"))
    assert "availability zone" in fault(refused, 400, "badRequest")
    active = insert_server(compute_api, member.project_id, cluster=C0)
    refused = action(compute_api, active, admin, body, headers=at("2.91"))
    fault(refused, 409, "conflictingRequest")
    shelved = insert_server(compute_api, member.project_id, cluster=C0, vm_state="shelved")
    refused = action(compute_api, shelved, admin, both, headers=at("2.91"))
    assert "SHELVED_OFFLOADED" in fault(refused, 409, "conflictingRequest")
    # Nothing was written by any refusal.
    assert show(compute_api, pinned, "2.96")["pinned_availability_zone"] == "elsewhere"
    assert show(compute_api, pinned, "2.96")["OS-EXT-STS:task_state"] is None


@pytest.fixture
def shelved_at_once(compute_api: ComputeApi) -> Iterator[None]:
    """`shelved_offload_time` 0: a shelve offloads at once."""
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    service = disk.shelving
    saved = service._offload_seconds
    service._offload_seconds = 0
    try:
        yield
    finally:
        service._offload_seconds = saved


def boot_offloaded(
    api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> tuple[str, str]:
    """A server pinned to zone `nova`, shelved (and so offloaded), and the other cluster than
    the one it was built on."""
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}]}
    made = create(api, member.token, "2.1", availability_zone="nova", **fields)
    assert made.status_code == 202, made.text
    server_id: str = made.json()["server"]["id"]
    wait_status(api, server_id, member.token, "ACTIVE")
    built_on = show(api, server_id, "2.96")["OS-EXT-SRV-ATTR:host"]
    assert action(api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(api, server_id, member.token, "SHELVED_OFFLOADED")
    return server_id, C1 if built_on == C0 else C0


def wait_settled(api: ComputeApi, server_id: str, token: str) -> dict[str, Any]:
    response = wait_for(
        api,
        server_id,
        token,
        lambda r: r.status_code == 200 and r.json()["server"]["OS-EXT-STS:task_state"] is None,
    )
    server: dict[str, Any] = response.json()["server"]
    return server


def test_2_91_unshelve_to_host_and_unpinned(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    shelved_at_once: None,
) -> None:
    token, admin = member.token, compute_api.admin_token
    server_id, other = boot_offloaded(compute_api, member, image_id, network)
    assert show(compute_api, server_id, "2.96")["pinned_availability_zone"] == "nova"
    body = {"unshelve": {"availability_zone": None, "host": other}}
    answer = action(compute_api, server_id, admin, body, headers=at("2.91"))
    assert answer.status_code == 202, answer.text
    wait_status(compute_api, server_id, token, "ACTIVE")
    shown = show(compute_api, server_id, "2.96")
    assert shown["OS-EXT-SRV-ATTR:host"] == other
    assert shown["pinned_availability_zone"] is None  # unpinned
    # Shelved again, a plain unshelve is scheduled freely (the former host is not kept).
    assert action(compute_api, server_id, token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, token, "SHELVED_OFFLOADED")
    answer = action(compute_api, server_id, token, {"unshelve": {}}, headers=at("2.91"))
    assert answer.status_code == 202, answer.text
    wait_status(compute_api, server_id, token, "ACTIVE")
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204


def test_2_91_unshelve_to_a_host_that_cannot_take_it_stays_offloaded(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    shelved_at_once: None,
) -> None:
    """The named cluster disabled: "No valid host", the server back SHELVED_OFFLOADED with a
    fault, as Nova's scheduler failure leaves it; no VM is left behind."""
    token, admin = member.token, compute_api.admin_token
    server_id, other = boot_offloaded(compute_api, member, image_id, network)
    services = compute_api.get("/os-services?binary=nova-compute", headers=at("2.53")).json()
    (target,) = [s for s in services["services"] if s["host"] == other]
    path = f"/os-services/{target['id']}"
    disable = {"status": "disabled", "disabled_reason": "test"}
    assert compute_api.put(path, headers=at("2.53"), json=disable).status_code == 200
    try:
        body = {"unshelve": {"host": other}}
        answer = action(compute_api, server_id, admin, body, headers=at("2.91"))
        assert answer.status_code == 202, answer.text
        server = wait_settled(compute_api, server_id, token)
        assert server["status"] == "SHELVED_OFFLOADED"
    finally:
        enable = {"status": "enabled"}
        assert compute_api.put(path, headers=at("2.53"), json=enable).status_code == 200
    assert server_id not in compute_api.fake.state.vms
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204


def test_2_95_evacuate_is_refused_alike(compute_api: ComputeApi, member: Persona) -> None:
    """2.95 stops an evacuated server at its destination; here no server is evacuated
    (vSphere HA restarts VMs inside their cluster), so 2.94 and 2.95 answer alike."""
    server_id = insert_server(compute_api, member.project_id, cluster=C1)
    body: dict[str, Any] = {"evacuate": {}}
    for version in ("2.94", "2.95"):
        refused = action(compute_api, server_id, compute_api.admin_token, body, headers=at(version))
        assert fault(refused, 400, "badRequest") == f"Compute service of {C1} is still in use."
    force = {"host": C1, "binary": "nova-compute", "forced_down": True}
    assert (
        compute_api.put("/os-services/force-down", headers=at("2.11"), json=force).status_code
        == 200
    )
    try:
        for version in ("2.94", "2.95"):
            refused = action(
                compute_api, server_id, compute_api.admin_token, body, headers=at(version)
            )
            assert "vSphere HA" in fault(refused, 501, "notImplemented")
    finally:
        force["forced_down"] = False
        assert (
            compute_api.put("/os-services/force-down", headers=at("2.11"), json=force).status_code
            == 200
        )
    shown = show(compute_api, server_id, "2.95")
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == C1


def test_2_96_pinned_zone_in_detail_and_update(compute_api: ComputeApi, member: Persona) -> None:
    pinned = insert_server(compute_api, member.project_id, availability_zone="nova")
    free = insert_server(compute_api, member.project_id)
    listed = compute_api.get("/servers/detail", token=member.token, headers=at("2.96")).json()
    zones = {s["id"]: s["pinned_availability_zone"] for s in listed["servers"]}
    assert zones[pinned] == "nova" and zones[free] is None
    before = compute_api.get("/servers/detail", token=member.token, headers=at("2.95")).json()
    assert all("pinned_availability_zone" not in s for s in before["servers"])
    brief = compute_api.get("/servers", token=member.token, headers=at("2.96")).json()
    assert all("pinned_availability_zone" not in s for s in brief["servers"])
    body = {"server": {"name": "renamed"}}
    path = f"/servers/{pinned}"
    updated = compute_api.put(path, token=member.token, headers=at("2.96"), json=body).json()
    assert updated["server"]["pinned_availability_zone"] == "nova"
    updated = compute_api.put(path, token=member.token, headers=at("2.95"), json=body).json()
    assert "pinned_availability_zone" not in updated["server"]
