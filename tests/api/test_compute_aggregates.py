"""Host aggregates through Nova's API (`os-aggregates`) and the zones they give clusters, on each
database backend.

The fake vCenter's clusters `DC0_C0` and `DC0_C1` are the compute hosts; tests needing servers on
a host use a cluster of their own (`own_cluster`) so that no other test's zone change meets them.
Every aggregate a test makes is emptied and deleted afterwards (`made`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import update

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_compute_clusters import add_fake_cluster, clusters_of, remove_fake_cluster
from tests.api.test_compute_quotas import add_server, new_project, nova_fault
from vistack.common.clock import utcnow
from vistack.compute.db import aggregates as aggregate_queries
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import clusters as clusters_module
from vistack.compute.domain.clusters import ClusterService
from vistack.config import ComputeSettings

member = persona_fixture("compute_api")

C0, C1 = "DC0_C0", "DC0_C1"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
VIEW_KEYS = {
    "id",
    "name",
    "availability_zone",
    "hosts",
    "metadata",
    "created_at",
    "updated_at",
    "deleted",
    "deleted_at",
}


@pytest.fixture
def made(compute_api: ComputeApi) -> Iterator[list[int]]:
    """Ids of the aggregates a test makes: emptied and deleted when it ends."""
    ids: list[int] = []
    yield ids
    for number in ids:
        shown = compute_api.get(f"/os-aggregates/{number}")
        if shown.status_code == 404:
            continue
        for host in shown.json()["aggregate"]["hosts"]:
            assert action(compute_api, number, "remove_host", host=host).status_code == 200
        assert compute_api.delete(f"/os-aggregates/{number}").status_code == 200


def create(
    api: ComputeApi, made: list[int], zone: str | None = None, name: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name or unique("agg")}
    if zone is not None:
        body["availability_zone"] = zone
    response = api.post("/os-aggregates", json={"aggregate": body})
    assert response.status_code == 200, response.text
    aggregate: dict[str, Any] = response.json()["aggregate"]
    made.append(aggregate["id"])
    return aggregate


def action(api: ComputeApi, number: int | str, name: str, **argument: Any) -> Any:
    return api.post(f"/os-aggregates/{number}/action", json={name: argument})


def shown(api: ComputeApi, number: int) -> dict[str, Any]:
    response = api.get(f"/os-aggregates/{number}")
    assert response.status_code == 200, response.text
    aggregate: dict[str, Any] = response.json()["aggregate"]
    return aggregate


def service_zone(api: ComputeApi, host: str) -> str:
    services = api.get("/os-services", params={"binary": "nova-compute", "host": host})
    (service,) = services.json()["services"]
    zone: str = service["zone"]
    return zone


@pytest.fixture
def own_cluster(compute_api: ComputeApi) -> Iterator[str]:
    """A compute host of this test's own; its servers are marked deleted afterwards so that
    its service can go."""
    name = unique("DC0_AGG")
    add_fake_cluster(compute_api, name)
    clusters_of(compute_api).register_services()
    yield name
    with compute_api.cloud.compute.clusters._store.transaction() as unit:
        unit.session.execute(
            update(ServerRow).where(ServerRow.cluster == name).values(deleted_at=utcnow())
        )
    remove_fake_cluster(compute_api, name)


# ------------------------------------------------------------------ lifecycle


def test_create_show_list_update_delete(compute_api: ComputeApi, made: list[int]) -> None:
    name = unique("agg")
    response = compute_api.post("/os-aggregates", json={"aggregate": {"name": name}})
    assert response.status_code == 200, response.text
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    created = response.json()["aggregate"]
    made.append(created["id"])
    # Nova's create answer has neither hosts nor metadata.
    assert set(created) == VIEW_KEYS - {"hosts", "metadata"}
    assert isinstance(created["id"], int)
    assert (created["name"], created["availability_zone"]) == (name, None)
    assert (created["deleted"], created["deleted_at"], created["updated_at"]) == (False, None, None)
    assert STAMP.match(created["created_at"])

    aggregate = shown(compute_api, created["id"])
    assert set(aggregate) == VIEW_KEYS
    assert (aggregate["hosts"], aggregate["metadata"]) == ([], {})
    listed = compute_api.get("/os-aggregates").json()["aggregates"]
    assert [a for a in listed if a["id"] == created["id"]] == [aggregate]

    # Nova 2.1 strips the spaces around a new name.
    renamed = unique("renamed")
    response = compute_api.put(
        f"/os-aggregates/{created['id']}", json={"aggregate": {"name": f"  {renamed} "}}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["aggregate"]
    assert updated["name"] == renamed
    assert STAMP.match(updated["updated_at"])
    assert shown(compute_api, created["id"])["name"] == renamed

    response = compute_api.delete(f"/os-aggregates/{created['id']}")
    assert (response.status_code, response.content) == (200, b"")
    message = nova_fault(compute_api.get(f"/os-aggregates/{created['id']}"), 404)
    assert message == f"Aggregate {created['id']} could not be found."
    assert created["id"] not in {
        a["id"] for a in compute_api.get("/os-aggregates").json()["aggregates"]
    }


def test_zone_is_shown_in_metadata_too(compute_api: ComputeApi, made: list[int]) -> None:
    zone = unique("zone")
    created = create(compute_api, made, zone=zone)
    assert created["availability_zone"] == zone
    aggregate = shown(compute_api, created["id"])
    assert aggregate["metadata"] == {"availability_zone": zone}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"aggregate": {"name": ""}}, "1 to 255"),
        ({"aggregate": {"name": "x" * 256}}, "1 to 255"),
        ({"aggregate": {"name": " lead"}}, "Can not start or end with whitespace"),
        ({"aggregate": {"name": "tab\there"}}, "printable"),
        ({"aggregate": {"name": 5}}, "1 to 255"),
        ({"aggregate": {}}, "'name' is a required property"),
        ({"aggregate": {"name": "a", "hosts": []}}, "'hosts' was unexpected"),
        ({"aggregate": {"name": "a"}, "x": 1}, "'x' was unexpected"),
        ({"name": "a"}, "'aggregate' is a required property"),
        ({"aggregate": "a"}, "is not of type 'object'"),
        ([], "must be an object"),
        ({"aggregate": {"name": "a", "availability_zone": "a:b"}}, "except :"),
        ({"aggregate": {"name": "a", "availability_zone": ""}}, "1 to 255"),
        ({"aggregate": {"name": "a", "availability_zone": "internal"}}, "control services"),
    ],
)
def test_create_errors(compute_api: ComputeApi, body: Any, needle: str) -> None:
    before = compute_api.get("/os-aggregates").json()["aggregates"]
    assert needle in nova_fault(compute_api.post("/os-aggregates", json=body), 400)
    assert compute_api.get("/os-aggregates").json()["aggregates"] == before


def test_names_are_unique(compute_api: ComputeApi, made: list[int]) -> None:
    first = create(compute_api, made)
    second = create(compute_api, made)
    body = {"aggregate": {"name": first["name"]}}
    message = nova_fault(compute_api.post("/os-aggregates", json=body), 409)
    assert message == f"Aggregate {first['name']} already exists."
    message = nova_fault(compute_api.put(f"/os-aggregates/{second['id']}", json=body), 409)
    assert message == f"Aggregate {first['name']} already exists."
    assert shown(compute_api, second["id"])["name"] == second["name"]


def test_update_errors(compute_api: ComputeApi, made: list[int]) -> None:
    number = create(compute_api, made)["id"]
    path = f"/os-aggregates/{number}"
    assert "Give 'name'" in nova_fault(compute_api.put(path, json={"aggregate": {}}), 400)
    body = {"aggregate": {"name": "x", "hosts": [C0]}}
    assert "'hosts' was unexpected" in nova_fault(compute_api.put(path, json=body), 400)
    body = {"aggregate": {"name": "   "}}
    assert "non space" in nova_fault(compute_api.put(path, json=body), 400)
    # Nova has no "no zone" to go back to: an empty zone is refused.
    message = nova_fault(
        compute_api.put(path, json={"aggregate": {"availability_zone": None}}), 400
    )
    assert message.startswith(f"Cannot update aggregate {number}. Reason: Aggregate ")
    assert "does not support empty named availability zone" in message
    message = nova_fault(
        compute_api.put("/os-aggregates/999999", json={"aggregate": {"name": "x"}}), 404
    )
    assert message == "Aggregate 999999 could not be found."


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
def test_ids_are_integers(compute_api: ComputeApi, method: str) -> None:
    bodies = {"PUT": {"aggregate": {"name": "x"}}, "POST": {"add_host": {"host": C0}}}
    suffix = "/action" if method == "POST" else ""
    for bad in ("abc", "1.5"):
        response = compute_api.request(
            method, f"/os-aggregates/{bad}{suffix}", json=bodies.get(method)
        )
        assert nova_fault(response, 400) == "Invalid input received: id must be an integer"
    for unknown in ("0", "-3", "99999999999999999999"):
        response = compute_api.request(
            method, f"/os-aggregates/{unknown}{suffix}", json=bodies.get(method)
        )
        assert nova_fault(response, 404) == f"Aggregate {unknown} could not be found."


# ------------------------------------------------------------------ hosts


def test_add_and_remove_hosts(compute_api: ComputeApi, made: list[int]) -> None:
    number = create(compute_api, made)["id"]
    response = action(compute_api, number, "add_host", host=C0)
    assert response.status_code == 200, response.text
    aggregate = response.json()["aggregate"]
    assert set(aggregate) == VIEW_KEYS
    assert aggregate["hosts"] == [C0]
    assert STAMP.match(aggregate["updated_at"])
    assert action(compute_api, number, "add_host", host=C1).json()["aggregate"]["hosts"] == [
        C0,
        C1,
    ]
    message = nova_fault(action(compute_api, number, "add_host", host=C0), 409)
    assert message == f"Aggregate {number} already has host {C0}."
    listed = compute_api.get("/os-aggregates").json()["aggregates"]
    assert [a["hosts"] for a in listed if a["id"] == number] == [[C0, C1]]

    response = action(compute_api, number, "remove_host", host=C0)
    assert response.status_code == 200, response.text
    assert response.json()["aggregate"]["hosts"] == [C1]
    message = nova_fault(action(compute_api, number, "remove_host", host=C0), 404)
    assert message == f"Cannot remove host {C0} in aggregate {number}"
    assert shown(compute_api, number)["hosts"] == [C1]


def test_a_host_may_be_in_many_aggregates(compute_api: ComputeApi, made: list[int]) -> None:
    first, second = create(compute_api, made)["id"], create(compute_api, made)["id"]
    for number in (first, second):
        assert action(compute_api, number, "add_host", host=C0).status_code == 200
    assert shown(compute_api, first)["hosts"] == shown(compute_api, second)["hosts"] == [C0]


def test_unknown_hosts_and_aggregates(compute_api: ComputeApi, made: list[int]) -> None:
    number = create(compute_api, made)["id"]
    message = nova_fault(action(compute_api, number, "add_host", host="nowhere"), 404)
    assert message.startswith("Compute host nowhere could not be found.")
    # The scheduler's host is no compute host.
    scheduler = compute_api.get("/os-services", params={"binary": "nova-scheduler"})
    host = scheduler.json()["services"][0]["host"]
    nova_fault(action(compute_api, number, "add_host", host=host), 404)
    message = nova_fault(action(compute_api, 999999, "add_host", host=C0), 404)
    assert message == "Aggregate 999999 could not be found."
    message = nova_fault(action(compute_api, 999999, "remove_host", host=C0), 404)
    assert message == f"Cannot remove host {C0} in aggregate 999999"
    message = nova_fault(action(compute_api, number, "remove_host", host="nowhere"), 404)
    assert message == f"Cannot remove host nowhere in aggregate {number}"
    assert shown(compute_api, number)["hosts"] == []


def test_an_aggregate_with_hosts_is_not_deleted(compute_api: ComputeApi, made: list[int]) -> None:
    number = create(compute_api, made)["id"]
    action(compute_api, number, "add_host", host=C1)
    message = nova_fault(compute_api.delete(f"/os-aggregates/{number}"), 400)
    assert message.startswith(
        f"Cannot remove host from aggregate {number}. Reason: Host aggregate is not empty."
    )
    assert C1 in message
    assert shown(compute_api, number)["hosts"] == [C1]
    action(compute_api, number, "remove_host", host=C1)
    assert compute_api.delete(f"/os-aggregates/{number}").status_code == 200


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "exactly one action"),
        ({"add_host": {"host": C0}, "remove_host": {"host": C0}}, "exactly one action"),
        ({"migrate": {}}, "There is no such action: migrate"),
        ({"add_host": {}}, "'host' is a required property"),
        ({"add_host": {"host": ""}}, "1 to 255"),
        ({"add_host": {"host": C0, "zone": "z"}}, "'zone' was unexpected"),
        ({"remove_host": None}, "is not of type 'object'"),
        ({"set_metadata": {}}, "'metadata' is a required property"),
        ({"set_metadata": {"metadata": []}}, "is not of type 'object'"),
        ({"set_metadata": {"metadata": {"bad/key": "v"}}}, "Key 'bad/key'"),
        ({"set_metadata": {"metadata": {"k": "v" * 256}}}, "at most 255"),
        ({"set_metadata": {"metadata": {"k": 5}}}, "at most 255"),
        ({"set_metadata": {"metadata": {"availability_zone": "a:b"}}}, "except :"),
    ],
)
def test_action_errors(compute_api: ComputeApi, made: list[int], body: Any, needle: str) -> None:
    number = create(compute_api, made)["id"]
    before = shown(compute_api, number)
    response = compute_api.post(f"/os-aggregates/{number}/action", json=body)
    assert needle in nova_fault(response, 400)
    assert shown(compute_api, number) == before


# ------------------------------------------------------------------ metadata


def test_set_metadata_sets_and_deletes_items(compute_api: ComputeApi, made: list[int]) -> None:
    number = create(compute_api, made)["id"]
    response = action(compute_api, number, "set_metadata", metadata={"a": "1", "b.c": "two"})
    assert response.status_code == 200, response.text
    assert response.json()["aggregate"]["metadata"] == {"a": "1", "b.c": "two"}
    response = action(
        compute_api, number, "set_metadata", metadata={"a": None, "d": "", "missing": None}
    )
    assert response.json()["aggregate"]["metadata"] == {"b.c": "two", "d": ""}
    assert shown(compute_api, number)["metadata"] == {"b.c": "two", "d": ""}
    # The zone may be set as metadata too (openstack aggregate set --property).
    zone = unique("zone")
    response = action(compute_api, number, "set_metadata", metadata={"availability_zone": zone})
    aggregate = response.json()["aggregate"]
    assert aggregate["availability_zone"] == zone
    assert aggregate["metadata"] == {"b.c": "two", "d": "", "availability_zone": zone}
    message = nova_fault(
        action(compute_api, number, "set_metadata", metadata={"availability_zone": None}), 400
    )
    assert message.startswith(f"Cannot update metadata of aggregate {number}. Reason: ")
    assert shown(compute_api, number)["availability_zone"] == zone


# ------------------------------------------------------------------ zones


def test_a_zoned_aggregate_puts_its_hosts_in_the_zone(
    compute_api: ComputeApi, made: list[int]
) -> None:
    zone = unique("zone")
    number = create(compute_api, made, zone=zone)["id"]
    clusters = clusters_of(compute_api)
    assert clusters.zone_of(C1) == "nova"
    action(compute_api, number, "add_host", host=C1)
    assert clusters.zone_of(C1) == zone
    assert service_zone(compute_api, C1) == zone
    zones = compute_api.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert {"zoneName": zone, "zoneState": {"available": True}, "hosts": None} in zones
    detail = compute_api.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    (entry,) = [z for z in detail if z["zoneName"] == zone]
    assert list(entry["hosts"]) == [C1]
    assert [c.name for c in clusters.candidates(zone)] == [C1]
    assert C1 not in [c.name for c in clusters.candidates("nova")]
    assert zone in clusters.zones()

    action(compute_api, number, "remove_host", host=C1)
    assert clusters.zone_of(C1) == "nova"
    assert service_zone(compute_api, C1) == "nova"
    message = nova_fault(compute_api.get("/os-aggregates/abc"), 400)
    assert message == "Invalid input received: id must be an integer"


def test_a_host_is_never_in_two_zones(compute_api: ComputeApi, made: list[int]) -> None:
    zone_a, zone_b = unique("za"), unique("zb")
    first = create(compute_api, made, zone=zone_a)["id"]
    second = create(compute_api, made, zone=zone_b)["id"]
    plain = create(compute_api, made)["id"]
    assert action(compute_api, first, "add_host", host=C0).status_code == 200

    message = nova_fault(action(compute_api, second, "add_host", host=C0), 409)
    assert message == (
        f"Cannot add host to aggregate {second}. Reason: One or more hosts already in "
        f"availability zone(s) ['{zone_a}']."
    )
    # An aggregate without a zone takes it; it may then only take the zone C0 is in.
    assert action(compute_api, plain, "add_host", host=C0).status_code == 200
    body = {"aggregate": {"availability_zone": zone_b}}
    message = nova_fault(compute_api.put(f"/os-aggregates/{plain}", json=body), 400)
    assert message == (
        f"Cannot update aggregate {plain}. Reason: One or more hosts already in availability "
        f"zone(s) ['{zone_a}']."
    )
    metadata = {"availability_zone": zone_b}
    message = nova_fault(action(compute_api, plain, "set_metadata", metadata=metadata), 400)
    assert message.startswith(f"Cannot update metadata of aggregate {plain}. Reason: One or more")
    assert shown(compute_api, plain)["availability_zone"] is None
    body = {"aggregate": {"availability_zone": zone_a, "name": unique("same-zone")}}
    response = compute_api.put(f"/os-aggregates/{plain}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["aggregate"]["availability_zone"] == zone_a
    assert clusters_of(compute_api).zone_of(C0) == zone_a


def test_zone_of_hosts_running_servers_does_not_change(
    compute_api: ComputeApi, made: list[int], own_cluster: str
) -> None:
    zone = unique("zone")
    number = create(compute_api, made, zone=zone)["id"]
    add_server(compute_api, new_project(compute_api), cluster=own_cluster)
    # Adding a busy host to a zone is Nova's way of zoning it: allowed.
    assert action(compute_api, number, "add_host", host=own_cluster).status_code == 200
    body = {"aggregate": {"availability_zone": unique("other")}}
    message = nova_fault(compute_api.put(f"/os-aggregates/{number}", json=body), 400)
    assert message.startswith(f"Cannot update aggregate {number}. Reason: One or more hosts ")
    assert "contain instances" in message and own_cluster in message
    metadata = {"availability_zone": unique("other"), "kept": "no"}
    response = action(compute_api, number, "set_metadata", metadata=metadata)
    assert "contain instances" in nova_fault(response, 400)
    aggregate = shown(compute_api, number)
    assert (aggregate["availability_zone"], aggregate["metadata"]) == (
        zone,
        {"availability_zone": zone},
    )
    # The same zone again is no change.
    metadata = {"availability_zone": zone, "kept": "yes"}
    assert action(compute_api, number, "set_metadata", metadata=metadata).status_code == 200
    assert clusters_of(compute_api).zone_of(own_cluster) == zone


def test_a_deleted_compute_service_leaves_its_aggregates(
    compute_api: ComputeApi, made: list[int]
) -> None:
    name = unique("DC0_GONE")
    add_fake_cluster(compute_api, name)
    clusters_of(compute_api).register_services()
    zone = unique("zone")
    number = create(compute_api, made, zone=zone)["id"]
    action(compute_api, number, "add_host", host=name)
    assert clusters_of(compute_api).zone_of(name) == zone
    remove_fake_cluster(compute_api, name)  # deletes its nova-compute service
    assert shown(compute_api, number)["hosts"] == []
    assert clusters_of(compute_api).zone_of(name) == "nova"


def test_zones_are_read_once_and_other_controllers_catch_up(
    compute_api: ComputeApi, made: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = aggregate_queries.host_zones

    def counted(unit: Any) -> dict[str, str]:
        reads.append(1)
        return real(unit)

    monkeypatch.setattr(aggregate_queries, "host_zones", counted)
    clusters = clusters_of(compute_api)
    clusters.forget_aggregate_zones()
    for _ in range(50):
        clusters.zone_of(C0)
    assert len(reads) == 1

    other = ClusterService(
        clusters._store, clusters._policy, compute_api.fake.drivers(), ComputeSettings()
    )
    assert other.zone_of(C0) == "nova"
    zone = unique("zone")
    number = create(compute_api, made, zone=zone)["id"]
    action(compute_api, number, "add_host", host=C0)
    assert clusters.zone_of(C0) == zone  # this controller: at once
    assert other.zone_of(C0) == "nova"  # another: after AGGREGATE_ZONES_SECONDS
    monkeypatch.setattr(clusters_module, "AGGREGATE_ZONES_SECONDS", 0.0)
    assert other.zone_of(C0) == zone


def test_concurrent_adds_to_two_zones_let_one_win(compute_api: ComputeApi, made: list[int]) -> None:
    for _ in range(3):
        first = create(compute_api, made, zone=unique("za"))["id"]
        second = create(compute_api, made, zone=unique("zb"))["id"]
        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(
                pool.map(
                    lambda n: action(compute_api, n, "add_host", host=C1).status_code,
                    (first, second),
                )
            )
        assert statuses == [200, 409]
        holders = [n for n in (first, second) if shown(compute_api, n)["hosts"] == [C1]]
        assert len(holders) == 1
        action(compute_api, holders[0], "remove_host", host=C1)


# ------------------------------------------------------------------ policy


def test_aggregates_are_admin_only(
    compute_api: ComputeApi, made: list[int], member: Persona
) -> None:
    number = create(compute_api, made)["id"]
    token = member.token
    path = f"/os-aggregates/{number}"
    for response in (
        compute_api.get("/os-aggregates", token=token),
        compute_api.post("/os-aggregates", token=token, json={"aggregate": {"name": "x"}}),
        compute_api.get(path, token=token),
        compute_api.put(path, token=token, json={"aggregate": {"name": "x"}}),
        compute_api.delete(path, token=token),
        compute_api.post(f"{path}/action", token=token, json={"add_host": {"host": C0}}),
        compute_api.post(f"{path}/action", token=token, json={"remove_host": {"host": C0}}),
        compute_api.post(
            f"{path}/action", token=token, json={"set_metadata": {"metadata": {"a": "b"}}}
        ),
    ):
        assert "os-aggregates" in nova_fault(response, 403)
    assert shown(compute_api, number)["hosts"] == []
