"""Suspend and resume through HTTP on the fake vCenter (Nova's states, 409s, lock, a failure
that leaves the server where it was, a VM suspended in vCenter shown SUSPENDED), and pause /
unpause refused by name with suspend as vSphere's equivalent."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import (
    boot,
    fault,
    image_id,
    make_network,
    wait_gone,
    wait_status,
)
from vistack.common.context import RequestContext
from vistack.drivers.errors import TransientError
from vistack.drivers.models import PowerState

__all__ = ["image_id"]  # the module-scoped image fixture, shared

member = persona_fixture("compute_api")
#: The cloud's administrator as the domain sees it (for what the API does not show).
ADMIN = RequestContext(request_id="req-test", user_id="admin", project_id="admin", roles=("admin",))


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.71.0.0/24")


def _act(api: ComputeApi, server_id: str, body: dict[str, Any], token: str | None = None) -> Any:
    return api.post(f"/servers/{server_id}/action", token=token, json=body)


def _active(api: ComputeApi, member: Persona, image: str, network_id: str) -> str:
    server_id = boot(api, member, image, network_id)
    wait_status(api, server_id, member.token, "ACTIVE")
    return server_id


def _settled(api: ComputeApi, server_id: str, token: str) -> dict[str, Any]:
    """The server once no task runs on it."""
    deadline = time.monotonic() + 20
    while True:
        server: dict[str, Any] = api.get(f"/servers/{server_id}", token=token).json()["server"]
        if server["OS-EXT-STS:task_state"] is None or time.monotonic() > deadline:
            return server
        time.sleep(0.02)


def test_suspend_then_resume(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = _active(compute_api, member, image_id, network["id"])
    compute = compute_api.fake.drivers().compute
    assert _act(compute_api, server_id, {"suspend": None}, member.token).status_code == 202
    suspended = wait_status(compute_api, server_id, member.token, "SUSPENDED")
    assert suspended["OS-EXT-STS:vm_state"] == "suspended"
    assert suspended["OS-EXT-STS:power_state"] == 7
    assert suspended["OS-EXT-STS:task_state"] is None
    assert compute.get_vm(server_id).power_state is PowerState.SUSPENDED
    message = fault(
        _act(compute_api, server_id, {"suspend": None}, member.token), 409, "conflictingRequest"
    )
    assert message == f"Cannot 'suspend' instance {server_id} while it is in vm_state suspended"
    fault(_act(compute_api, server_id, {"os-stop": None}, member.token), 409, "conflictingRequest")
    assert _act(compute_api, server_id, {"resume": None}, member.token).status_code == 202
    resumed = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert resumed["OS-EXT-STS:power_state"] == 1
    assert compute.get_vm(server_id).power_state is PowerState.ON
    message = fault(
        _act(compute_api, server_id, {"resume": None}, member.token), 409, "conflictingRequest"
    )
    assert message == f"Cannot 'resume' instance {server_id} while it is in vm_state active"
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    names = [a["action"] for a in actions.json()["instanceActions"]]
    assert names[:2] == ["resume", "suspend"]
    # A suspended server is deleted like any other: no VM is left.
    assert _act(compute_api, server_id, {"suspend": None}, member.token).status_code == 202
    wait_status(compute_api, server_id, member.token, "SUSPENDED")
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
    assert server_id not in {vm.instance_uuid for vm in compute.list_vms()}


def test_a_locked_server_refuses_its_owner_not_the_admin(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = _active(compute_api, member, image_id, network["id"])
    assert _act(compute_api, server_id, {"lock": None}, member.token).status_code == 202
    message = fault(
        _act(compute_api, server_id, {"suspend": None}, member.token), 409, "conflictingRequest"
    )
    assert message == f"Instance {server_id} is locked"
    assert _act(compute_api, server_id, {"suspend": None}).status_code == 202  # the admin
    wait_status(compute_api, server_id, member.token, "SUSPENDED")
    fault(_act(compute_api, server_id, {"resume": None}, member.token), 409, "conflictingRequest")
    assert _act(compute_api, server_id, {"resume": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_a_failed_suspend_leaves_the_server_active_with_the_action_in_error(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = _active(compute_api, member, image_id, network["id"])
    compute_api.fake.fail_next("suspend", TransientError("vCenter is restarting"))
    assert _act(compute_api, server_id, {"suspend": None}, member.token).status_code == 202
    server = _settled(compute_api, server_id, member.token)
    assert (server["status"], server["OS-EXT-STS:vm_state"]) == ("ACTIVE", "active")
    assert compute_api.fake.drivers().compute.get_vm(server_id).power_state is PowerState.ON
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    latest = actions.json()["instanceActions"][0]
    assert latest["action"] == "suspend"
    detail = compute_api.get(f"/servers/{server_id}/os-instance-actions/{latest['request_id']}")
    (event,) = detail.json()["instanceAction"]["events"]  # the admin sees the step
    assert (event["event"], event["result"]) == ("compute_suspend_instance", "Error")
    # Nova's instance fault is recorded (the API shows it once the server is in ERROR).
    recorded = compute_api.cloud.compute.servers.get(ADMIN, server_id)
    assert recorded.fault is not None and "vCenter is restarting" in recorded.fault["message"]
    # The server is usable again at once.
    assert _act(compute_api, server_id, {"suspend": None}, member.token).status_code == 202
    wait_status(compute_api, server_id, member.token, "SUSPENDED")


def test_a_vm_suspended_in_vcenter_shows_suspended_and_resumes(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = _active(compute_api, member, image_id, network["id"])
    compute = compute_api.fake.drivers().compute
    compute.suspend(server_id)  # by hand, in vCenter
    shown = wait_status(compute_api, server_id, member.token, "SUSPENDED")
    assert shown["OS-EXT-STS:power_state"] == 7
    compute.power_on(server_id)  # resumed in vCenter: `resume` finds it running, and agrees
    assert _act(compute_api, server_id, {"resume": None}, member.token).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_pause_and_unpause_are_refused_naming_suspend(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = _active(compute_api, member, image_id, network["id"])
    for name in ("pause", "unpause"):
        message = fault(
            _act(compute_api, server_id, {name: None}, member.token), 501, "notImplemented"
        )
        assert "vSphere has no pause" in message and "'suspend' action" in message
        fault(_act(compute_api, str(uuid.uuid4()), {name: None}, member.token), 404, "itemNotFound")
    server = compute_api.get(f"/servers/{server_id}", token=member.token).json()["server"]
    assert server["status"] == "ACTIVE"
    fault(
        _act(compute_api, str(uuid.uuid4()), {"suspend": None}, member.token), 404, "itemNotFound"
    )
