"""Remote consoles through HTTP on the fake vCenter: a vSphere VM's console is its WebMKS
console (a one-time ticket vCenter hands out); VNC, SPICE, RDP and serial consoles are refused
as Nova refuses a console type its compute service does not offer, and a vCenter without
tickets (stock vcsim) is a 501 saying so."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compute_env import Env, active_server, make_env
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import ADMIN, fault, wait_status
from vistack.common.errors import Conflict, NotImplementedByBackend
from vistack.compute.api.microversion import MAX_VERSION
from vistack.drivers.errors import UnsupportedError

member = persona_fixture("compute_api")
MISSING = "0b7f0a7e-5a43-4d6e-8a1c-0f5d2d1c9e33"


@pytest.fixture(scope="module")
def env(compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), "10.50.0.0/24")


def test_the_legacy_console_actions_refuse_what_vsphere_does_not_offer(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    action = f"/servers/{server_id}/action"

    for name, kind in (
        ("os-getVNCConsole", "novnc"),
        ("os-getSPICEConsole", "spice-html5"),
        ("os-getRDPConsole", "rdp-html5"),
        ("os-getSerialConsole", "serial"),
    ):
        refused = compute_api.post(action, token=env.member.token, json={name: {"type": kind}})
        assert fault(refused, 400, "badRequest") == f"Unavailable console type {kind}."
    wrong = compute_api.post(
        action, token=env.member.token, json={"os-getVNCConsole": {"type": "x"}}
    )
    assert "is not one of" in fault(wrong, 400, "badRequest")
    missing = compute_api.post(
        f"/servers/{MISSING}/action",
        token=env.member.token,
        json={"os-getVNCConsole": {"type": "novnc"}},
    )
    fault(missing, 404, "itemNotFound")
    # remote-consoles is 2.6's: below it the resource does not exist.
    body = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
    older = compute_api.post(
        f"/servers/{server_id}/remote-consoles", token=env.member.token, json=body
    )
    fault(older, 404, "itemNotFound")


def test_the_webmks_ticket_is_the_console(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    subresources = compute_api.cloud.compute.subresources
    assert subresources is not None
    consoles = subresources.consoles
    url = consoles.console_url(ADMIN, server_id, "mks", "webmks")
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert url.startswith(f"wss://{vm.host}:443/ticket/") and len(url.rsplit("/", 1)[1]) == 32
    assert consoles.console_url(ADMIN, server_id, "mks", "webmks") != url  # one-time tickets
    compute_api.fake.fail_next("acquire_console_ticket", UnsupportedError("MethodNotFound"))
    with pytest.raises(NotImplementedByBackend, match="cannot hand out console tickets"):
        consoles.console_url(ADMIN, server_id, "mks", "webmks")
    action = f"/servers/{server_id}/action"
    assert (
        compute_api.post(action, token=env.member.token, json={"os-stop": None}).status_code == 202
    )
    wait_status(compute_api, server_id, env.member.token, "SHUTOFF")
    with pytest.raises(Conflict, match="not running"):
        consoles.console_url(ADMIN, server_id, "mks", "webmks")


@pytest.mark.skipif(MAX_VERSION < (2, 8), reason="microversion 2.8 not served yet")
def test_remote_consoles_at_2_8(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    path = f"/servers/{server_id}/remote-consoles"
    headers = {"OpenStack-API-Version": "compute 2.8"}

    def ask(protocol: str, kind: str) -> Any:
        body = {"remote_console": {"protocol": protocol, "type": kind}}
        return compute_api.post(path, token=env.member.token, json=body, headers=headers)

    response = ask("mks", "webmks")
    assert response.status_code == 200, response.text
    console = response.json()["remote_console"]
    assert (console["protocol"], console["type"]) == ("mks", "webmks")
    assert console["url"].startswith("wss://")
    assert fault(ask("vnc", "novnc"), 400, "badRequest") == "Unavailable console type novnc."
    assert fault(ask("mks", "novnc"), 400, "badRequest") == "Invalid console type novnc"
    compute_api.fake.fail_next("acquire_console_ticket", UnsupportedError("MethodNotFound"))
    assert "cannot hand out console tickets" in fault(ask("mks", "webmks"), 501, "notImplemented")


def test_the_console_log_is_the_tail_of_the_vms_serial_port_file(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    action = f"/servers/{server_id}/action"

    def output(argument: Any) -> Any:
        body = {"os-getConsoleOutput": argument}
        return compute_api.post(action, token=env.member.token, json=body)

    assert output({}).json() == {"output": ""}  # nothing written yet
    vm = compute_api.fake.state.vms[server_id]
    assert vm.serial_log is not None and vm.serial_log.endswith("/serial.log")
    lines = [f"line {n}" for n in range(30)]
    compute_api.fake.write_file(vm.serial_log, ("\n".join(lines) + "\x07\x1b[0m\n").encode())
    whole = output({"length": None}).json()["output"]
    assert whole == "\n".join(lines) + "[0m\n"  # control characters removed
    assert output({"length": -1}).json()["output"] == whole
    assert output(None).json()["output"] == whole
    # Nova's count: the empty "line" after the final newline is one of them.
    assert output({"length": 3}).json()["output"] == "line 28\nline 29[0m\n"
    assert output({"length": "4"}).json()["output"] == "line 27\nline 28\nline 29[0m\n"
    assert output({"length": 0}).json()["output"] == ""
    for bad in (-2, "x", 1.5, True, "-3"):
        assert "length" in fault(output({"length": bad}), 400, "badRequest")
    assert "unexpected" in fault(output({"lines": 3}), 400, "badRequest")
    missing = compute_api.post(
        f"/servers/{MISSING}/action", token=env.member.token, json={"os-getConsoleOutput": {}}
    )
    fault(missing, 404, "itemNotFound")


def test_a_vm_without_a_serial_port_has_no_console_log(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    compute_api.fake.state.vms[server_id].serial_log = None  # built before the port existed
    refused = compute_api.post(
        f"/servers/{server_id}/action",
        token=env.member.token,
        json={"os-getConsoleOutput": {"length": 5}},
    )
    assert "serial port" in fault(refused, 404, "itemNotFound")
