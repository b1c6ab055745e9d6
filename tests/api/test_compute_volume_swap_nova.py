"""Nova's side of swap volume through HTTP on the fake vCenter, with the in-memory volume port
standing in for Cinder (which marks the pair as its migration): the admin PUT swaps the disk on
the VM (the new volume `in-use` at the same device, the old one `available`, the mapping on
the new volume, instance action `swap_volume`); a multiattach volume on two servers is
Nova's 400; a driver failure is a 500 that leaves the old disk on the VM, the old volume
`in-use`, the new one `available` and no attachment behind; a failure after the disks changed
puts the old disk back."""

from __future__ import annotations

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import clean_up_servers_fixture, mv, port_fixture, vm_disks
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_servers import fault
from tests.unit.fake_volume_port import FakeVolumePort
from vistack.common.errors import ServiceUnavailable
from vistack.compute.domain.volume_port import VolumeFacts
from vistack.drivers.errors import NoCapacityError

pytestmark = COMPUTE_ON_SQLITE_ONLY

member = persona_fixture("compute_api")
env = env_fixture("10.50.0.0/24")
_clean_up_servers = clean_up_servers_fixture()
port = port_fixture()


def attached_pair(
    api: ComputeApi, env: Env, port: FakeVolumePort, *, multiattach: bool = False
) -> tuple[str, VolumeFacts, VolumeFacts]:
    """A server with a volume attached, and the volume Cinder migrates it onto."""
    server_id = active_server(api, env)
    old = port.add(env.member.project_id, multiattach=multiattach)
    new = port.add(env.member.project_id, multiattach=multiattach)
    body = {"volumeAttachment": {"volumeId": old.id}}
    path = f"/servers/{server_id}/os-volume_attachments"
    response = api.post(path, token=env.member.token, json=body, headers=mv("2.60"))
    assert response.status_code == 200, response.text
    with port._lock:
        port._set(port.volumes[old.id], migration_status="migrating")
        port._set(port.volumes[new.id], migration_status=f"target:{old.id}")
    return server_id, old, new


def swap(api: ComputeApi, server_id: str, old_id: str, new_id: str) -> object:
    url = f"/servers/{server_id}/os-volume_attachments/{old_id}"
    body = {"volumeAttachment": {"volumeId": new_id}}
    return api.put(url, token=api.admin_token, json=body)


def test_a_migration_swap_moves_the_server_onto_the_new_volume(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    server_id, old, new = attached_pair(compute_api, env, port)
    disks = compute_api.fake.state.disks
    disks[str(old.path)].data = b"copied"
    response = swap(compute_api, server_id, old.id, new.id)
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert port.status(old.id) == "available" and port.status(new.id) == "in-use"
    on_vm = vm_disks(compute_api, server_id)
    assert new.path in on_vm and old.path not in on_vm
    assert disks[str(new.path)].data == b"copied"
    url = f"/servers/{server_id}/os-volume_attachments"
    listed = compute_api.get(url, token=env.member.token).json()["volumeAttachments"]
    assert [(a["volumeId"], a["device"]) for a in listed] == [(new.id, "/dev/sdb")]
    assert [a.volume_id for a in port.attachments.values() if a.server_id == server_id] == [new.id]
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=env.member.token)
    assert "swap_volume" in [a["action"] for a in actions.json()["instanceActions"]]


def test_failures_leave_the_old_volume_on_the_server(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    server_id, old, new = attached_pair(compute_api, env, port)
    state = compute_api.fake.state

    def unchanged() -> None:
        assert port.status(old.id) == "in-use" and port.status(new.id) == "available"
        on_vm = vm_disks(compute_api, server_id)
        assert old.path in on_vm and new.path not in on_vm
        assert [a.volume_id for a in port.attachments.values() if a.server_id == server_id] == [
            old.id
        ]

    state.fail_next("swap_disk", NoCapacityError("datastore full"))
    refused = swap(compute_api, server_id, old.id, new.id)
    assert "datastore full" in fault(refused, 500, "computeFault")
    unchanged()
    # Cinder fails after the disks changed: the old disk goes back on the VM.
    port.fail_next["complete_attach"] = ServiceUnavailable("cinder is down")
    failed = swap(compute_api, server_id, old.id, new.id)
    assert failed.status_code >= 500  # type: ignore[attr-defined]
    unchanged()
    # A smaller new volume is Nova's 400.
    small = port.add(env.member.project_id, 0)
    with port._lock:
        port._set(port.volumes[small.id], migration_status=f"target:{old.id}")
    fault(swap(compute_api, server_id, old.id, small.id), 400, "badRequest")
    unchanged()


def test_a_multiattach_volume_on_two_servers_is_not_swapped(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    server_id, old, new = attached_pair(compute_api, env, port, multiattach=True)
    other = active_server(compute_api, env)
    body = {"volumeAttachment": {"volumeId": old.id}}
    path = f"/servers/{other}/os-volume_attachments"
    response = compute_api.post(path, token=env.member.token, json=body, headers=mv("2.60"))
    assert response.status_code == 200, response.text
    refused = swap(compute_api, server_id, old.id, new.id)
    assert "multi-attach" in fault(refused, 400, "badRequest")
    assert port.status(new.id) == "available"
