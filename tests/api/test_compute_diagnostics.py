"""`GET /servers/{id}/diagnostics` through HTTP on the fake vCenter: an administrator's,
free-form (`vmware:` figures) before 2.48 and Nova's standard format from 2.48, refused for a
VM that is not running."""

from __future__ import annotations

import pytest

from tests.api.compute_env import Env, active_server, make_env
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import ADMIN, fault, wait_status
from vistack.compute.api.microversion import MAX_VERSION

member = persona_fixture("compute_api")


@pytest.fixture(scope="module")
def env(compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), "10.40.0.0/24")


def test_diagnostics_are_vcenters_figures_for_an_admin_only(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    path = f"/servers/{server_id}/diagnostics"
    fault(compute_api.get(path, token=env.member.token), 403, "forbidden")
    response = compute_api.get(path)
    assert response.status_code == 200, response.text
    figures = response.json()
    assert all(key.startswith("vmware:") for key in figures)
    assert figures["vmware:powerState"] == "poweredOn"
    assert figures["vmware:numCpu"] == 1 and figures["vmware:memorySizeMB"] == 512
    assert figures["vmware:instanceUuid"] == server_id
    fault(
        compute_api.get("/servers/8d9c9e43-7b55-4d8e-9b0f-4f3a8e0d1c22/diagnostics"),
        404,
        "itemNotFound",
    )


def test_a_stopped_server_has_no_diagnostics(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    action = f"/servers/{server_id}/action"
    assert (
        compute_api.post(action, token=env.member.token, json={"os-stop": None}).status_code == 202
    )
    wait_status(compute_api, server_id, env.member.token, "SHUTOFF")
    refused = compute_api.get(f"/servers/{server_id}/diagnostics")
    assert fault(refused, 409, "conflictingRequest") == (
        f"Cannot 'get_diagnostics' instance {server_id} while it is in power_state shutdown"
    )


@pytest.mark.skipif(MAX_VERSION < (2, 48), reason="microversion 2.48 not served yet")
def test_the_standard_format_from_2_48(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    response = compute_api.get(
        f"/servers/{server_id}/diagnostics", headers={"OpenStack-API-Version": "compute 2.48"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    server = compute_api.get(f"/servers/{server_id}").json()["server"]
    assert (body["state"], body["driver"]) == ("running", "vmwareapi")
    assert body["config_drive"] is bool(server["config_drive"])
    assert body["num_cpus"] == len(body["cpu_details"]) == 1
    assert body["num_nics"] == 1 and body["nic_details"][0]["mac_address"] == vm.nics[0].mac
    assert body["num_disks"] == len(vm.disks) == len(body["disk_details"])
    assert body["memory_details"] == {"maximum": 512, "used": None}
    assert set(body) == {
        "state",
        "driver",
        "hypervisor",
        "hypervisor_os",
        "uptime",
        "config_drive",
        "num_cpus",
        "num_nics",
        "num_disks",
        "cpu_details",
        "nic_details",
        "disk_details",
        "memory_details",
    }


def test_the_standard_format_as_the_domain_answers_it(compute_api: ComputeApi, env: Env) -> None:
    """The 2.48 view, checked on the service while the API serves lower microversions."""
    server_id = active_server(compute_api, env)
    subresources = compute_api.cloud.compute.subresources
    assert subresources is not None
    body = subresources.diagnostics.standard(ADMIN, server_id)
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert (body["state"], body["driver"], body["hypervisor_os"]) == (
        "running",
        "vmwareapi",
        "esxi",
    )
    assert body["cpu_details"] == [{"id": 0, "time": None, "utilisation": None}]
    (nic,) = body["nic_details"]
    assert nic["mac_address"] == vm.nics[0].mac and nic["rx_octets"] is None
    assert body["memory_details"] == {"maximum": 512, "used": None}
    assert body["num_disks"] == len(vm.disks)
