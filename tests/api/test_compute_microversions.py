"""Each compute microversion this cloud implements, at its boundary: the field or behaviour
present at N and absent at N-1, a parameter refused before its version, and the advertised
range. The service advertises `microversion.MAX_VERSION`; these tests raise it for themselves
so that every implemented step is proven whatever is advertised (see docs/compute.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import fault, image_id, make_network, wait_status
from vistack.compute.api import microversion

__all__ = ["image_id"]  # the module-scoped image fixture, shared


@pytest.fixture(scope="module")
def member(compute_api: ComputeApi) -> Persona:
    """A member whose project has no instance limit (these tests make many servers)."""
    person = persona(compute_api.identity)
    unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    response = compute_api.put(f"/os-quota-sets/{person.project_id}", json=unlimited)
    assert response.status_code == 200, response.text
    return person


#: What the service advertises (read before any test raises it).
ADVERTISED = microversion.MAX_VERSION
V6 = {"net": [{"addr": "fd00::5", "version": 6}, {"addr": "10.9.0.5", "version": 4}]}


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def show(api: ComputeApi, server_id: str, version: str, token: str | None = None) -> Any:
    response = api.get(f"/servers/{server_id}", token=token, headers=at(version))
    assert response.status_code == 200, response.text
    return response.json()["server"]


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.62.0.0/24")


def create(api: ComputeApi, token: str, version: str, **fields: Any) -> Any:
    body = {"server": {"name": unique("vm"), "flavorRef": "1", **fields}}
    return api.post("/servers", token=token, headers=at(version), json=body)


def test_documented_range() -> None:
    """docs/compute.md names the range the service advertises."""
    docs = (Path(__file__).parents[2] / "docs" / "compute.md").read_text()
    assert f"## Microversions (2.1 to {microversion.text(ADVERTISED)})" in docs


def test_advertised_range(compute_api: ComputeApi) -> None:
    (_, version) = compute_api.client.get("/compute/").json()["versions"]
    assert version["min_version"] == "2.1"
    assert version["version"] == microversion.text(microversion.MAX_VERSION)


def test_2_3_extended_attributes(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}], "max_count": 2}
    made = create(compute_api, member.token, "2.3", user_data="aGk=", **fields)
    assert made.status_code == 202, made.text
    server = wait_status(compute_api, made.json()["server"]["id"], member.token, "ACTIVE")
    before = show(compute_api, server["id"], "2.2")
    assert "OS-EXT-SRV-ATTR:host" in before and "OS-EXT-SRV-ATTR:hostname" not in before
    shown = show(compute_api, server["id"], "2.3")
    assert shown["OS-EXT-SRV-ATTR:hostname"] == server["name"]
    assert shown["OS-EXT-SRV-ATTR:user_data"] == "aGk="
    assert shown["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert shown["OS-EXT-SRV-ATTR:launch_index"] in (0, 1)
    assert shown["OS-EXT-SRV-ATTR:kernel_id"] == "" == shown["OS-EXT-SRV-ATTR:ramdisk_id"]
    assert shown["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/sda"
    assert "OS-EXT-SRV-ATTR:hostname" not in show(compute_api, server["id"], "2.3", member.token)
    listed = compute_api.get("/servers/detail?all_tenants=1", headers=at("2.3")).json()
    reservations = {
        s["OS-EXT-SRV-ATTR:reservation_id"]: s["OS-EXT-SRV-ATTR:launch_index"]
        for s in listed["servers"]
        if s["OS-EXT-SRV-ATTR:reservation_id"] == shown["OS-EXT-SRV-ATTR:reservation_id"]
    }
    assert len(reservations) == 1  # one create, one reservation


def test_2_5_ip6_filter_for_members(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    with_v6 = insert_server(compute_api, owner.project_id, addresses=V6)
    without = insert_server(compute_api, owner.project_id)

    def ids(version: str) -> set[str]:
        listed = compute_api.get("/servers?ip6=fd00::5", token=owner.token, headers=at(version))
        return {s["id"] for s in listed.json()["servers"]}

    assert ids("2.4") == {with_v6, without}  # ignored for a member before 2.5
    assert ids("2.5") == {with_v6}


def test_2_7_access_to_public_flavors(compute_api: ComputeApi) -> None:
    body = {"flavor": {"name": unique("pub"), "ram": 128, "vcpus": 1, "disk": 0}}
    flavor = compute_api.post("/flavors", json=body).json()["flavor"]
    grant = {"addTenantAccess": {"tenant": "p7"}}
    path = f"/flavors/{flavor['id']}/action"
    refused = compute_api.post(path, headers=at("2.7"), json=grant)
    assert fault(refused, 409, "conflictingRequest") == "Can not add access to a public flavor."
    recorded = compute_api.post(path, headers=at("2.6"), json=grant)
    assert recorded.status_code == 200, recorded.text
    access = [{"flavor_id": flavor["id"], "tenant_id": "p7"}]
    assert recorded.json() == {"flavor_access": access}


def test_2_9_locked_and_2_73_reason(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id, locked=True, locked_reason="x")
    assert "locked" not in show(compute_api, server_id, "2.8", member.token)
    assert show(compute_api, server_id, "2.9", member.token)["locked"] is True
    assert "locked_reason" not in show(compute_api, server_id, "2.72", member.token)
    assert show(compute_api, server_id, "2.73", member.token)["locked_reason"] == "x"


def test_2_10_keypairs_of_another_user(compute_api: ComputeApi, member: Persona) -> None:
    body = {"keypair": {"name": unique("kp"), "user_id": member.user_id}}
    early = compute_api.post("/os-keypairs", headers=at("2.9"), json=body)
    assert "user_id" in fault(early, 400, "badRequest")
    made = compute_api.post("/os-keypairs", headers=at("2.10"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["keypair"]["user_id"] == member.user_id
    query = f"/os-keypairs?user_id={member.user_id}"
    names_2_9 = [
        k["keypair"]["name"] for k in compute_api.get(query, headers=at("2.9")).json()["keypairs"]
    ]
    names_2_10 = [
        k["keypair"]["name"] for k in compute_api.get(query, headers=at("2.10")).json()["keypairs"]
    ]
    assert body["keypair"]["name"] not in names_2_9  # the admin's own key pairs
    assert body["keypair"]["name"] in names_2_10
    other = persona(compute_api.identity)
    denied = compute_api.post(
        "/os-keypairs",
        token=other.token,
        headers=at("2.10"),
        json={"keypair": {"name": "k", "user_id": member.user_id}},
    )
    fault(denied, 403, "forbidden")


def test_2_11_forced_down(compute_api: ComputeApi) -> None:
    services = compute_api.get("/os-services?binary=nova-compute", headers=at("2.10")).json()
    host = services["services"][0]["host"]
    assert "forced_down" not in services["services"][0]
    body = {"host": host, "binary": "nova-compute", "forced_down": True}
    fault(
        compute_api.put("/os-services/force-down", headers=at("2.10"), json=body),
        404,
        "itemNotFound",
    )
    forced = compute_api.put("/os-services/force-down", headers=at("2.11"), json=body)
    assert forced.status_code == 200, forced.text
    assert forced.json() == {
        "service": {"host": host, "binary": "nova-compute", "forced_down": True}
    }
    try:
        listed = compute_api.get(f"/os-services?host={host}", headers=at("2.11")).json()
        (service,) = [s for s in listed["services"] if s["binary"] == "nova-compute"]
        assert service["forced_down"] is True and service["state"] == "down"
        missing = {"host": host, "binary": "nova-compute"}
        fault(
            compute_api.put("/os-services/force-down", headers=at("2.11"), json=missing),
            400,
            "badRequest",
        )
    finally:
        body["forced_down"] = False
        assert (
            compute_api.put("/os-services/force-down", headers=at("2.11"), json=body).status_code
            == 200
        )


def test_2_16_host_status(compute_api: ComputeApi, member: Persona) -> None:
    services = compute_api.get("/os-services?binary=nova-compute").json()["services"]
    server_id = insert_server(compute_api, member.project_id, cluster=services[0]["host"])
    assert "host_status" not in show(compute_api, server_id, "2.15")
    assert show(compute_api, server_id, "2.16")["host_status"] == "UP"
    assert "host_status" not in show(compute_api, server_id, "2.16", member.token)
    nowhere = insert_server(compute_api, member.project_id)
    assert show(compute_api, nowhere, "2.16")["host_status"] == ""


def test_2_18_project_id_in_urls(compute_api: ComputeApi, member: Persona) -> None:
    headers = {"X-Auth-Token": member.token, **at("2.18")}
    mine = compute_api.client.get(f"/compute/v2.1/{member.project_id}/servers", headers=headers)
    assert mine.status_code == 200, mine.text
    plain = compute_api.client.get("/compute/v2.1/servers", headers=headers)
    assert mine.json() == plain.json()
    other = compute_api.client.get("/compute/v2.1/not-mine/flavors", headers=headers)
    assert "doesn't match Context's project_id" in fault(other, 400, "badRequest")


def test_2_19_description(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}]}
    early = create(compute_api, member.token, "2.18", description="d", **fields)
    assert "'description'" in fault(early, 400, "badRequest")
    fault(
        create(compute_api, member.token, "2.19", description="x" * 256, **fields),
        400,
        "badRequest",
    )
    made = create(compute_api, member.token, "2.19", description="web tier", **fields)
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    assert show(compute_api, server_id, "2.19", member.token)["description"] == "web tier"
    assert "description" not in show(compute_api, server_id, "2.18", member.token)
    path = f"/servers/{server_id}"
    refused = compute_api.put(
        path, token=member.token, headers=at("2.18"), json={"server": {"description": "x"}}
    )
    fault(refused, 400, "badRequest")
    updated = compute_api.put(
        path, token=member.token, headers=at("2.19"), json={"server": {"description": None}}
    )
    assert updated.status_code == 200 and updated.json()["server"]["description"] is None
    wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_2_21_actions_of_deleted_servers(compute_api: ComputeApi, member: Persona) -> None:
    from vistack.common.clock import utcnow

    gone = insert_server(compute_api, member.project_id, vm_state="deleted", deleted_at=utcnow())
    path = f"/servers/{gone}/os-instance-actions"
    fault(compute_api.get(path, token=member.token, headers=at("2.20")), 404, "itemNotFound")
    shown = compute_api.get(path, token=member.token, headers=at("2.21"))
    assert shown.status_code == 200 and shown.json() == {"instanceActions": []}


def test_2_28_cpu_info_object(compute_api: ComputeApi) -> None:
    (first, *_) = compute_api.get("/os-hypervisors", headers=at("2.28")).json()["hypervisors"]
    path = f"/os-hypervisors/{first['id']}"
    assert isinstance(
        compute_api.get(path, headers=at("2.27")).json()["hypervisor"]["cpu_info"], str
    )
    assert isinstance(
        compute_api.get(path, headers=at("2.28")).json()["hypervisor"]["cpu_info"], dict
    )


def test_2_33_hypervisor_pages(compute_api: ComputeApi) -> None:
    every = compute_api.get("/os-hypervisors", headers=at("2.33")).json()["hypervisors"]
    first = compute_api.get("/os-hypervisors?limit=1", headers=at("2.33")).json()
    assert first["hypervisors"] == every[:1]
    assert "marker=" in first["hypervisors_links"][0]["href"]
    after = compute_api.get(f"/os-hypervisors?marker={every[0]['id']}", headers=at("2.33")).json()
    assert after["hypervisors"] == every[1:]
    fault(compute_api.get("/os-hypervisors?marker=999999", headers=at("2.33")), 400, "badRequest")
    assert len(
        compute_api.get("/os-hypervisors?limit=1", headers=at("2.32")).json()["hypervisors"]
    ) == len(every)


def test_2_35_keypair_pages(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    for name in ("a", "b", "c"):
        body = {"keypair": {"name": name}}
        assert (
            compute_api.post(
                "/os-keypairs", token=owner.token, headers=at("2.35"), json=body
            ).status_code
            == 201
        )

    def page(query: str, version: str = "2.35") -> Any:
        response = compute_api.get(f"/os-keypairs{query}", token=owner.token, headers=at(version))
        return response

    two = page("?limit=2").json()
    assert [k["keypair"]["name"] for k in two["keypairs"]] == ["a", "b"]
    assert "marker=b" in two["keypairs_links"][0]["href"]
    assert [k["keypair"]["name"] for k in page("?marker=b").json()["keypairs"]] == ["c"]
    fault(page("?marker=zz"), 400, "badRequest")
    assert len(page("?limit=2", "2.34").json()["keypairs"]) == 3


def test_2_36_2_39_2_57_limits_and_quotas(compute_api: ComputeApi, member: Persona) -> None:
    def absolute(version: str) -> dict[str, Any]:
        limits = compute_api.get("/limits", token=member.token, headers=at(version)).json()
        result: dict[str, Any] = limits["limits"]["absolute"]
        return result

    assert {"maxSecurityGroups", "maxImageMeta", "maxPersonality"} <= set(absolute("2.35"))
    assert "maxSecurityGroups" not in absolute("2.36") and "maxImageMeta" in absolute("2.36")
    assert "maxImageMeta" not in absolute("2.39") and "maxPersonality" in absolute("2.39")
    assert "maxPersonality" not in absolute("2.57") and "maxServerMeta" in absolute("2.57")
    path = f"/os-quota-sets/{member.project_id}"
    assert "floating_ips" in compute_api.get(path, headers=at("2.35")).json()["quota_set"]
    at_2_36 = compute_api.get(path, headers=at("2.36")).json()["quota_set"]
    assert "floating_ips" not in at_2_36 and "injected_files" in at_2_36
    assert "injected_files" not in compute_api.get(path, headers=at("2.57")).json()["quota_set"]
    body = {"quota_set": {"floating_ips": 3}}
    fault(compute_api.put(path, headers=at("2.36"), json=body), 400, "badRequest")


def test_2_37_networks_required_auto_none(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    missing = create(compute_api, member.token, "2.37", imageRef=image_id)
    assert "'networks' is a required property" in fault(missing, 400, "badRequest")
    fault(
        create(compute_api, member.token, "2.36", imageRef=image_id, networks="none"),
        400,
        "badRequest",
    )
    fault(
        create(compute_api, member.token, "2.37", imageRef=image_id, networks="some"),
        400,
        "badRequest",
    )
    none = create(compute_api, member.token, "2.37", imageRef=image_id, networks="none")
    assert none.status_code == 202, none.text
    server = wait_status(compute_api, none.json()["server"]["id"], member.token, "ACTIVE")
    assert server["addresses"] == {}
    auto = create(compute_api, member.token, "2.37", imageRef=image_id, networks="auto")
    assert auto.status_code == 202, auto.text
    server = wait_status(compute_api, auto.json()["server"]["id"], member.token, "ACTIVE")
    assert list(server["addresses"]) == [network["name"]]


def test_2_38_unknown_status(compute_api: ComputeApi, member: Persona) -> None:
    early = compute_api.get("/servers?status=NOPE", token=member.token, headers=at("2.37"))
    assert early.status_code == 200 and early.json() == {"servers": []}
    refused = compute_api.get("/servers?status=NOPE", token=member.token, headers=at("2.38"))
    assert "Invalid status value" in fault(refused, 400, "badRequest")
    known = compute_api.get("/servers?status=MIGRATING", token=member.token, headers=at("2.38"))
    assert known.status_code == 200


def test_2_42_device_tags_are_refused(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    tagged = [{"uuid": network["id"], "tag": "nic1"}]
    unknown = create(compute_api, member.token, "2.31", imageRef=image_id, networks=tagged)
    assert "Unknown keys" in fault(unknown, 400, "badRequest")
    for version in ("2.32", "2.42"):
        refused = create(compute_api, member.token, version, imageRef=image_id, networks=tagged)
        assert "Device tagging is not supported" in fault(refused, 400, "badRequest")
    gap = create(compute_api, member.token, "2.37", imageRef=image_id, networks=tagged)
    assert "Unknown keys" in fault(gap, 400, "badRequest")


def test_2_47_embedded_flavor(compute_api: ComputeApi, member: Persona) -> None:
    flavor = {
        "id": "1",
        "name": "m1.tiny",
        "vcpus": 1,
        "ram": 512,
        "disk": 1,
        "extra_specs": {"hw:cpu_cores": "1"},
    }
    server_id = insert_server(compute_api, member.project_id, flavor=flavor)
    assert show(compute_api, server_id, "2.46", member.token)["flavor"]["id"] == "1"
    embedded = show(compute_api, server_id, "2.47", member.token)["flavor"]
    assert embedded == {
        "vcpus": 1,
        "ram": 512,
        "disk": 1,
        "ephemeral": 0,
        "swap": 0,
        "original_name": "m1.tiny",
        "extra_specs": {"hw:cpu_cores": "1"},
    }


def test_2_50_quota_class_server_groups(compute_api: ComputeApi) -> None:
    before = compute_api.get("/os-quota-class-sets/default", headers=at("2.49")).json()
    assert (
        "server_groups" not in before["quota_class_set"]
        and "floating_ips" in before["quota_class_set"]
    )
    after = compute_api.get("/os-quota-class-sets/default", headers=at("2.50")).json()
    assert (
        "server_groups" in after["quota_class_set"]
        and "floating_ips" not in after["quota_class_set"]
    )


def test_2_57_personality_is_unknown(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}], "personality": []}
    assert "'personality'" in fault(
        create(compute_api, member.token, "2.57", **fields), 400, "badRequest"
    )


def test_2_90_hostname_update(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    path = f"/servers/{server_id}"
    body = {"server": {"hostname": "web-1"}}
    fault(
        compute_api.put(path, token=member.token, headers=at("2.89"), json=body), 400, "badRequest"
    )
    bad = {"server": {"hostname": "-bad-"}}
    fault(
        compute_api.put(path, token=member.token, headers=at("2.90"), json=bad), 400, "badRequest"
    )
    assert (
        compute_api.put(path, token=member.token, headers=at("2.90"), json=body).status_code == 200
    )
    assert show(compute_api, server_id, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "web-1"


def test_2_40_usage_pages(compute_api: ComputeApi) -> None:
    from datetime import timedelta

    from vistack.common.clock import utcnow

    owner = persona(compute_api.identity)
    launched = utcnow() - timedelta(hours=2)
    made = [
        insert_server(
            compute_api,
            owner.project_id,
            launched_at=launched,
            created_at=launched + timedelta(seconds=i),
        )
        for i in range(3)
    ]
    window = f"start={(launched - timedelta(hours=1)).isoformat(timespec='seconds')}"
    path = f"/os-simple-tenant-usage/{owner.project_id}?{window}"
    every = compute_api.get(path, headers=at("2.40")).json()["tenant_usage"]
    assert [s["instance_id"] for s in every["server_usages"]] == made
    first = compute_api.get(f"{path}&limit=2", headers=at("2.40")).json()
    assert [s["instance_id"] for s in first["tenant_usage"]["server_usages"]] == made[:2]
    assert f"marker={made[1]}" in first["tenant_usage_links"][0]["href"]
    rest = compute_api.get(f"{path}&marker={made[1]}", headers=at("2.40")).json()
    assert [s["instance_id"] for s in rest["tenant_usage"]["server_usages"]] == made[2:]
    fault(compute_api.get(f"{path}&marker=nope", headers=at("2.40")), 400, "badRequest")
    fault(compute_api.get(f"{path}&limit=-1", headers=at("2.40")), 400, "badRequest")
    old = compute_api.get(f"{path}&limit=1", headers=at("2.39")).json()
    assert len(old["tenant_usage"]["server_usages"]) == 3 and "tenant_usage_links" not in old


def test_2_41_aggregate_uuid(compute_api: ComputeApi) -> None:
    made = compute_api.post(
        "/os-aggregates", headers=at("2.41"), json={"aggregate": {"name": unique("agg")}}
    )
    assert made.status_code == 200, made.text
    aggregate = made.json()["aggregate"]
    shown = compute_api.get(f"/os-aggregates/{aggregate['id']}", headers=at("2.41")).json()[
        "aggregate"
    ]
    assert shown["uuid"] == aggregate["uuid"] and len(aggregate["uuid"]) == 36
    assert (
        "uuid"
        not in compute_api.get(f"/os-aggregates/{aggregate['id']}", headers=at("2.40")).json()[
            "aggregate"
        ]
    )
    other = compute_api.post(
        "/os-aggregates", headers=at("2.41"), json={"aggregate": {"name": unique("agg")}}
    )
    assert other.json()["aggregate"]["uuid"] != aggregate["uuid"]


def test_2_51_events_and_2_58_action_pages(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    token = member.token
    for action in ("lock", "unlock", "lock"):
        body = {action: None}
        response = compute_api.post(f"/servers/{server_id}/action", token=token, json=body)
        assert response.status_code == 202, response.text
    path = f"/servers/{server_id}/os-instance-actions"
    actions = compute_api.get(path, token=token, headers=at("2.57")).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["lock", "unlock", "lock"]
    assert "updated_at" not in actions[0]
    request_id = actions[0]["request_id"]
    early = compute_api.get(f"{path}/{request_id}", token=token, headers=at("2.50")).json()
    assert "events" not in early["instanceAction"]  # a member's, before 2.51
    shown = compute_api.get(f"{path}/{request_id}", token=token, headers=at("2.51")).json()
    assert shown["instanceAction"]["events"] == []
    assert (
        "events"
        in compute_api.get(f"{path}/{request_id}", headers=at("2.50")).json()["instanceAction"]
    )
    page = compute_api.get(f"{path}?limit=2", token=token, headers=at("2.58")).json()
    assert [a["request_id"] for a in page["instanceActions"]] == [
        a["request_id"] for a in actions[:2]
    ]
    assert page["instanceActions"][0]["updated_at"]
    assert "marker=" in page["links"][0]["href"]
    marker = actions[1]["request_id"]
    rest = compute_api.get(f"{path}?marker={marker}", token=token, headers=at("2.58")).json()
    assert [a["request_id"] for a in rest["instanceActions"]] == [actions[2]["request_id"]]
    fault(
        compute_api.get(f"{path}?marker=nope", token=token, headers=at("2.58")), 400, "badRequest"
    )
    future = compute_api.get(
        f"{path}?changes-since=2999-01-01T00:00:00Z", token=token, headers=at("2.58")
    )
    assert future.json()["instanceActions"] == []
    past = compute_api.get(
        f"{path}?changes-before=2000-01-01T00:00:00Z", token=token, headers=at("2.66")
    )
    assert past.json()["instanceActions"] == []
    old = compute_api.get(f"{path}?limit=1", token=token, headers=at("2.57")).json()
    assert len(old["instanceActions"]) == 3


def test_2_53_service_and_hypervisor_uuids(compute_api: ComputeApi) -> None:
    import uuid as uuids

    listed = compute_api.get("/os-services?binary=nova-compute", headers=at("2.53")).json()
    service = listed["services"][0]
    assert uuids.UUID(service["id"]) and service["forced_down"] is False
    path = f"/os-services/{service['id']}"
    fault(compute_api.put("/os-services/disable", headers=at("2.53"), json={}), 400, "badRequest")
    fault(compute_api.put(path, headers=at("2.53"), json={}), 400, "badRequest")
    reason_only = {"status": "enabled", "disabled_reason": "x"}
    fault(compute_api.put(path, headers=at("2.53"), json=reason_only), 400, "badRequest")
    body = {"status": "disabled", "disabled_reason": "maintenance"}
    disabled = compute_api.put(path, headers=at("2.53"), json=body)
    assert disabled.status_code == 200, disabled.text
    shown = disabled.json()["service"]
    assert (shown["id"], shown["status"], shown["disabled_reason"]) == (
        service["id"],
        "disabled",
        "maintenance",
    )
    enabled = compute_api.put(path, headers=at("2.53"), json={"status": "enabled"}).json()[
        "service"
    ]
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    missing = f"/os-services/{uuids.uuid4()}"
    fault(
        compute_api.put(missing, headers=at("2.53"), json={"status": "enabled"}),
        404,
        "itemNotFound",
    )
    fault(compute_api.delete("/os-services/1", headers=at("2.53")), 400, "badRequest")
    fault(compute_api.delete(missing, headers=at("2.53")), 404, "itemNotFound")
    fault(
        compute_api.delete(f"/os-services/{service['id']}", headers=at("2.52")), 400, "badRequest"
    )

    hypervisors = compute_api.get("/os-hypervisors/detail", headers=at("2.53")).json()[
        "hypervisors"
    ]
    first = hypervisors[0]
    assert uuids.UUID(first["id"])
    by_service = {h["service"]["id"]: h for h in hypervisors}
    assert by_service[service["id"]]["hypervisor_hostname"] == service["host"]
    shown_h = compute_api.get(f"/os-hypervisors/{first['id']}", headers=at("2.53")).json()[
        "hypervisor"
    ]
    assert shown_h["hypervisor_hostname"] == first["hypervisor_hostname"]
    fault(compute_api.get("/os-hypervisors/1", headers=at("2.53")), 400, "badRequest")
    fault(
        compute_api.get(f"/os-hypervisors/{first['id']}", headers=at("2.52")), 404, "itemNotFound"
    )
    name = first["hypervisor_hostname"]
    fault(
        compute_api.get(f"/os-hypervisors/{name}/search", headers=at("2.53")), 404, "itemNotFound"
    )
    matched = compute_api.get(
        f"/os-hypervisors?hypervisor_hostname_pattern={name}", headers=at("2.53")
    ).json()
    assert name in [h["hypervisor_hostname"] for h in matched["hypervisors"]]
    paged = f"/os-hypervisors?hypervisor_hostname_pattern={name}&limit=1"
    fault(compute_api.get(paged, headers=at("2.53")), 400, "badRequest")
    with_servers = compute_api.get("/os-hypervisors?with_servers=true", headers=at("2.53"))
    assert with_servers.status_code == 200, with_servers.text


def test_2_43_os_hosts(compute_api: ComputeApi, member: Persona) -> None:
    listed = compute_api.get("/os-hosts", headers=at("2.42"))
    assert listed.status_code == 200, listed.text
    hosts = listed.json()["hosts"]
    computes = [h for h in hosts if h["service"] == "compute"]
    assert computes and {"scheduler", "conductor"} <= {h["service"] for h in hosts}
    fault(compute_api.get("/os-hosts", headers=at("2.43")), 404, "itemNotFound")
    zone = computes[0]["zone"]
    in_zone = compute_api.get(f"/os-hosts?zone={zone}", headers=at("2.42")).json()["hosts"]
    assert in_zone and all(h["zone"] == zone for h in in_zone)
    assert compute_api.get("/os-hosts?zone=", headers=at("2.42")).json()["hosts"] == hosts
    assert compute_api.get("/os-hosts?zone=nowhere", headers=at("2.42")).json()["hosts"] == []
    host = computes[0]["host_name"]
    insert_server(compute_api, member.project_id, cluster=host)
    shown = compute_api.get(f"/os-hosts/{host}", headers=at("2.42")).json()["host"]
    resources = {r["resource"]["project"]: r["resource"] for r in shown}
    assert {"(total)", "(used_now)", "(used_max)", member.project_id} <= set(resources)
    assert all(r["host"] == host for r in resources.values())
    assert resources[member.project_id]["cpu"] >= 1
    fault(compute_api.get("/os-hosts/nowhere", headers=at("2.42")), 404, "itemNotFound")
    path = f"/os-hosts/{host}"
    disabled = compute_api.put(path, headers=at("2.42"), json={"status": "disable"})
    assert disabled.json() == {"host": host, "status": "disabled"}
    enabled = compute_api.put(path, headers=at("2.42"), json={"status": "enable"})
    assert enabled.json() == {"host": host, "status": "enabled"}
    fault(compute_api.put(path, headers=at("2.42"), json={"status": "on"}), 400, "badRequest")
    fault(compute_api.put(path, headers=at("2.42"), json={}), 400, "badRequest")
    body = {"maintenance_mode": "enable"}
    fault(compute_api.put(path, headers=at("2.42"), json=body), 501, "notImplemented")
    fault(compute_api.get(f"{path}/reboot", headers=at("2.42")), 501, "notImplemented")
    denied = compute_api.get("/os-hosts", token=member.token, headers=at("2.42"))
    fault(denied, 403, "forbidden")


def test_2_4_2_36_2_44_removed_network_apis(compute_api: ComputeApi, member: Persona) -> None:
    """nova-network's APIs: 410 Gone while the version has them, 404 after, as Nova."""
    gone = compute_api.get("/os-fixed-ips/10.0.0.1", headers=at("2.4"))
    assert gone.status_code == 410 and gone.json()["computeFault"]["code"] == 410
    fault(compute_api.get("/os-fixed-ips/10.0.0.1", headers=at("2.36")), 404, "itemNotFound")
    reserve = compute_api.post("/os-fixed-ips/10.0.0.1/action", headers=at("2.35"), json={})
    assert reserve.status_code == 410
    assert compute_api.get("/os-cells", headers=at("2.96")).status_code == 410
    server_id = insert_server(compute_api, member.project_id)
    path = f"/servers/{server_id}/os-virtual-interfaces"
    assert compute_api.get(path, token=member.token, headers=at("2.12")).status_code == 410
    fault(compute_api.get(path, token=member.token, headers=at("2.44")), 404, "itemNotFound")
