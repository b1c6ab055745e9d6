"""shelve, shelveOffload and unshelve through HTTP on the fake vCenter: the `<name>-shelved`
snapshot, SHELVED then (offload time 0) SHELVED_OFFLOADED with no VM and no host but the same
port, unshelve onto a new VM with the same MAC that deletes the shelved image, a shelved
server's delete (no VM) that takes its image along, and the refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import (
    boot,
    fault,
    make_network,
    ports_of,
    wait_gone,
    wait_status,
)
from tests.api.test_compute_snapshots import (
    action,
    image_of,
    needs_microversion,
    set_row,
    upload_vmdk,
    wait_image_gone,
)
from vistack.compute.db import servers as queries
from vistack.compute.domain.work import owner_context
from vistack.drivers.errors import NoCapacityError, NotFoundError
from vistack.drivers.models import PowerState

member = persona_fixture("compute_api")


@pytest.fixture(scope="module")
def image_id(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    return upload_vmdk(compute_api, tmp_path_factory.mktemp("vmdk"))


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.50.0.0/24")


@pytest.fixture
def keep_vm(compute_api: ComputeApi) -> Iterator[None]:
    """Shelved servers keep their VM for the test (`shelved_offload_time` -1)."""
    shelving = compute_api.cloud.compute.disk
    assert shelving is not None
    service = shelving.shelving
    saved = service._offload_seconds
    service._offload_seconds = -1
    try:
        yield
    finally:
        service._offload_seconds = saved


def shelved_image(api: ComputeApi, server_id: str) -> str:
    with api.cloud.compute.servers._store.transaction() as unit:
        row = queries.get(unit, server_id)
        assert row is not None
        return str((row.system_metadata or {})["shelve"]["image_id"])


def test_shelve_offloads_and_unshelve_brings_it_back(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    before = wait_status(compute_api, server_id, member.token, "ACTIVE")
    (port,) = ports_of(compute_api, server_id)
    compute = compute_api.fake.drivers().compute
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    server = wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")
    assert server["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    admin = compute_api.get(f"/servers/{server_id}").json()["server"]
    assert admin["OS-EXT-SRV-ATTR:host"] is None
    with pytest.raises(NotFoundError):
        compute.get_vm(server_id)
    assert [p["id"] for p in ports_of(compute_api, server_id)] == [port["id"]]
    snapshot = image_of(compute_api, shelved_image(compute_api, server_id), member.token).json()
    assert snapshot["name"] == f"{before['name']}-shelved" and snapshot["status"] == "active"
    assert snapshot["image_type"] == "snapshot" and snapshot["instance_uuid"] == server_id
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    assert "shelve" in [a["action"] for a in actions.json()["instanceActions"]]

    assert action(compute_api, server_id, member.token, {"unshelve": None}).status_code == 202
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert server["addresses"] == before["addresses"]
    vm = compute.get_vm(server_id)
    assert vm.power_state == PowerState.ON
    (nic,) = vm.nics
    assert nic.mac == port["mac_address"]
    wait_image_gone(compute_api, snapshot["id"], member.token)
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    assert "unshelve" in [a["action"] for a in actions.json()["instanceActions"]]


def test_shelved_keeps_its_vm_until_offloaded(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    keep_vm: None,
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    compute = compute_api.fake.drivers().compute
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED")
    assert compute.get_vm(server_id).power_state == PowerState.OFF
    # Unshelving a SHELVED server powers its own VM on again.
    vm_id = compute.get_vm(server_id).id
    assert action(compute_api, server_id, member.token, {"unshelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert compute.get_vm(server_id).id == vm_id
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED")
    # shelveOffload is the administrator's.
    refused = action(compute_api, server_id, member.token, {"shelveOffload": None})
    fault(refused, 403, "forbidden")
    offload = action(compute_api, server_id, compute_api.admin_token, {"shelveOffload": None})
    assert offload.status_code == 202, offload.text
    wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")
    with pytest.raises(NotFoundError):
        compute.get_vm(server_id)
    # Deleting an offloaded server (no VM) works, and its shelved image goes with it.
    image = shelved_image(compute_api, server_id)
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
    wait_image_gone(compute_api, image, member.token)


def test_refusals(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    message = fault(
        action(compute_api, server_id, member.token, {"unshelve": None}),
        409,
        "conflictingRequest",
    )
    assert "vm_state active" in message
    fault(
        action(compute_api, server_id, compute_api.admin_token, {"shelveOffload": None}),
        409,
        "conflictingRequest",
    )
    zone = {"unshelve": {"availability_zone": "nova"}}
    fault(action(compute_api, server_id, member.token, zone), 400, "badRequest")  # 2.77 only
    assert action(compute_api, server_id, compute_api.admin_token, {"lock": None}).status_code
    try:
        shelve = action(compute_api, server_id, member.token, {"shelve": None})
        assert "locked" in fault(shelve, 409, "conflictingRequest")
    finally:
        action(compute_api, server_id, compute_api.admin_token, {"unlock": None})


def test_a_failed_unshelve_stays_offloaded(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")
    image = shelved_image(compute_api, server_id)
    fake = compute_api.fake
    fake.state.fail_next("power_on", NoCapacityError("cluster has no memory"))
    assert action(compute_api, server_id, member.token, {"unshelve": None}).status_code == 202
    deadline = time.monotonic() + 20
    while True:
        server = compute_api.get(f"/servers/{server_id}", token=member.token).json()["server"]
        if server["OS-EXT-STS:task_state"] is None:
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert server["status"] == "SHELVED_OFFLOADED"
    with pytest.raises(NotFoundError):
        fake.drivers().compute.get_vm(server_id)  # the VM it made is gone again
    assert image_of(compute_api, image, member.token).status_code == 200
    assert action(compute_api, server_id, member.token, {"unshelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_a_restart_undoes_a_shelve_and_finishes_an_offload(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    keep_vm: None,
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    owner = owner_context(member.project_id, member.user_id)
    server = compute_api.cloud.compute.servers.get(owner, server_id)
    image = disk.snapshots.make_image(owner, server, "cut-shelved", "snapshot", {})
    set_row(
        compute_api,
        server_id,
        task_state="shelving_image_pending_upload",
        system_metadata={"shelve": {"image_id": image.id}},
    )
    disk.shelving.start()
    server_view = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert server_view["OS-EXT-STS:task_state"] is None
    assert image_of(compute_api, image.id, member.token).status_code == 404
    # An offload cut off is done again.
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED")
    set_row(compute_api, server_id, task_state="shelving_offloading")
    disk.shelving.start()
    wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")
    with pytest.raises(NotFoundError):
        compute_api.fake.drivers().compute.get_vm(server_id)
    # An unshelve cut off (maybe after its VM was made) is done again.
    set_row(compute_api, server_id, task_state="unshelving")
    disk.shelving.start()
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert compute_api.fake.drivers().compute.get_vm(server_id).power_state == PowerState.ON


def test_the_periodic_offload_takes_servers_shelved_long_enough(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    keep_vm: None,
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED")
    disk = compute_api.cloud.compute.disk
    assert disk is not None
    service = disk.shelving
    service._offload_seconds = 3600
    assert server_id not in service.offload_due()
    service._offload_seconds = 0.001
    time.sleep(0.01)
    assert server_id in service.offload_due()
    wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")


def test_unshelve_into_a_zone_at_2_77(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    needs_microversion(compute_api, "2.77")
    v277 = {"OpenStack-API-Version": "compute 2.77"}
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHELVED_OFFLOADED")
    unknown = {"unshelve": {"availability_zone": "no-such-zone"}}
    fault(action(compute_api, server_id, member.token, unknown, headers=v277), 400, "badRequest")
    body = {"unshelve": {"availability_zone": "nova"}}
    response = action(compute_api, server_id, member.token, body, headers=v277)
    assert response.status_code == 202, response.text
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    assert server["OS-EXT-AZ:availability_zone"] == "nova"


def test_deleting_the_server_during_a_shelve_leaves_no_image(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    fake = compute_api.fake
    fake.state.latency = 0.05
    try:
        assert action(compute_api, server_id, member.token, {"shelve": None}).status_code == 202
        image = shelved_image(compute_api, server_id)
        assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    finally:
        fake.state.latency = 0.0
    wait_gone(compute_api, server_id, member.token)
    wait_image_gone(compute_api, image, member.token)
    assert not [f for f in fake.state.files if image in f[1]]
