"""Compute microversions 2.55 and later at their boundaries (see test_compute_microversions.py
for the earlier ones and the advertised range): each field or behaviour present at N and absent
at N-1, each parameter refused before its version."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_microversions import at, create, image_id, member, network, show
from tests.api.test_compute_servers import fault, wait_status
from tests.image_files import make_vmdk
from vistack.compute.api import microversion

__all__ = ["image_id", "member", "network"]  # the shared module-scoped fixtures
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def test_2_55_2_61_2_75_flavors(compute_api: ComputeApi, member: Persona) -> None:
    body = {
        "flavor": {"name": unique("f"), "ram": 256, "vcpus": 1, "disk": 1, "description": "small"}
    }
    early = compute_api.post("/flavors", headers=at("2.54"), json=body)
    assert "'description'" in fault(early, 400, "badRequest")
    made = compute_api.post("/flavors", headers=at("2.55"), json=body)
    assert made.status_code == 200, made.text
    flavor = made.json()["flavor"]
    assert flavor["description"] == "small" and flavor["swap"] == ""
    path = f"/flavors/{flavor['id']}"
    specs = {"extra_specs": {"hw:cpu_cores": "1"}}
    assert compute_api.post(f"{path}/os-extra_specs", json=specs).status_code == 200
    assert "description" not in compute_api.get(path, headers=at("2.54")).json()["flavor"]
    at_2_60 = compute_api.get(path, headers=at("2.60")).json()["flavor"]
    assert at_2_60["description"] == "small" and "extra_specs" not in at_2_60
    at_2_61 = compute_api.get(path, token=member.token, headers=at("2.61")).json()["flavor"]
    assert at_2_61["extra_specs"] == {"hw:cpu_cores": "1"}
    assert compute_api.get(path, headers=at("2.75")).json()["flavor"]["swap"] == 0
    listed = compute_api.get("/flavors", headers=at("2.55")).json()["flavors"]
    assert {f["id"]: f["description"] for f in listed}[flavor["id"]] == "small"
    change = {"flavor": {"description": "changed"}}
    fault(compute_api.put(path, headers=at("2.54"), json=change), 404, "itemNotFound")
    changed = compute_api.put(path, headers=at("2.55"), json=change)
    assert changed.status_code == 200 and changed.json()["flavor"]["description"] == "changed"
    fault(
        compute_api.put(path, headers=at("2.55"), json={"flavor": {"name": "x"}}), 400, "badRequest"
    )
    denied = compute_api.put(path, token=member.token, headers=at("2.55"), json=change)
    fault(denied, 403, "forbidden")


def test_2_63_trusted_certificates_are_refused(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}]}
    certs = {"trusted_image_certificates": ["0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"]}
    early = create(compute_api, member.token, "2.62", **fields, **certs)
    assert "'trusted_image_certificates'" in fault(early, 400, "badRequest")
    refused = create(compute_api, member.token, "2.63", **fields, **certs)
    assert "certificate validation is not supported" in fault(refused, 400, "badRequest")
    server_id = insert_server(compute_api, member.project_id)
    assert show(compute_api, server_id, "2.63", member.token)["trusted_image_certificates"] is None
    assert "trusted_image_certificates" not in show(compute_api, server_id, "2.62", member.token)


def test_2_66_changes_before(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    server_id = insert_server(compute_api, owner.project_id)

    def ids(query: str, version: str) -> Any:
        return compute_api.get(f"/servers?{query}", token=owner.token, headers=at(version))

    past = "changes-before=2000-01-01T00:00:00Z"
    assert {s["id"] for s in ids(past, "2.65").json()["servers"]} == {server_id}  # not a filter
    assert ids(past, "2.66").json()["servers"] == []
    assert [
        s["id"] for s in ids("changes-before=2999-01-01T00:00:00Z", "2.66").json()["servers"]
    ] == [server_id]
    both = "changes-since=2999-01-01T00:00:00Z&changes-before=2000-01-01T00:00:00Z"
    fault(ids(both, "2.66"), 400, "badRequest")


def test_2_71_server_groups_in_show(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    assert "server_groups" not in show(compute_api, server_id, "2.70", member.token)
    assert show(compute_api, server_id, "2.71", member.token)["server_groups"] == []
    listed = compute_api.get("/servers/detail", token=member.token, headers=at("2.71")).json()
    assert all("server_groups" not in s for s in listed["servers"])  # show, update, rebuild only


def test_2_73_lock_reason_and_filter(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    locked = insert_server(compute_api, owner.project_id)
    free = insert_server(compute_api, owner.project_id)
    path = f"/servers/{locked}/action"
    body = {"lock": {"locked_reason": "under audit"}}
    # Before 2.73 Nova checks no lock body (clients send `{}`): the reason is not kept.
    early = compute_api.post(path, token=owner.token, headers=at("2.72"), json=body)
    assert early.status_code == 202, early.text
    assert show(compute_api, locked, "2.73", owner.token)["locked_reason"] is None
    bad = {"lock": {"locked_reason": "x", "other": 1}}
    fault(
        compute_api.post(path, token=owner.token, headers=at("2.73"), json=bad), 400, "badRequest"
    )
    done = compute_api.post(path, token=owner.token, headers=at("2.73"), json=body)
    assert done.status_code == 202, done.text
    shown = show(compute_api, locked, "2.73", owner.token)
    assert (shown["locked"], shown["locked_reason"]) == (True, "under audit")

    def listed(query: str) -> set[str]:
        response = compute_api.get(f"/servers?{query}", token=owner.token, headers=at("2.73"))
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["servers"]}

    assert listed("locked=true") == {locked}
    assert listed("locked=false") == {free}
    fault(
        compute_api.get("/servers?locked=maybe", token=owner.token, headers=at("2.73")),
        400,
        "badRequest",
    )
    unlock = compute_api.post(path, token=owner.token, headers=at("2.73"), json={"unlock": None})
    assert unlock.status_code == 202
    assert show(compute_api, locked, "2.73", owner.token)["locked_reason"] is None


def test_2_74_requested_destination(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    clusters = [
        s["host"] for s in compute_api.get("/os-services?binary=nova-compute").json()["services"]
    ]
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}], "host": clusters[-1]}
    early = create(compute_api, member.token, "2.73", **fields)
    assert "'host'" in fault(early, 400, "badRequest")
    fault(create(compute_api, member.token, "2.74", **fields), 403, "forbidden")
    admin = compute_api.admin_token
    unknown = create(compute_api, admin, "2.74", **{**fields, "host": "nowhere"})
    assert "Compute host nowhere could not be found" in fault(unknown, 400, "badRequest")
    mismatch = create(compute_api, admin, "2.74", **fields, hypervisor_hostname="other")
    fault(mismatch, 400, "badRequest")
    made = create(compute_api, admin, "2.74", **{**fields, "networks": "none"})
    assert made.status_code == 202, made.text
    server = wait_status(compute_api, made.json()["server"]["id"], admin, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == clusters[-1]
    forced = create(
        compute_api, admin, "2.1", imageRef=image_id, availability_zone=f"nova:{clusters[0]}"
    )
    assert forced.status_code == 202, forced.text
    server = wait_status(compute_api, forced.json()["server"]["id"], admin, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == clusters[0]


def test_2_75_unknown_list_parameters(compute_api: ComputeApi, member: Persona) -> None:
    ignored = compute_api.get("/servers?foo=1", token=member.token, headers=at("2.74"))
    assert ignored.status_code == 200
    refused = compute_api.get("/servers?foo=1", token=member.token, headers=at("2.75"))
    assert "'foo' was unexpected" in fault(refused, 400, "badRequest")
    known = compute_api.get("/servers?name=x&limit=1", token=member.token, headers=at("2.75"))
    assert known.status_code == 200


def test_2_75_update_answers_the_full_view(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    path = f"/servers/{server_id}"
    body = {"server": {"name": unique("renamed")}}
    before = compute_api.put(path, token=member.token, headers=at("2.74"), json=body).json()
    assert "OS-EXT-STS:vm_state" not in before["server"]
    after = compute_api.put(path, token=member.token, headers=at("2.75"), json=body).json()
    assert after["server"]["OS-EXT-STS:vm_state"] == "active"
    assert after["server"]["server_groups"] == [] and "tags" in after["server"]


def test_2_78_topology(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    path = f"/servers/{server_id}/topology"
    fault(compute_api.get(path, token=member.token, headers=at("2.77")), 404, "itemNotFound")
    shown = compute_api.get(path, token=member.token, headers=at("2.78"))
    assert shown.status_code == 200 and shown.json() == {"nodes": [], "pagesize_kb": None}
    stranger = persona(compute_api.identity)
    fault(compute_api.get(path, token=stranger.token, headers=at("2.78")), 404, "itemNotFound")


def test_2_83_member_filters(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    stopped = insert_server(compute_api, owner.project_id, vm_state="stopped", key_name="k1")
    active = insert_server(compute_api, owner.project_id)

    def ids(query: str, version: str, token: str | None = owner.token) -> set[str]:
        response = compute_api.get(f"/servers?{query}", token=token, headers=at(version))
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["servers"]}

    assert ids("vm_state=stopped", "2.82") == {stopped, active}  # a member's, dropped
    assert ids("vm_state=stopped", "2.83") == {stopped}
    assert ids("key_name=k1", "2.83") == {stopped}
    assert ids("power_state=1", "2.83") == {stopped, active}
    assert ids(f"user_id={owner.user_id}", "2.83") == set()  # inserted as user "tester"
    assert ids("user_id=tester", "2.83") == {stopped, active}
    assert ids("progress=100", "2.83") == {active}
    admin_view = ids(f"vm_state=stopped&all_tenants=1&project_id={owner.project_id}", "2.1", None)
    assert admin_view == {stopped}  # an administrator's, at any version
    assert ids(f"uuid={active}", "2.83") == {stopped, active}  # admin-only: dropped


def test_2_88_hypervisors_without_usage(compute_api: ComputeApi) -> None:
    (first, *_) = compute_api.get("/os-hypervisors/detail", headers=at("2.88")).json()[
        "hypervisors"
    ]
    assert "vcpus" not in first and "cpu_info" not in first and "vCenter" in first["uptime"]
    assert first["hypervisor_type"] and first["service"]["host"] == first["hypervisor_hostname"]
    shown = compute_api.get(f"/os-hypervisors/{first['id']}", headers=at("2.88")).json()
    assert "vCenter" in shown["hypervisor"]["uptime"] and "memory_mb" not in shown["hypervisor"]
    fault(compute_api.get("/os-hypervisors/statistics", headers=at("2.88")), 404, "itemNotFound")
    path = f"/os-hypervisors/{first['id']}/uptime"
    fault(compute_api.get(path, headers=at("2.88")), 404, "itemNotFound")
    assert compute_api.get(path, headers=at("2.87")).status_code == 200
    stats = compute_api.get("/os-hypervisors/statistics", headers=at("2.87"))
    assert stats.status_code == 200
    assert (
        "vcpus"
        in compute_api.get("/os-hypervisors/detail", headers=at("2.87")).json()["hypervisors"][0]
    )


def test_2_90_2_94_hostname_at_create(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}]}
    early = create(compute_api, member.token, "2.89", hostname="web-1", **fields)
    assert "'hostname'" in fault(early, 400, "badRequest")
    fqdn = create(compute_api, member.token, "2.90", hostname="web-1.example.org", **fields)
    fault(fqdn, 400, "badRequest")
    many = create(compute_api, member.token, "2.90", hostname="web", max_count=2, **fields)
    assert "multiple instances" in fault(many, 400, "badRequest")
    made = create(compute_api, member.token, "2.94", hostname="web-1.example.org", **fields)
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    assert show(compute_api, server_id, "2.94")["OS-EXT-SRV-ATTR:hostname"] == "web-1.example.org"
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    path = f"/servers/{server_id}"
    dotted = {"server": {"hostname": "a.b"}}
    fault(
        compute_api.put(path, token=member.token, headers=at("2.93"), json=dotted),
        400,
        "badRequest",
    )
    assert (
        compute_api.put(path, token=member.token, headers=at("2.94"), json=dotted).status_code
        == 200
    )


def test_2_92_key_pairs_are_imported(compute_api: ComputeApi, member: Persona) -> None:
    generated = {"keypair": {"name": unique("gen")}}
    assert (
        compute_api.post(
            "/os-keypairs", token=member.token, headers=at("2.91"), json=generated
        ).status_code
        == 201
    )
    refused = compute_api.post(
        "/os-keypairs", token=member.token, headers=at("2.92"), json=generated
    )
    assert "'public_key' is a required property" in fault(refused, 400, "badRequest")
    public_key = compute_api.get(
        f"/os-keypairs/{generated['keypair']['name']}", token=member.token
    ).json()["keypair"]["public_key"]
    dotted = {"keypair": {"name": "me@host.example", "public_key": public_key}}
    early = compute_api.post("/os-keypairs", token=member.token, headers=at("2.91"), json=dotted)
    assert "unsafe characters" in fault(early, 400, "badRequest")
    made = compute_api.post("/os-keypairs", token=member.token, headers=at("2.92"), json=dotted)
    assert made.status_code == 201, made.text
    assert "private_key" not in made.json()["keypair"]


def test_2_96_pinned_availability_zone(compute_api: ComputeApi, member: Persona) -> None:
    pinned = insert_server(compute_api, member.project_id, availability_zone="nova")
    free = insert_server(compute_api, member.project_id)
    assert "pinned_availability_zone" not in show(compute_api, pinned, "2.95", member.token)
    assert show(compute_api, pinned, "2.96", member.token)["pinned_availability_zone"] == "nova"
    assert show(compute_api, free, "2.96", member.token)["pinned_availability_zone"] is None


def test_2_81_image_precache(
    compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory
) -> None:
    images = compute_api.other(ImageApi)
    body = {"name": unique("c"), "disk_format": "vmdk", "container_format": "bare"}
    image = images.post("/v2/images", json=body).json()
    data = make_vmdk(tmp_path_factory.mktemp("precache"), size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image['id']}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    cluster = compute_api.get("/os-services?binary=nova-compute").json()["services"][0]["host"]
    made = compute_api.post("/os-aggregates", json={"aggregate": {"name": unique("agg")}})
    aggregate_id = made.json()["aggregate"]["id"]
    added = compute_api.post(
        f"/os-aggregates/{aggregate_id}/action", json={"add_host": {"host": cluster}}
    )
    assert added.status_code == 200, added.text
    path = f"/os-aggregates/{aggregate_id}/images"
    cache = {"cache": [{"id": image["id"]}]}
    fault(compute_api.post(path, headers=at("2.80"), json=cache), 404, "itemNotFound")
    twice = {"cache": [{"id": image["id"]}, {"id": image["id"]}]}
    assert "Duplicate" in fault(
        compute_api.post(path, headers=at("2.81"), json=twice), 400, "badRequest"
    )
    missing = {"cache": [{"id": "0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"}]}
    fault(compute_api.post(path, headers=at("2.81"), json=missing), 400, "badRequest")
    member = persona(compute_api.identity)
    fault(
        compute_api.post(path, token=member.token, headers=at("2.81"), json=cache), 403, "forbidden"
    )
    accepted = compute_api.post(path, headers=at("2.81"), json=cache)
    assert accepted.status_code == 202, accepted.text
    prefix = f"image-{image['id']}-"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        templates = [
            vm
            for vm in compute_api.fake.state.vms.values()
            if vm.template and vm.name.startswith(prefix)
        ]
        if templates:
            break
        time.sleep(0.05)
    assert [vm.cluster for vm in templates] == [cluster]


def test_rebuild_answers_the_versioned_view(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    """A rebuild's answer is `server_views.full` too: tags (2.26), description (2.19) and
    server groups (2.71) as a show at that version has them."""
    fields = {"imageRef": image_id, "networks": [{"uuid": network["id"]}], "tags": ["blue"]}
    made = create(compute_api, member.token, "2.71", description="d", **fields)
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    body = {"rebuild": {"imageRef": image_id}}
    path = f"/servers/{server_id}/action"
    rebuilt = compute_api.post(path, token=member.token, headers=at("2.71"), json=body)
    assert rebuilt.status_code == 202, rebuilt.text
    view = rebuilt.json()["server"]
    assert (view["tags"], view["description"], view["server_groups"]) == (["blue"], "d", [])
    assert view["locked"] is False and "adminPass" in view
