"""rebuild through HTTP on the fake vCenter: the same server id, port, MAC and addresses on a
new VM cloned from the new image's template, the request's changes written, the answer Nova
gives (the full server view with adminPass, status REBUILD), a stopped server kept stopped,
the image checks (400), the state and lock refusals (409) and a failure that leaves ERROR."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import boot, fault, make_network, ports_of, wait_status
from tests.api.test_compute_snapshots import action, set_row, upload_vmdk, wait_task_none
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")


@pytest.fixture(scope="module")
def images(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two bootable images."""
    return [upload_vmdk(compute_api, tmp_path_factory.mktemp(f"vmdk{i}")) for i in range(2)]


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.40.0.0/24")


def test_rebuild_keeps_the_server_and_its_port_on_a_new_vm(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    before = wait_status(compute_api, server_id, member.token, "ACTIVE")
    compute = compute_api.fake.drivers().compute
    old_vm = compute.get_vm(server_id)
    (port,) = ports_of(compute_api, server_id)
    body = {
        "rebuild": {
            "imageRef": images[1],
            "name": "rebuilt",
            "metadata": {"stage": "two"},
            "adminPass": "s3cret-pass",
            "accessIPv4": "192.0.2.7",
        }
    }
    response = action(compute_api, server_id, member.token, body)
    assert response.status_code == 202, response.text
    shown = response.json()["server"]
    assert shown["id"] == server_id and shown["adminPass"] == "s3cret-pass"
    assert shown["status"] == "REBUILD" and shown["image"]["id"] == images[1]
    assert shown["name"] == "rebuilt" and shown["metadata"] == {"stage": "two"}
    assert shown["accessIPv4"] == "192.0.2.7"
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert server["addresses"] == before["addresses"]
    assert server["OS-EXT-STS:task_state"] is None and server["image"]["id"] == images[1]
    vm = compute.get_vm(server_id)
    assert vm.id != old_vm.id  # a new VM, with the same instance UUID
    assert vm.power_state == PowerState.ON and vm.cluster == old_vm.cluster
    (nic,) = vm.nics
    assert nic.mac == port["mac_address"]
    assert [p["id"] for p in ports_of(compute_api, server_id)] == [port["id"]]
    template = compute_api.fake.state.vms
    assert any(t.template and t.name.startswith(f"image-{images[1]}") for t in template.values())
    listed = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    assert "rebuild" in [a["action"] for a in listed.json()["instanceActions"]]


def test_a_stopped_server_stays_stopped(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert action(compute_api, server_id, member.token, {"os-stop": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHUTOFF")
    response = action(compute_api, server_id, member.token, {"rebuild": {"imageRef": images[0]}})
    assert response.status_code == 202, response.text
    assert response.json()["server"]["adminPass"]
    server = wait_task_none(compute_api, server_id, member.token)
    assert server["status"] == "SHUTOFF"
    assert compute_api.fake.drivers().compute.get_vm(server_id).power_state == PowerState.OFF


def test_refusals(
    compute_api: ComputeApi,
    member: Persona,
    images: list[str],
    network: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")

    def rebuild(**fields: Any) -> Any:
        return action(compute_api, server_id, member.token, {"rebuild": fields})

    fault(rebuild(), 400, "badRequest")  # imageRef is required
    fault(rebuild(imageRef="0" * 32), 400, "badRequest")
    fault(rebuild(imageRef=images[0], bogus=1), 400, "badRequest")
    fault(rebuild(imageRef=images[0], key_name="k"), 400, "badRequest")  # 2.54 only
    fault(rebuild(imageRef=images[0], accessIPv4="nope"), 400, "badRequest")
    big = upload_vmdk(compute_api, tmp_path_factory.mktemp("big"), min_ram=1 << 20)
    assert "memory" in fault(rebuild(imageRef=big), 400, "badRequest")
    queued = compute_api.other(ImageApi).post(
        "/v2/images", json={"name": "q", "disk_format": "vmdk", "container_format": "bare"}
    )
    fault(rebuild(imageRef=queued.json()["id"]), 400, "badRequest")
    assert action(compute_api, server_id, compute_api.admin_token, {"lock": None}).status_code
    try:
        assert "locked" in fault(rebuild(imageRef=images[0]), 409, "conflictingRequest")
    finally:
        action(compute_api, server_id, compute_api.admin_token, {"unlock": None})
    assert wait_task_none(compute_api, server_id, member.token)["status"] == "ACTIVE"


def test_a_failed_rebuild_leaves_error_and_keeps_the_port(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    (port,) = ports_of(compute_api, server_id)
    compute_api.fake.state.fail_next("create_vm", NoCapacityError("datastore LocalDS_0 is full"))
    response = action(compute_api, server_id, member.token, {"rebuild": {"imageRef": images[1]}})
    assert response.status_code == 202, response.text
    server = wait_status(compute_api, server_id, member.token, "ERROR")
    assert "full" in server["fault"]["message"]
    assert [p["id"] for p in ports_of(compute_api, server_id)] == [port["id"]]
    # Rebuilding from ERROR is allowed, and makes it whole again.
    again = action(compute_api, server_id, member.token, {"rebuild": {"imageRef": images[1]}})
    assert again.status_code == 202, again.text
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204


def test_a_restart_redoes_an_interrupted_rebuild(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    compute = compute_api.fake.drivers().compute
    # Cut off after the old VM went: the server is rebuilding and has no VM.
    compute.power_off(server_id)
    compute.destroy_vm(server_id)
    set_row(
        compute_api,
        server_id,
        task_state="rebuild_spawning",
        image_id=images[1],
        system_metadata={"rebuild": {"stopped": False}},
    )
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    disk.rebuilds.start()
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert server["image"]["id"] == images[1]
    assert compute.get_vm(server_id).power_state == PowerState.ON
