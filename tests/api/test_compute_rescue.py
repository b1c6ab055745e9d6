"""rescue and unrescue through HTTP on the fake vCenter: a copy of the rescue image attached
to the VM as its boot disk (status RESCUE, 200 with adminPass), removed again by unrescue
(ACTIVE), another image named by `rescue_image_ref`, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import boot, fault, make_network, wait_status
from tests.api.test_compute_snapshots import action, set_row, upload_vmdk, wait_task_none
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")


@pytest.fixture(scope="module")
def images(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [upload_vmdk(compute_api, tmp_path_factory.mktemp(f"vmdk{i}")) for i in range(2)]


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.60.0.0/24")


def rescue_disks(api: ComputeApi, server_id: str) -> list[str]:
    vm = api.fake.drivers().compute.get_vm(server_id)
    return [d.path for d in vm.disks if d.path.endswith("-rescue.vmdk")]


def test_rescue_boots_a_rescue_disk_and_unrescue_removes_it(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    response = action(compute_api, server_id, member.token, {"rescue": {"adminPass": "pw-1"}})
    assert response.status_code == 200, response.text
    assert response.json() == {"adminPass": "pw-1"}
    server = wait_status(compute_api, server_id, member.token, "RESCUE")
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert vm.power_state == PowerState.ON and len(vm.disks) == 2
    assert len(rescue_disks(compute_api, server_id)) == 1
    # Rescued: another rescue is refused; unrescue brings it back.
    again = action(compute_api, server_id, member.token, {"rescue": None})
    fault(again, 409, "conflictingRequest")
    assert action(compute_api, server_id, member.token, {"unrescue": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert rescue_disks(compute_api, server_id) == []
    assert compute_api.fake.drivers().compute.get_vm(server_id).power_state == PowerState.ON
    listed = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    names = [a["action"] for a in listed.json()["instanceActions"]]
    assert "rescue" in names and "unrescue" in names


def test_rescue_with_another_image_and_a_generated_password(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    body = {"rescue": {"rescue_image_ref": images[1]}}
    response = action(compute_api, server_id, member.token, body)
    assert response.status_code == 200, response.text
    assert response.json()["adminPass"]
    wait_status(compute_api, server_id, member.token, "RESCUE")
    assert action(compute_api, server_id, member.token, {"unrescue": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_refusals_and_a_failed_rescue(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    unrescue = action(compute_api, server_id, member.token, {"unrescue": None})
    assert "vm_state active" in fault(unrescue, 409, "conflictingRequest")
    missing = {"rescue": {"rescue_image_ref": "0" * 32}}
    fault(action(compute_api, server_id, member.token, missing), 400, "badRequest")
    fault(action(compute_api, server_id, member.token, {"rescue": {"x": 1}}), 400, "badRequest")
    compute_api.fake.state.fail_next("attach_rescue_disk", NoCapacityError("datastore is full"))
    assert action(compute_api, server_id, member.token, {"rescue": None}).status_code == 200
    server = wait_task_none(compute_api, server_id, member.token)
    assert server["status"] == "ACTIVE"
    assert rescue_disks(compute_api, server_id) == []
    assert compute_api.fake.drivers().compute.get_vm(server_id).power_state == PowerState.ON


def test_a_restart_redoes_an_interrupted_rescue(
    compute_api: ComputeApi, member: Persona, images: list[str], network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, images[0], network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    set_row(
        compute_api,
        server_id,
        task_state="rescuing",
        system_metadata={"rescue": {"image_id": images[1], "vm_state": "active", "power": 1}},
    )
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    disk.rescues.start()
    wait_status(compute_api, server_id, member.token, "RESCUE")
    assert len(rescue_disks(compute_api, server_id)) == 1
    set_row(compute_api, server_id, task_state="unrescuing")
    disk.rescues.start()
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert rescue_disks(compute_api, server_id) == []
