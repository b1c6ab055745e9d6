"""The small server actions through HTTP on the fake vCenter: os-resetState,
injectNetworkInfo, resetNetwork (gone), restore and forceDelete (no soft delete here),
evacuate (vSphere HA's job), changePassword and trigger_crash_dump (what vSphere cannot do),
and the events the build, power and delete jobs record on their actions."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.compute_env import Env, active_server, make_env
from tests.api.conftest import ComputeApi, NetworkApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import ADMIN, fault, wait_gone, wait_status
from vistack.compute.api.microversion import MAX_VERSION

member = persona_fixture("compute_api")


class _V:
    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version

    def at_least(self, version: str) -> bool:
        major, minor = version.split(".")
        return self.version >= (int(major), int(minor))


@pytest.fixture(scope="module")
def env(compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), "10.60.0.0/24")


def closed_events(api: ComputeApi, server_id: str, request_id: str) -> list[dict[str, Any]]:
    """The action's events once each is closed (a server shows ACTIVE a moment before its
    build's event is, as in Nova)."""
    subresources = api.cloud.compute.subresources
    assert subresources is not None
    deadline = time.monotonic() + 10
    while True:
        shown = subresources.events.events(ADMIN, server_id, request_id, _V((2, 1))) or []
        if all(e["result"] is not None for e in shown) or time.monotonic() > deadline:
            return shown
        time.sleep(0.02)


def act(api: ComputeApi, server_id: str, body: Any, token: str | None = None) -> Any:
    return api.post(f"/servers/{server_id}/action", token=token, json=body)


def test_reset_state_is_an_admins_repair(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    body = {"os-resetState": {"state": "error"}}
    fault(act(compute_api, server_id, body, env.member.token), 403, "forbidden")
    assert act(compute_api, server_id, body).status_code == 202
    server = wait_status(compute_api, server_id, env.member.token, "ERROR")
    assert server["OS-EXT-STS:task_state"] is None
    assert act(compute_api, server_id, {"os-resetState": {"state": "active"}}).status_code == 202
    wait_status(compute_api, server_id, env.member.token, "ACTIVE")
    fault(act(compute_api, server_id, {"os-resetState": {"state": "paused"}}), 400, "badRequest")
    fault(act(compute_api, server_id, {"os-resetState": {}}), 400, "badRequest")
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"][:2]] == ["reset_state"] * 2


def test_inject_network_info_refreshes_the_addresses_from_neutron(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    networks = compute_api.other(NetworkApi)
    (port,) = networks.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    subnet_id = port["fixed_ips"][0]["subnet_id"]
    moved = {"port": {"fixed_ips": [{"subnet_id": subnet_id, "ip_address": "10.60.0.200"}]}}
    assert networks.put(f"/v2.0/ports/{port['id']}", json=moved).status_code == 200
    before = compute_api.get(f"/servers/{server_id}").json()["server"]["addresses"]
    assert before[env.network["name"]][0]["addr"] == port["fixed_ips"][0]["ip_address"]
    fault(
        act(compute_api, server_id, {"injectNetworkInfo": None}, env.member.token), 403, "forbidden"
    )
    assert act(compute_api, server_id, {"injectNetworkInfo": None}).status_code == 202
    after = compute_api.get(f"/servers/{server_id}").json()["server"]["addresses"]
    (address,) = after[env.network["name"]]
    assert address["addr"] == "10.60.0.200"
    assert address["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]
    gone = act(compute_api, server_id, {"resetNetwork": None})
    assert gone.status_code == 410 and list(gone.json()) == ["computeFault"]


def test_no_soft_delete_restore_refuses_and_force_delete_deletes(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    token = env.member.token
    restore = act(compute_api, server_id, {"restore": None}, token)
    assert fault(restore, 409, "conflictingRequest") == (
        f"Cannot 'restore' instance {server_id} while it is in vm_state active"
    )
    assert act(compute_api, server_id, {"lock": None}).status_code == 202  # the admin's lock
    locked = act(compute_api, server_id, {"forceDelete": None}, token)
    assert fault(locked, 409, "conflictingRequest") == f"Instance {server_id} is locked"
    assert act(compute_api, server_id, {"unlock": None}).status_code == 202
    assert act(compute_api, server_id, {"forceDelete": None}, token).status_code == 202
    wait_gone(compute_api, server_id, token)
    assert server_id not in compute_api.fake.state.vms


def test_evacuate_is_vsphere_has_and_refused_as_nova_refuses_a_live_host(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    cluster = compute_api.get(f"/servers/{server_id}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    body = {"evacuate": {"onSharedStorage": False}}
    fault(act(compute_api, server_id, body, env.member.token), 403, "forbidden")
    refused = act(compute_api, server_id, body)
    assert fault(refused, 400, "badRequest") == f"Compute service of {cluster} is still in use."
    fault(act(compute_api, server_id, {"evacuate": {}}), 400, "badRequest")  # onSharedStorage
    unknown = act(
        compute_api, server_id, {"evacuate": {"host": "nowhere", "onSharedStorage": False}}
    )
    assert fault(unknown, 404, "itemNotFound") == "Compute host nowhere not found."
    same = act(compute_api, server_id, {"evacuate": {"host": cluster, "onSharedStorage": False}})
    assert fault(same, 400, "badRequest") == "The target host can't be the same one."


def test_what_vsphere_cannot_do_is_refused(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    token = env.member.token
    password = act(compute_api, server_id, {"changePassword": {"adminPass": "s3cret"}}, token)
    assert fault(password, 501, "notImplemented") == "Unable to set password on instance"
    fault(act(compute_api, server_id, {"changePassword": {}}, token), 400, "badRequest")
    # trigger_crash_dump is 2.17's: below it there is no such action.
    fault(act(compute_api, server_id, {"trigger_crash_dump": None}, token), 404, "itemNotFound")
    assert act(compute_api, server_id, {"os-stop": None}, token).status_code == 202
    wait_status(compute_api, server_id, token, "SHUTOFF")
    stopped = act(compute_api, server_id, {"changePassword": {"adminPass": "s3cret"}}, token)
    assert fault(stopped, 409, "conflictingRequest") == (
        f"Cannot 'changePassword' instance {server_id} while it is in vm_state stopped"
    )
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    recorded = {(a["action"], a["message"]) for a in actions["instanceActions"]}
    assert ("changePassword", None) in recorded


@pytest.mark.skipif(MAX_VERSION < (2, 17), reason="microversion 2.17 not served yet")
def test_trigger_crash_dump_at_2_17(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    response = compute_api.post(
        f"/servers/{server_id}/action",
        token=env.member.token,
        json={"trigger_crash_dump": None},
        headers={"OpenStack-API-Version": "compute 2.17"},
    )
    assert fault(response, 400, "badRequest") == "Triggering crash dump is not supported"


def test_jobs_record_their_events(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    token = env.member.token
    assert act(compute_api, server_id, {"os-stop": None}, token).status_code == 202
    wait_status(compute_api, server_id, token, "SHUTOFF")
    subresources = compute_api.cloud.compute.subresources
    assert subresources is not None
    events = subresources.events
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    by_name = {a["action"]: a["request_id"] for a in actions["instanceActions"]}
    (build,) = closed_events(compute_api, server_id, by_name["create"])
    assert (build["event"], build["result"], build["traceback"]) == (
        "compute__do_build_and_run_instance",
        "Success",
        None,
    )
    assert build["start_time"] <= build["finish_time"]
    (stop,) = events.events(ADMIN, server_id, by_name["stop"], _V((2, 1))) or []
    assert (stop["event"], stop["result"]) == ("compute_stop_instance", "Success")
    deleted = compute_api.delete(f"/servers/{server_id}", token=token)
    assert deleted.status_code == 204
    wait_gone(compute_api, server_id, token)
    delete_request = deleted.headers["x-openstack-request-id"]
    (terminate,) = events.events(ADMIN, server_id, delete_request, _V((2, 1))) or []
    assert (terminate["event"], terminate["result"]) == ("compute_terminate_instance", "Success")


def test_failed_steps_show_their_traceback_to_an_admin_only(
    compute_api: ComputeApi, env: Env
) -> None:
    from vistack.common.context import RequestContext
    from vistack.drivers.errors import NoCapacityError

    compute_api.fake.fail_next("create_vm", NoCapacityError("datastore ds1 is full"))
    server_id = active_server_error(compute_api, env)
    subresources = compute_api.cloud.compute.subresources
    assert subresources is not None
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions").json()
    create = actions["instanceActions"][-1]["request_id"]
    (event,) = subresources.events.events(ADMIN, server_id, create, _V((2, 1))) or []
    assert event["result"] == "Error" and "datastore ds1 is full" in event["traceback"]
    owner = RequestContext(
        request_id="req-owner",
        user_id=env.member.user_id,
        project_id=env.member.project_id,
        roles=("member", "reader"),
    )
    assert subresources.events.events(owner, server_id, create, _V((2, 1))) is None
    (seen,) = subresources.events.events(owner, server_id, create, _V((2, 51))) or []
    assert seen["result"] == "Error" and "traceback" not in seen


def active_server_error(api: ComputeApi, env: Env) -> str:
    from tests.api.test_compute_servers import boot

    server_id = boot(api, env.member, env.image_id, env.network["id"])
    wait_status(api, server_id, env.member.token, "ERROR")
    return server_id


def test_the_action_show_endpoint_carries_the_events(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    path = f"/servers/{server_id}/os-instance-actions"
    create = compute_api.get(path).json()["instanceActions"][-1]["request_id"]
    # The server shows ACTIVE a moment before its build's event is closed (as in Nova).
    deadline = time.monotonic() + 10
    while True:
        shown = compute_api.get(f"{path}/{create}").json()["instanceAction"]
        (event,) = shown["events"]
        if event["result"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert (event["event"], event["result"]) == ("compute__do_build_and_run_instance", "Success")
    assert "traceback" in event  # an administrator's view
    owner = compute_api.get(f"{path}/{create}", token=env.member.token).json()["instanceAction"]
    assert "events" not in owner  # a non-administrator before 2.51
