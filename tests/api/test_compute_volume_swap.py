"""Nova's swap volume and Cinder's moves of attached volumes, through HTTP on the fake vCenter
with the cloud's own block storage service behind Nova: a direct swap PUT is Nova's 403/404/
400/409 (only a migration Cinder drives may swap, as upstream since OSSN-0094); a retype with
`migration_policy: on-demand` and `os-migrate_volume` of an in-use volume swap the server onto
a disk on the new datastore (data kept, same volume id and device, old disk gone, instance
action `swap_volume`); a multiattach volume on two servers is a 400; a failed swap leaves the
old disk on the VM, the volume in-use on it and no temporary volume or disk behind."""

from __future__ import annotations

import time
from typing import Any

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, mv, vm_disks
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_servers import fault
from tests.api.test_volume_types import make_type
from tests.api.test_volume_volumes import assert_fault, create_volume, wait_volume
from vistack.drivers.errors import NoCapacityError
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore

pytestmark = COMPUTE_ON_SQLITE_ONLY

member = persona_fixture("compute_api")
env = env_fixture("10.49.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()


def attach(api: ComputeApi, token: str, server_id: str, volume_id: str) -> dict[str, Any]:
    body = {"volumeAttachment": {"volumeId": volume_id}}
    path = f"/servers/{server_id}/os-volume_attachments"
    response = api.post(path, token=token, json=body, headers=mv("2.60"))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["volumeAttachment"]
    return found


def store_of(cinder: VolumeApi) -> VolumeStore:
    volume = cinder.cloud.volume
    assert volume is not None
    return volume.volumes.store


def path_of(cinder: VolumeApi, volume_id: str) -> str:
    with store_of(cinder).transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None and row.path is not None
        return row.path


def other_datastore(cinder: VolumeApi, path: str) -> str:
    current = path[1 : path.index("]")]
    return next(d for d in cinder.fake.state.datastores if d != current)


def in_use_volume(api: ComputeApi, cinder: VolumeApi, env: Env) -> tuple[str, str, str]:
    """An ACTIVE server with a volume attached holding some data: (server, volume, path)."""
    token = env.member.token
    server_id = active_server(api, env)
    volume = create_volume(cinder, token)
    attach(api, token, server_id, volume["id"])
    wait_volume(cinder, volume["id"], token, "in-use")
    path = path_of(cinder, volume["id"])
    cinder.fake.state.disks[path].data = b"the guest's data"
    return server_id, volume["id"], path


def wait_migration(cinder: VolumeApi, volume_id: str) -> str:
    """The volume's move ended (its status stays in-use throughout): `success` or `error`."""
    deadline = time.monotonic() + 20
    while True:
        with store_of(cinder).transaction() as unit:
            row = queries.volume(unit, volume_id)
            assert row is not None
            if row.migration_status in ("success", "error"):
                return row.migration_status
        assert time.monotonic() < deadline, row.migration_status
        time.sleep(0.02)


def wait_gone(cinder: VolumeApi, path: str) -> None:
    """The old disk is deleted last, after the completion said `success`, and then the
    temporary row that named it (`deleting` meanwhile)."""
    deadline = time.monotonic() + 20
    while path in cinder.fake.state.disks or any(
        status and status.startswith("target:") for _id, status in migrations(cinder)
    ):
        assert time.monotonic() < deadline, path
        time.sleep(0.02)


def migrations(cinder: VolumeApi) -> list[tuple[str, str | None]]:
    """Every volume with a migration status (a temporary one would say `target:<id>`)."""
    with store_of(cinder).transaction() as unit:
        return [
            (v.id, v.migration_status) for v in queries.volumes(unit, None) if v.migration_status
        ]


def reset_migration(cinder: VolumeApi, volume_id: str) -> None:
    body = {"os-reset_status": {"migration_status": None}}
    assert cinder.post(f"/volumes/{volume_id}/action", json=body).status_code == 202


def test_a_direct_swap_is_refused_as_nova_refuses_it(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token, admin = env.member.token, compute_api.admin_token
    server_id, volume_id, path = in_use_volume(compute_api, cinder, env)
    other = create_volume(cinder, token)
    url = f"/servers/{server_id}/os-volume_attachments/{volume_id}"
    swap = {"volumeAttachment": {"volumeId": other["id"]}}
    fault(compute_api.put(url, token=token, json=swap), 403, "forbidden")
    refused = compute_api.put(url, token=admin, json=swap)
    assert "os-migrate_volume" in fault(refused, 409, "conflictingRequest")
    # Before 2.85 the same volume is a swap too; at 2.85 it is the delete flag's update.
    same = {"volumeAttachment": {"volumeId": volume_id}}
    fault(compute_api.put(url, token=admin, json=same), 409, "conflictingRequest")
    unknown = {"volumeAttachment": {"volumeId": "8a1c1b7e-0000-4000-8000-000000000000"}}
    fault(compute_api.put(url, token=admin, json=unknown), 400, "badRequest")
    not_attached = f"/servers/{server_id}/os-volume_attachments/{other['id']}"
    fault(compute_api.put(not_attached, token=admin, json=same), 404, "itemNotFound")
    no_server = f"/servers/{other['id']}/os-volume_attachments/{volume_id}"
    fault(compute_api.put(no_server, token=admin, json=swap), 404, "itemNotFound")
    assert wait_volume(cinder, volume_id, token, "in-use")
    assert wait_volume(cinder, other["id"], token, "available")
    assert path in vm_disks(compute_api, server_id)


def test_retype_of_an_in_use_volume_swaps_the_server_onto_the_moved_disk(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token = env.member.token
    server_id, volume_id, old_path = in_use_volume(compute_api, cinder, env)
    target = other_datastore(cinder, old_path)
    elsewhere = make_type(cinder, extra_specs={"vmware:datastore_regex": target})
    move = {"os-retype": {"new_type": elsewhere["name"], "migration_policy": "on-demand"}}
    response = cinder.post(f"/volumes/{volume_id}/action", token=token, json=move)
    assert response.status_code == 202, response.text
    assert wait_migration(cinder, volume_id) == "success"
    moved = wait_volume(cinder, volume_id, token, "in-use")
    assert moved["volume_type"] == elsewhere["name"]
    new_path = path_of(cinder, volume_id)
    assert new_path == f"[{target}] volumes/{volume_id}.vmdk"
    disks = cinder.fake.state.disks
    wait_gone(cinder, old_path)
    assert disks[new_path].data == b"the guest's data"
    on_vm = vm_disks(compute_api, server_id)
    assert new_path in on_vm and old_path not in on_vm
    # Nova's mapping and Cinder's attachment still name the volume, at the same device.
    url = f"/servers/{server_id}/os-volume_attachments"
    listed = compute_api.get(url, token=token).json()["volumeAttachments"]
    assert [(a["volumeId"], a["device"]) for a in listed] == [(volume_id, "/dev/sdb")]
    assert [a["server_id"] for a in moved["attachments"]] == [server_id]
    assert migrations(cinder) == [(volume_id, "success")]  # no temporary volume left
    admin_view = cinder.get(f"/volumes/{volume_id}").json()["volume"]
    assert admin_view["migration_status"] == "success"
    assert admin_view["os-vol-host-attr:host"].endswith(f"#{target}")
    assert "migration_status" not in moved  # administrators only
    reset_migration(cinder, volume_id)
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=token).json()
    assert "swap_volume" in [a["action"] for a in actions["instanceActions"]]
    # The moved volume detaches as any other.
    gone = compute_api.delete(f"{url}/{volume_id}", token=token)
    assert gone.status_code == 202, gone.text
    wait_volume(cinder, volume_id, token, "available")


def test_migrate_volume_of_an_in_use_volume_and_a_failed_swap(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token = env.member.token
    server_id, volume_id, old_path = in_use_volume(compute_api, cinder, env)
    target = other_datastore(cinder, old_path)
    host = cinder.get(f"/volumes/{volume_id}").json()["volume"]["os-vol-host-attr:host"]
    body = {"os-migrate_volume": {"host": host.split("#")[0] + f"#{target}"}}
    url = f"/volumes/{volume_id}/action"
    # vSphere refuses the swap: the VM keeps the old disk, the volume stays in-use on it,
    # and neither the temporary volume nor its disk is left.
    state = cinder.fake.state
    before = set(state.disks)
    state.fail_next("swap_disk", NoCapacityError("datastore full"))
    assert cinder.post(url, json=body).status_code == 202
    assert wait_migration(cinder, volume_id) == "error"
    volume = wait_volume(cinder, volume_id, token, "in-use")
    assert "datastore full" in str(volume.get("error_message") or error_of(cinder, volume_id))
    assert path_of(cinder, volume_id) == old_path and set(state.disks) == before
    assert old_path in vm_disks(compute_api, server_id)
    assert migrations(cinder) == [(volume_id, "error")]  # no temporary volume left
    assert [a["server_id"] for a in volume["attachments"]] == [server_id]
    # Tried again, it moves.
    assert cinder.post(url, json=body).status_code == 202
    assert wait_migration(cinder, volume_id) == "success"
    new_path = path_of(cinder, volume_id)
    wait_gone(cinder, old_path)
    assert new_path.startswith(f"[{target}]")
    assert new_path in vm_disks(compute_api, server_id)
    assert state.disks[new_path].data == b"the guest's data"
    reset_migration(cinder, volume_id)


def error_of(cinder: VolumeApi, volume_id: str) -> str | None:
    with store_of(cinder).transaction() as unit:
        row = queries.volume(unit, volume_id)
        return row.error_message if row is not None else None


def test_a_multiattach_volume_on_two_servers_is_not_moved(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token = env.member.token
    shared = make_type(cinder, extra_specs={"multiattach": "<is> True"})
    volume = create_volume(cinder, token, volume_type=shared["name"])
    first, second = active_server(compute_api, env), active_server(compute_api, env)
    attach(compute_api, token, first, volume["id"])
    attach(compute_api, token, second, volume["id"])
    wait_volume(cinder, volume["id"], token, "in-use")
    target = other_datastore(cinder, path_of(cinder, volume["id"]))
    host = cinder.get(f"/volumes/{volume['id']}").json()["volume"]["os-vol-host-attr:host"]
    body = {"os-migrate_volume": {"host": host.split("#")[0] + f"#{target}"}}
    refused = cinder.post(f"/volumes/{volume['id']}/action", json=body)
    assert "multiattach" in assert_fault(refused, 400)
