"""`/servers/{id}/os-volume_attachments` through HTTP on the fake vCenter, with the in-memory
volume port standing in for Cinder: an attach reserves the volume, adds its disk to the VM and
completes the attachment; a detach takes the disk off (its file kept); every failure leaves
the volume `available` (or `in-use` for a failed detach) and nothing half-attached; the views
follow the microversion; a server's delete detaches its volumes and deletes the ones marked
`delete_on_termination`."""

from __future__ import annotations

from typing import Any

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import clean_up_servers_fixture, mv, port_fixture, vm_disks
from tests.api.conftest import ComputeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_servers import fault, wait_gone, wait_status
from tests.unit.fake_volume_port import FakeVolumePort
from vistack.common.errors import Conflict
from vistack.drivers.errors import InvalidStateError

member = persona_fixture("compute_api")
env = env_fixture("10.40.0.0/24")
_clean_up_servers = clean_up_servers_fixture()
port = port_fixture()


def attach(
    api: ComputeApi, token: str, server_id: str, volume_id: str, version: str = "2.1", **extra: Any
) -> Any:
    body = {"volumeAttachment": {"volumeId": volume_id, **extra}}
    return api.post(
        f"/servers/{server_id}/os-volume_attachments", token=token, json=body, headers=mv(version)
    )


def test_attach_list_show_and_detach_move_the_disk_and_the_volume_status(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id, 2)
    response = attach(compute_api, token, server_id, volume.id)
    assert response.status_code == 200, response.text
    assert response.json()["volumeAttachment"] == {
        "device": "/dev/sdb",
        "id": volume.id,
        "serverId": server_id,
        "volumeId": volume.id,
    }
    assert port.status(volume.id) == "in-use"
    assert volume.path in vm_disks(compute_api, server_id)
    path = f"/servers/{server_id}/os-volume_attachments"
    listed = compute_api.get(path, token=token).json()["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == [volume.id]
    shown = compute_api.get(f"{path}/{volume.id}", token=token, headers=mv("2.89"))
    assert shown.status_code == 200, shown.text
    view = shown.json()["volumeAttachment"]
    assert set(view) == {
        "device",
        "serverId",
        "volumeId",
        "tag",
        "delete_on_termination",
        "attachment_id",
        "bdm_uuid",
    }
    assert view["attachment_id"] in port.attachments and view["delete_on_termination"] is False
    at_2_79 = compute_api.get(f"{path}/{volume.id}", token=token, headers=mv("2.79")).json()
    assert set(at_2_79["volumeAttachment"]) == {
        "device",
        "id",
        "serverId",
        "volumeId",
        "tag",
        "delete_on_termination",
    }
    server = compute_api.get(f"/servers/{server_id}", token=token, headers=mv("2.3")).json()
    assert server["server"]["os-extended-volumes:volumes_attached"] == [
        {"id": volume.id, "delete_on_termination": False}
    ]
    plain = compute_api.get(f"/servers/{server_id}", token=token).json()["server"]
    assert plain["os-extended-volumes:volumes_attached"] == [{"id": volume.id}]
    gone = compute_api.delete(f"{path}/{volume.id}", token=token)
    assert gone.status_code == 202, gone.text
    assert port.status(volume.id) == "available"
    assert volume.path not in vm_disks(compute_api, server_id)
    assert compute_api.fake.drivers().volumes.disk_exists(str(volume.path))
    assert compute_api.get(path, token=token).json()["volumeAttachments"] == []
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    names = [a["action"] for a in actions["instanceActions"]]
    assert "attach_volume" in names and "detach_volume" in names


def test_a_device_name_is_checked_and_kept_and_the_next_free_one_chosen(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    first, second, third = (port.add(env.member.project_id) for _ in range(3))
    response = attach(compute_api, token, server_id, first.id, device="/dev/sdc")
    assert response.json()["volumeAttachment"]["device"] == "/dev/sdc"
    taken = attach(compute_api, token, server_id, second.id, device="/dev/sdc")
    assert "in use" in fault(taken, 400, "badRequest")
    root = attach(compute_api, token, server_id, second.id, device="/dev/sda")
    fault(root, 400, "badRequest")
    odd = attach(compute_api, token, server_id, second.id, device="/dev/nope")
    assert "invalid" in fault(odd, 400, "badRequest")
    assert attach(compute_api, token, server_id, second.id).json()["volumeAttachment"][
        "device"
    ] == ("/dev/sdb")
    assert attach(compute_api, token, server_id, third.id).json()["volumeAttachment"]["device"] == (
        "/dev/sdd"
    )
    assert port.status(second.id) == port.status(third.id) == "in-use"


def test_refusals_are_novas_and_leave_the_volume_available(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    unknown = attach(compute_api, token, server_id, "8d1e3bb5-0000-4000-8000-000000000001")
    fault(unknown, 404, "itemNotFound")
    no_id = compute_api.post(
        f"/servers/{server_id}/os-volume_attachments",
        token=token,
        json={"volumeAttachment": {}},
    )
    fault(no_id, 400, "badRequest")
    tagged = attach(compute_api, token, server_id, volume.id, "2.49", tag="data")
    assert "Tagged volume attachment is not supported" in fault(tagged, 400, "badRequest")
    early_tag = attach(compute_api, token, server_id, volume.id, "2.48", tag="data")
    fault(early_tag, 400, "badRequest")
    assert attach(compute_api, token, server_id, volume.id).status_code == 200
    again = attach(compute_api, token, server_id, volume.id)
    assert "already attached" in fault(again, 400, "badRequest")
    other = active_server(compute_api, env)
    in_use = attach(compute_api, token, other, volume.id)
    assert "Invalid volume" in fault(in_use, 400, "badRequest")
    stranger = port.add("another-project")
    fault(attach(compute_api, token, server_id, stranger.id), 404, "itemNotFound")
    path = f"/servers/{other}/os-volume_attachments/{volume.id}"
    fault(compute_api.delete(path, token=token), 404, "itemNotFound")
    fault(compute_api.get(path, token=token), 404, "itemNotFound")


def test_a_driver_failure_unreserves_and_attaches_nothing(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    before = vm_disks(compute_api, server_id)
    compute_api.fake.state.fail_next("attach_disk", InvalidStateError("the host said no"))
    failed = attach(compute_api, token, server_id, volume.id)
    assert "the host said no" in fault(failed, 500, "computeFault")
    assert port.status(volume.id) == "available" and not port.attachments_of(server_id)
    assert vm_disks(compute_api, server_id) == before
    listed = compute_api.get(f"/servers/{server_id}/os-volume_attachments", token=token)
    assert listed.json()["volumeAttachments"] == []
    port.fail_next["complete_attach"] = Conflict("Cinder lost its database")
    failed = attach(compute_api, token, server_id, volume.id)
    fault(failed, 409, "conflictingRequest")
    assert port.status(volume.id) == "available"
    assert vm_disks(compute_api, server_id) == before
    assert attach(compute_api, token, server_id, volume.id).status_code == 200


def test_a_failed_detach_keeps_the_volume_in_use(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    assert attach(compute_api, token, server_id, volume.id).status_code == 200
    compute_api.fake.state.fail_next("detach_disk", InvalidStateError("disk busy"))
    path = f"/servers/{server_id}/os-volume_attachments/{volume.id}"
    assert "disk busy" in fault(compute_api.delete(path, token=token), 500, "computeFault")
    assert port.status(volume.id) == "in-use"
    assert volume.path in vm_disks(compute_api, server_id)
    assert compute_api.delete(path, token=token).status_code == 202
    assert port.status(volume.id) == "available"


def test_locked_and_busy_servers_refuse(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    admin = compute_api.admin_token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    action = f"/servers/{server_id}/action"
    assert compute_api.post(action, token=admin, json={"lock": None}).status_code == 202
    assert "locked" in fault(
        attach(compute_api, token, server_id, volume.id), 409, "conflictingRequest"
    )
    assert attach(compute_api, admin, server_id, volume.id).status_code == 200
    assert compute_api.post(action, token=admin, json={"unlock": None}).status_code == 202
    reset = {"os-resetState": {"state": "error"}}
    assert compute_api.post(action, token=admin, json=reset).status_code == 202
    other = port.add(env.member.project_id)
    refused = attach(compute_api, token, server_id, other.id)
    assert "vm_state error" in fault(refused, 409, "conflictingRequest")
    detach = f"/servers/{server_id}/os-volume_attachments/{volume.id}"
    fault(compute_api.delete(detach, token=token), 409, "conflictingRequest")


def test_update_delete_on_termination_from_2_85_and_swap_is_refused(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    other = port.add(env.member.project_id)
    assert (
        attach(
            compute_api, token, server_id, volume.id, "2.79", delete_on_termination=True
        ).status_code
        == 200
    )
    path = f"/servers/{server_id}/os-volume_attachments/{volume.id}"
    body = {"volumeAttachment": {"volumeId": volume.id, "delete_on_termination": False}}
    early = compute_api.put(path, token=token, json=body, headers=mv("2.84"))
    fault(early, 400, "badRequest")
    done = compute_api.put(path, token=token, json=body, headers=mv("2.85"))
    assert done.status_code == 202, done.text
    shown = compute_api.get(path, token=token, headers=mv("2.85")).json()["volumeAttachment"]
    assert shown["delete_on_termination"] is False
    changed = {"volumeAttachment": {"volumeId": volume.id, "device": "/dev/sdz"}}
    fault(compute_api.put(path, token=token, json=changed, headers=mv("2.85")), 400, "badRequest")
    swap = {"volumeAttachment": {"volumeId": other.id}}
    fault(compute_api.put(path, token=token, json=swap), 403, "forbidden")
    admin = compute_api.admin_token
    refused = compute_api.put(path, token=admin, json=swap)  # no migration: Nova's 409
    assert "not supported" in fault(refused, 409, "conflictingRequest")
    assert port.status(volume.id) == "in-use" and port.status(other.id) == "available"


def test_server_delete_detaches_and_deletes_what_was_asked(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    kept = port.add(env.member.project_id)
    doomed = port.add(env.member.project_id)
    assert attach(compute_api, token, server_id, kept.id).status_code == 200
    response = attach(compute_api, token, server_id, doomed.id, "2.79", delete_on_termination=True)
    assert response.status_code == 200, response.text
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert port.status(kept.id) == "available"
    assert compute_api.fake.drivers().volumes.disk_exists(str(kept.path))
    assert doomed.id not in port.volumes
    assert not compute_api.fake.drivers().volumes.disk_exists(str(doomed.path))


def test_a_volume_that_cannot_come_off_keeps_the_vm_and_the_server_in_error(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    volume = port.add(env.member.project_id)
    assert attach(compute_api, token, server_id, volume.id).status_code == 200
    compute_api.fake.state.fail_next("detach_disk", InvalidStateError("disk busy"))
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    server = wait_status(compute_api, server_id, token, "ERROR")
    assert server["fault"]["message"]
    assert compute_api.fake.drivers().volumes.disk_exists(str(volume.path))
    assert volume.path in vm_disks(compute_api, server_id)
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert port.status(volume.id) == "available"


def test_without_a_block_storage_service_every_call_says_so(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    link = compute_api.cloud.compute.volumes
    assert link is not None
    link.connect(None)
    try:
        refused = attach(compute_api, token, server_id, "8d1e3bb5-0000-4000-8000-000000000002")
        assert "block storage service" in fault(refused, 503, "serviceUnavailable")
        listed = compute_api.get(f"/servers/{server_id}/os-volume_attachments", token=token)
        assert listed.status_code == 200 and listed.json()["volumeAttachments"] == []
    finally:
        link.connect(port)


def test_volumes_stay_attached_through_shelve_offload_unshelve_and_rebuild(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    first = port.add(env.member.project_id)
    assert attach(compute_api, token, server_id, first.id).status_code == 200
    action = f"/servers/{server_id}/action"
    assert compute_api.post(action, token=token, json={"shelve": None}).status_code == 202
    wait_status(compute_api, server_id, token, "SHELVED_OFFLOADED")
    vms = {vm.instance_uuid for vm in compute_api.fake.drivers().compute.list_vms()}
    assert server_id not in vms
    assert port.status(first.id) == "in-use"
    assert compute_api.fake.drivers().volumes.disk_exists(str(first.path))
    second = port.add(env.member.project_id)
    offloaded = attach(compute_api, token, server_id, second.id)
    assert offloaded.status_code == 200, offloaded.text
    assert port.status(second.id) == "in-use"
    assert compute_api.post(action, token=token, json={"unshelve": None}).status_code == 202
    wait_status(compute_api, server_id, token, "ACTIVE")
    disks = vm_disks(compute_api, server_id)
    assert first.path in disks and second.path in disks and len(disks) == 3
    rebuild = {"rebuild": {"imageRef": env.image_id}}
    assert compute_api.post(action, token=token, json=rebuild).status_code == 202
    wait_status(compute_api, server_id, token, "ACTIVE")
    disks = vm_disks(compute_api, server_id)
    assert first.path in disks and second.path in disks and len(disks) == 3
    path = f"/servers/{server_id}/os-volume_attachments/{second.id}"
    assert compute_api.delete(path, token=token).status_code == 202
    assert port.status(second.id) == "available"


def test_multiattach_volumes_attach_to_several_servers_from_2_60(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    server_id = active_server(compute_api, env)
    other = active_server(compute_api, env)
    shared = port.add(env.member.project_id, multiattach=True)
    early = attach(compute_api, token, server_id, shared.id, "2.59")
    assert "2.60" in fault(early, 400, "badRequest")
    assert attach(compute_api, token, server_id, shared.id, "2.60").status_code == 200
    second = attach(compute_api, token, other, shared.id, "2.60")
    assert second.status_code == 200, second.text
    assert [a.server_id for a in port.attachments_of(other)] == [other]
    disks = compute_api.fake.state.disks
    assert disks[str(shared.path)].shared  # multi-writer on both VMs
