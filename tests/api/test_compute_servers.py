"""Servers through HTTP on the fake vCenter: a create that ends ACTIVE with a VM whose instance
UUID is the server id (flavor's size, a NIC on the network's port group with the port's MAC),
power actions seen in vCenter, deletes that leave no VM or port, failures that leave ERROR and
nothing behind, and the create refusals in Nova's fault format."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import ComputeApi, ImageApi, NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.image_files import make_vmdk
from vistack.common.context import RequestContext
from vistack.compute.api import microversion
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")
OCTET = {"Content-Type": "application/octet-stream"}
#: The cloud's administrator as the domain sees it (for reads the API does not show).
ADMIN = RequestContext(request_id="req-test", user_id="admin", project_id="admin", roles=("admin",))


def fault(response: Any, status: int, name: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status
    message: str = body[name]["message"]
    return message


@pytest.fixture(scope="module")
def image_id(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A public, active VMDK image on a datastore store."""
    images = compute_api.other(ImageApi)
    body = {
        "name": unique("vmdk"),
        "disk_format": "vmdk",
        "container_format": "bare",
        "visibility": "public",
    }
    created = images.post("/v2/images", json=body)
    assert created.status_code == 201, created.text
    image = created.json()
    data = make_vmdk(tmp_path_factory.mktemp("vmdk"), size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image['id']}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    return str(image["id"])


def make_network(api: ComputeApi, token: str, cidr: str) -> dict[str, Any]:
    networks = api.other(NetworkApi)
    made = networks.post("/v2.0/networks", token=token, json={"network": {"name": unique("n")}})
    assert made.status_code == 201, made.text
    network: dict[str, Any] = made.json()["network"]
    subnet = {"subnet": {"network_id": network["id"], "cidr": cidr, "ip_version": 4}}
    response = networks.post("/v2.0/subnets", token=token, json=subnet)
    assert response.status_code == 201, response.text
    return network


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.20.0.0/24")


def wait_for(api: ComputeApi, server_id: str, token: str, done: Callable[[Any], bool]) -> Any:
    """Poll until `done(response)` (builds and actions run in the background)."""
    deadline = time.monotonic() + 20
    while True:
        response = api.get(f"/servers/{server_id}", token=token)
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def wait_status(api: ComputeApi, server_id: str, token: str, status: str) -> dict[str, Any]:
    response = wait_for(
        api,
        server_id,
        token,
        lambda r: r.status_code == 200 and r.json()["server"]["status"] == status,
    )
    assert response.status_code == 200, response.text
    server: dict[str, Any] = response.json()["server"]
    assert server["status"] == status, (server["status"], server.get("fault"))
    return server


def wait_gone(api: ComputeApi, server_id: str, token: str) -> None:
    response = wait_for(api, server_id, token, lambda r: r.status_code == 404)
    fault(response, 404, "itemNotFound")


def create(api: ComputeApi, token: str, **fields: Any) -> Any:
    return api.post("/servers", token=token, json={"server": {"name": unique("vm"), **fields}})


def boot(api: ComputeApi, member: Persona, image_id: str, network_id: str, **extra: Any) -> str:
    fields = {"imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": network_id}]}
    response = create(api, member.token, **{**fields, **extra})
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    return server_id


def ports_of(api: ComputeApi, server_id: str) -> list[dict[str, Any]]:
    response = api.other(NetworkApi).get(f"/v2.0/ports?device_id={server_id}")
    assert response.status_code == 200, response.text
    ports: list[dict[str, Any]] = response.json()["ports"]
    return ports


def test_version_discovery_and_microversions(compute_api: ComputeApi) -> None:
    root = compute_api.client.get("/compute/")
    assert root.status_code == 200
    (legacy, version) = root.json()["versions"]
    top = microversion.text(microversion.MAX_VERSION)  # what docs/compute.md names
    assert (version["id"], version["min_version"], version["version"]) == ("v2.1", "2.1", top)
    assert (legacy["id"], legacy["status"], legacy["version"]) == ("v2.0", "SUPPORTED", "")
    shown = compute_api.client.get("/compute/v2.1/")
    assert shown.json()["version"]["status"] == "CURRENT"
    assert compute_api.client.get("/compute/v2").json()["version"]["id"] == "v2.0"
    # The legacy endpoint serves 2.1, whatever is asked, and names no microversion.
    legacy_flavors = compute_api.client.get(
        "/compute/v2/flavors",
        headers={"X-Auth-Token": compute_api.admin_token, "OpenStack-API-Version": "compute 2.61"},
    )
    assert legacy_flavors.status_code == 200, legacy_flavors.text
    assert "OpenStack-API-Version" not in legacy_flavors.headers
    assert legacy_flavors.json()["flavors"] and "extra_specs" not in str(legacy_flavors.json())
    latest = compute_api.get("/flavors", headers={"OpenStack-API-Version": "compute latest"})
    assert latest.headers["OpenStack-API-Version"] == f"compute {top}"
    assert latest.headers["X-OpenStack-Nova-API-Version"] == top
    too_new = compute_api.get("/flavors", headers={"OpenStack-API-Version": "compute 2.999"})
    assert f"maximum is {top}" in fault(too_new, 406, "notAcceptable")
    fault(
        compute_api.get("/flavors", headers={"X-OpenStack-Nova-API-Version": "2.x"}),
        400,
        "badRequest",
    )
    assert compute_api.get("/flavors", token="not-a-token").status_code == 401


def test_a_server_boots_to_active_as_a_vm_with_its_port(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    response = create(
        compute_api,
        member.token,
        imageRef=image_id,
        flavorRef="1",
        networks=[{"uuid": network["id"]}],
        metadata={"role": "web"},
    )
    assert response.status_code == 202, response.text
    created = response.json()["server"]
    assert created["adminPass"] and created["security_groups"] == [{"name": "default"}]
    assert response.headers["Location"].endswith(f"/compute/v2.1/servers/{created['id']}")
    server = wait_status(compute_api, created["id"], member.token, "ACTIVE")
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {"role": "web"}
    assert server["flavor"]["id"] == "1" and server["image"]["id"] == image_id
    assert server["hostId"] and server["OS-SRV-USG:launched_at"]
    assert "OS-EXT-SRV-ATTR:host" not in server  # the admin's
    (port,) = ports_of(compute_api, created["id"])
    assert port["device_owner"].startswith("compute:")
    assert port["status"] == "ACTIVE"  # bound to the cluster, as Nova binds it to its host
    (address,) = server["addresses"][network["name"]]
    assert address["addr"] == port["fixed_ips"][0]["ip_address"]
    assert address["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]
    vm = compute_api.fake.drivers().compute.get_vm(created["id"])
    assert (vm.cpus, vm.memory_mb, vm.power_state) == (1, 512, PowerState.ON)
    (nic,) = vm.nics
    assert nic.mac == port["mac_address"]
    admin_view = compute_api.get(f"/servers/{created['id']}").json()["server"]
    assert admin_view["OS-EXT-SRV-ATTR:host"] == vm.cluster


def test_power_actions_reach_vcenter(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    compute = compute_api.fake.drivers().compute

    def act(body: dict[str, Any]) -> Any:
        return compute_api.post(f"/servers/{server_id}/action", token=member.token, json=body)

    assert act({"os-stop": None}).status_code == 202
    stopped = wait_status(compute_api, server_id, member.token, "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4
    assert compute.get_vm(server_id).power_state == PowerState.OFF
    message = fault(act({"os-stop": None}), 409, "conflictingRequest")
    assert message == f"Cannot 'stop' instance {server_id} while it is in vm_state stopped"
    assert act({"os-start": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert compute.get_vm(server_id).power_state == PowerState.ON
    for kind in ("SOFT", "HARD"):
        assert act({"reboot": {"type": kind}}).status_code == 202
        wait_status(compute_api, server_id, member.token, "ACTIVE")
    fault(act({"reboot": {"type": "GENTLE"}}), 400, "badRequest")
    fault(act({"levitate": None}), 400, "badRequest")
    assert act({"os-getConsoleOutput": {}}).json() == {"output": ""}  # the guest wrote nothing
    fault(act({"pause": None}), 501, "notImplemented")
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    names = [a["action"] for a in actions.json()["instanceActions"]]
    assert names[-1] == "create" and {"stop", "start", "reboot"} <= set(names)


def test_lock_keeps_the_owner_out_until_unlocked(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    path = f"/servers/{server_id}/action"
    assert compute_api.post(path, token=member.token, json={"lock": None}).status_code == 202
    locked = compute_api.post(path, token=member.token, json={"os-stop": None})
    assert "locked" in fault(locked, 409, "conflictingRequest")
    assert compute_api.post(path, token=member.token, json={"unlock": None}).status_code == 202
    assert compute_api.post(path, token=member.token, json={"os-stop": None}).status_code == 202


def test_delete_leaves_no_vm_and_no_port(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
    assert server_id not in compute_api.fake.state.vms
    assert ports_of(compute_api, server_id) == []
    deleted = compute_api.get("/servers/detail?all_tenants=1&changes-since=2000-01-01T00:00:00Z")
    states = {s["id"]: s["status"] for s in deleted.json()["servers"]}
    assert states.get(server_id) == "DELETED"


def test_a_failed_build_is_error_with_a_fault_and_leaves_nothing(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    compute_api.fake.fail_next("create_vm", NoCapacityError("datastore ds1 is full"))
    server_id = boot(compute_api, member, image_id, network["id"])
    server = wait_status(compute_api, server_id, member.token, "ERROR")
    assert server["fault"]["code"] == 500
    assert "datastore ds1 is full" in server["fault"]["message"]
    assert server_id not in compute_api.fake.state.vms
    assert ports_of(compute_api, server_id) == []
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)


def test_a_server_on_a_given_port_plugs_it_and_gives_it_back(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    networks = compute_api.other(NetworkApi)
    body = {"port": {"network_id": network["id"]}}
    port = networks.post("/v2.0/ports", token=member.token, json=body).json()["port"]
    fields = {"imageRef": image_id, "flavorRef": "1", "networks": [{"port": port["id"]}]}
    response = create(compute_api, member.token, **fields)
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    in_use = create(compute_api, member.token, **fields)
    assert "still in use" in fault(in_use, 409, "conflictingRequest")
    (nic,) = compute_api.fake.drivers().compute.get_vm(server_id).nics
    assert nic.mac == port["mac_address"]
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
    kept = networks.get(f"/v2.0/ports/{port['id']}", token=member.token)
    assert kept.status_code == 200 and kept.json()["port"]["device_id"] == ""
    assert kept.json()["port"]["status"] == "DOWN"
    unbound = compute_api.other(NetworkApi).get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert unbound["binding:host_id"] == ""


@pytest.mark.parametrize(
    ("fields", "status", "name", "words"),
    [
        ({"flavorRef": "1"}, 400, "badRequest", "Missing imageRef"),
        ({"imageRef": "IMAGE"}, 400, "badRequest", "Missing flavorRef"),
        ({"imageRef": "IMAGE", "flavorRef": "nope"}, 400, "badRequest", "Flavor nope"),
        ({"imageRef": "not-a-uuid", "flavorRef": "1"}, 400, "badRequest", "Invalid imageRef"),
        (
            {"imageRef": "00000000-0000-0000-0000-000000000000", "flavorRef": "1"},
            400,
            "badRequest",
            "could not be found",
        ),
        (
            {"imageRef": "IMAGE", "flavorRef": "1", "networks": [{"uuid": "x"}]},
            400,
            "badRequest",
            "network uuid is not in proper format",
        ),
        (
            {
                "imageRef": "IMAGE",
                "flavorRef": "1",
                "networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}],
            },
            400,
            "badRequest",
            "could not be found",
        ),
        (
            {"imageRef": "IMAGE", "flavorRef": "1", "key_name": "nokey"},
            400,
            "badRequest",
            "key_name",
        ),
        ({"imageRef": "IMAGE", "flavorRef": "1", "user_data": "%%%"}, 400, "badRequest", "base 64"),
        (
            {"imageRef": "IMAGE", "flavorRef": "1", "min_count": 3, "max_count": 2},
            400,
            "badRequest",
            "min_count",
        ),
        (
            {
                "imageRef": "IMAGE",
                "flavorRef": "1",
                "personality": [{"path": "/x", "contents": "%%%"}],
            },
            400,
            "badRequest",
            "Personality content for /x cannot be decoded",
        ),
        ({"imageRef": "IMAGE", "flavorRef": "1", "bogus": 1}, 400, "badRequest", "bogus"),
    ],
)
def test_create_refusals_make_nothing(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    fields: dict[str, Any],
    status: int,
    name: str,
    words: str,
) -> None:
    fields = {k: (image_id if v == "IMAGE" else v) for k, v in fields.items()}
    fields.setdefault("networks", [{"uuid": network["id"]}])
    before = len(compute_api.fake.state.vms)
    server_name = unique("refused")
    response = compute_api.post(
        "/servers", token=member.token, json={"server": {"name": server_name, **fields}}
    )
    assert words in fault(response, status, name)
    listed = compute_api.get(f"/servers?name={server_name}", token=member.token)
    assert listed.json()["servers"] == []
    assert len(compute_api.fake.state.vms) == before


def test_without_networks_the_only_usable_one_is_taken_and_two_are_refused(
    compute_api: ComputeApi, image_id: str
) -> None:
    from tests.api.helpers import persona

    alone = persona(compute_api.identity)
    fields = {"imageRef": image_id, "flavorRef": "1"}
    bare = create(compute_api, alone.token, **fields)
    assert bare.status_code == 202, bare.text
    server = wait_status(compute_api, bare.json()["server"]["id"], alone.token, "ACTIVE")
    assert server["addresses"] == {}
    first = make_network(compute_api, alone.token, "10.31.0.0/24")
    one = create(compute_api, alone.token, **fields)
    server = wait_status(compute_api, one.json()["server"]["id"], alone.token, "ACTIVE")
    assert list(server["addresses"]) == [first["name"]]
    make_network(compute_api, alone.token, "10.32.0.0/24")
    assert "Multiple possible networks" in fault(
        create(compute_api, alone.token, **fields), 409, "conflictingRequest"
    )


def test_lists_filter_page_and_hide_other_projects(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    from tests.api.helpers import persona

    tag = unique("page")
    ids = [boot(compute_api, member, image_id, network["id"], name=f"{tag}-{i}") for i in range(3)]
    for server_id in ids:
        wait_status(compute_api, server_id, member.token, "ACTIVE")
    mine = compute_api.get(f"/servers?name=^{tag}", token=member.token).json()["servers"]
    assert sorted(s["id"] for s in mine) == sorted(ids)
    assert set(mine[0]) == {"id", "name", "links"}
    first = compute_api.get(f"/servers/detail?name=^{tag}&limit=2", token=member.token).json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    marker = first["servers"][-1]["id"]
    rest = compute_api.get(
        f"/servers/detail?name=^{tag}&limit=2&marker={marker}", token=member.token
    )
    assert [s["id"] for s in rest.json()["servers"]] == [
        i for i in ids if i not in {s["id"] for s in first["servers"]}
    ]
    fault(compute_api.get("/servers?marker=nope", token=member.token), 400, "badRequest")
    assert (
        compute_api.get(f"/servers?name=^{tag}&status=SHUTOFF", token=member.token).json()[
            "servers"
        ]
        == []
    )
    stranger = persona(compute_api.identity)
    assert compute_api.get(f"/servers?name=^{tag}", token=stranger.token).json()["servers"] == []
    fault(compute_api.get(f"/servers/{ids[0]}", token=stranger.token), 404, "itemNotFound")
    fault(compute_api.delete(f"/servers/{ids[0]}", token=stranger.token), 404, "itemNotFound")
    everyone = compute_api.get(f"/servers?all_tenants=1&name=^{tag}").json()["servers"]
    assert len(everyone) == 3
    renamed = compute_api.put(
        f"/servers/{ids[0]}", token=member.token, json={"server": {"name": f"{tag}-renamed"}}
    )
    assert renamed.status_code == 200 and renamed.json()["server"]["name"] == f"{tag}-renamed"


def test_min_and_max_count_boot_several(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    name = unique("many")
    response = create(
        compute_api,
        member.token,
        name=name,
        imageRef=image_id,
        flavorRef="1",
        networks=[{"uuid": network["id"]}],
        min_count=3,
        max_count=3,
        return_reservation_id=True,
    )
    assert response.status_code == 202, response.text
    reservation = response.json()["reservation_id"]
    listed = compute_api.get(f"/servers?name=^{name}-", token=member.token).json()["servers"]
    assert sorted(s["name"] for s in listed) == [f"{name}-1", f"{name}-2", f"{name}-3"]
    # A member finds the servers of one create by its reservation id (Tempest's multinode tests).
    mine = compute_api.get(f"/servers?reservation_id={reservation}", token=member.token)
    assert {s["id"] for s in mine.json()["servers"]} == {s["id"] for s in listed}
    for server in listed:
        wait_status(compute_api, server["id"], member.token, "ACTIVE")
        assert compute_api.delete(f"/servers/{server['id']}", token=member.token).status_code == 204
    for server in listed:
        wait_gone(compute_api, server["id"], member.token)


def test_changes_made_in_vcenter_show_in_nova(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    """Power sync: the server follows its VM (powered off or on, moved, deleted by hand)."""
    compute = compute_api.fake.drivers().compute
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    compute.power_off(server_id)
    wait_status(compute_api, server_id, member.token, "SHUTOFF")
    compute.power_on(server_id)
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    vm = compute_api.fake.state.vms[server_id]
    cluster = compute_api.fake.state.clusters[vm.cluster]
    other = next(h.name for h in cluster.hosts if h.name != vm.host)
    vm.host = other  # a vMotion DRS made (the ESXi host is not in Nova's views: read it)
    servers = compute_api.cloud.compute.servers
    deadline = time.monotonic() + 20
    while servers.get(ADMIN, server_id).vm_host != other and time.monotonic() < deadline:
        time.sleep(0.05)
    assert servers.get(ADMIN, server_id).vm_host == other
    compute.power_off(server_id)
    compute.destroy_vm(server_id)
    gone = wait_status(compute_api, server_id, member.token, "ERROR")
    assert "gone from vCenter" in gone["fault"]["message"]
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)


def test_a_delete_during_the_build_wins_and_leaves_nothing(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    """The delete arrives while the build waits on vCenter: the build stops at its next step,
    the delete undoes what it made (VM, port), and the server never turns ACTIVE."""
    compute_api.fake.set_latency(0.15)
    try:
        server_id = boot(compute_api, member, image_id, network["id"])
        time.sleep(0.05)
        assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
        wait_gone(compute_api, server_id, member.token)
    finally:
        compute_api.fake.set_latency(0.0)
    assert server_id not in compute_api.fake.state.vms
    assert ports_of(compute_api, server_id) == []


def test_a_delete_right_after_the_port_is_made_still_removes_the_port(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The delete lands between the port's create and its record: the build must commit the
    port's id before it stops, or the delete's undo cannot know the port exists."""
    work = compute_api.cloud.compute.servers.work
    assert work is not None
    networks = work._networks
    original = networks.create_port

    def create_then_delete(context: RequestContext, body: Any, **options: Any) -> dict[str, Any]:
        port = original(context, body, **options)
        server_id = body["port"]["device_id"]
        assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
        return port

    monkeypatch.setattr(networks, "create_port", create_then_delete)
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_gone(compute_api, server_id, member.token)
    assert server_id not in compute_api.fake.state.vms
    assert ports_of(compute_api, server_id) == []


def test_access_ips_are_kept_checked_and_updated(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(
        compute_api, member, image_id, network["id"], accessIPv4="1.1.1.1", accessIPv6="::babe"
    )
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert (server["accessIPv4"], server["accessIPv6"]) == ("1.1.1.1", "::babe")
    fields = {"imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": network["id"]}]}
    for bad in ({"accessIPv4": "1.1.1.1.1.1"}, {"accessIPv6": "notvalid"}, {"accessIPv4": "::1"}):
        fault(create(compute_api, member.token, **fields, **bad), 400, "badRequest")
    body = {"server": {"accessIPv4": "4.3.2.1", "accessIPv6": "0:0:0:0:0:ffff:ffff:1"}}
    updated = compute_api.put(f"/servers/{server_id}", token=member.token, json=body)
    assert updated.status_code == 200, updated.text
    view = updated.json()["server"]
    assert (view["accessIPv4"], view["accessIPv6"]) == ("4.3.2.1", "::ffff:ffff:1")
    # The update answers the basic view: no extension attributes (Nova's schema).
    assert not [k for k in view if k.startswith(("OS-EXT-", "OS-SRV-USG"))]
    assert "key_name" not in view and "security_groups" not in view
    refused = {"server": {"accessIPv4": "nope"}}
    response = compute_api.put(f"/servers/{server_id}", token=member.token, json=refused)
    fault(response, 400, "badRequest")


def test_an_admins_tenant_filter_needs_all_tenants(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    own = compute_api.get(f"/servers/detail?tenant_id={member.project_id}").json()["servers"]
    assert server_id not in [s["id"] for s in own]
    every = f"/servers/detail?all_tenants=1&tenant_id={member.project_id}"
    theirs = compute_api.get(every).json()["servers"]
    assert server_id in [s["id"] for s in theirs]
    assert {s["tenant_id"] for s in theirs} == {member.project_id}
