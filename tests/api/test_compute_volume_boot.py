"""Boot from volume and block device mappings through HTTP on the fake vCenter, with the
in-memory volume port standing in for Cinder: a volume-backed server's VM boots from the
volume's disk (no template cloned), shows no image and lists its volumes; volumes Nova makes
(image and blank sources) are made through the port and never left behind by a failed build;
what vSphere cannot do (snapshot sources, local ephemeral disks, device tags) is refused by
name; and the actions a volume-backed server cannot take say so at every microversion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compute_env import Env, env_fixture
from tests.api.compute_volume_env import clean_up_servers_fixture, mv, port_fixture, vm_disks
from tests.api.conftest import ComputeApi
from tests.api.helpers import persona_fixture, unique
from tests.api.test_compute_servers import fault, wait_gone, wait_status
from tests.unit.fake_volume_port import FakeVolumePort
from vistack.common.errors import Conflict

member = persona_fixture("compute_api")
env = env_fixture("10.41.0.0/24")
_clean_up_servers = clean_up_servers_fixture()
port = port_fixture()


def create(
    api: ComputeApi, env: Env, mappings: list[dict[str, Any]], version: str = "2.1", **extra: Any
) -> Any:
    server = {
        "name": unique("bfv"),
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping_v2": mappings,
        **extra,
    }
    token = env.member.token
    return api.post("/servers", token=token, json={"server": server}, headers=mv(version))


def boot(api: ComputeApi, env: Env, mappings: list[dict[str, Any]], **extra: Any) -> str:
    response = create(api, env, mappings, **extra)
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    return server_id


def root_volume(volume_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_type": "volume",
        "destination_type": "volume",
        "uuid": volume_id,
        "boot_index": 0,
        **extra,
    }


def test_a_server_boots_from_a_volume_and_its_delete_keeps_it(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    volume = port.add(env.member.project_id, 2, bootable=True)
    server_id = boot(compute_api, env, [root_volume(volume.id)])
    server = wait_status(compute_api, server_id, token, "ACTIVE")
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [{"id": volume.id}]
    assert vm_disks(compute_api, server_id) == [volume.path]
    assert port.status(volume.id) == "in-use"
    path = f"/servers/{server_id}/os-volume_attachments"
    (attachment,) = compute_api.get(path, token=token).json()["volumeAttachments"]
    assert attachment["device"] == "/dev/sda"
    root = compute_api.delete(f"{path}/{volume.id}", token=token)
    assert "root device" in fault(root, 400, "badRequest")
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert port.status(volume.id) == "available"
    assert compute_api.fake.drivers().volumes.disk_exists(str(volume.path))


def test_an_image_becomes_a_root_volume_that_the_delete_takes_with_it(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    mapping = {
        "source_type": "image",
        "destination_type": "volume",
        "uuid": env.image_id,
        "boot_index": 0,
        "volume_size": 1,
        "delete_on_termination": True,
    }
    blank = {
        "source_type": "blank",
        "destination_type": "volume",
        "volume_size": 1,
        "boot_index": -1,
    }
    server_id = boot(compute_api, env, [mapping, blank])
    server = wait_status(compute_api, server_id, token, "ACTIVE")
    attached = compute_api.get(f"/servers/{server_id}", token=token, headers=mv("2.3")).json()
    volumes = attached["server"]["os-extended-volumes:volumes_attached"]
    assert [v["delete_on_termination"] for v in volumes] == [True, False]
    root_id, blank_id = (v["id"] for v in volumes)
    assert server["image"] == ""
    assert port.volumes[root_id].facts.bootable
    assert vm_disks(compute_api, server_id) == [
        port.volumes[root_id].facts.path,
        port.volumes[blank_id].facts.path,
    ]
    path = f"/servers/{server_id}/os-volume_attachments"
    devices = [a["device"] for a in compute_api.get(path, token=token).json()["volumeAttachments"]]
    assert devices == ["/dev/sda", "/dev/sdb"]
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert root_id not in port.volumes
    assert port.status(blank_id) == "available"


def test_an_image_server_gets_its_mapped_volumes_beside_the_image_root(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    data = port.add(env.member.project_id)
    image_root = {
        "source_type": "image",
        "destination_type": "local",
        "uuid": env.image_id,
        "boot_index": 0,
    }
    extra = {"source_type": "volume", "destination_type": "volume", "uuid": data.id}
    server_id = boot(compute_api, env, [image_root, extra], imageRef=env.image_id)
    server = wait_status(compute_api, server_id, token, "ACTIVE")
    assert server["image"]["id"] == env.image_id
    disks = vm_disks(compute_api, server_id)
    assert len(disks) == 2 and disks[1] == data.path
    path = f"/servers/{server_id}/os-volume_attachments/{data.id}"
    assert compute_api.get(path, token=token).json()["volumeAttachment"]["device"] == "/dev/sdb"
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert port.status(data.id) == "available"


def test_the_legacy_mapping_boots_from_a_volume(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    volume = port.add(env.member.project_id, bootable=True)
    server = {
        "name": unique("v1"),
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping": [{"volume_id": volume.id, "device_name": "vda"}],
    }
    response = compute_api.post("/servers", token=env.member.token, json={"server": server})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    wait_status(compute_api, server_id, env.member.token, "ACTIVE")
    assert vm_disks(compute_api, server_id) == [volume.path]


def test_a_failed_build_leaves_no_volume_nova_made(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    port.quota = 0
    try:
        mapping = {
            "source_type": "image",
            "destination_type": "volume",
            "uuid": env.image_id,
            "boot_index": 0,
            "volume_size": 1,
        }
        before = set(port.volumes)
        server_id = boot(compute_api, env, [mapping])
        server = wait_status(compute_api, server_id, token, "ERROR")
        assert "VolumeLimitExceeded" in server["fault"]["message"]
        assert set(port.volumes) == before
    finally:
        port.quota = None
    mine = port.add(env.member.project_id)
    blank = {"source_type": "blank", "destination_type": "volume", "volume_size": 1}
    mapping = {**mapping, "delete_on_termination": False}
    port.fail_next["reserve"] = Conflict("Cinder is busy")
    before = set(port.volumes)
    server_id = boot(
        compute_api,
        env,
        [mapping, blank, {"source_type": "volume", "uuid": mine.id, "destination_type": "volume"}],
    )
    server = wait_status(compute_api, server_id, token, "ERROR")
    assert "Cinder is busy" in server["fault"]["message"]
    assert set(port.volumes) == before
    assert port.status(mine.id) == "available"
    assert compute_api.fake.drivers().compute.list_vms() is not None
    vms = {vm.instance_uuid for vm in compute_api.fake.drivers().compute.list_vms()}
    assert server_id not in vms
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"source_type": "snapshot", "uuid": "8d1e3bb5-0000-4000-8000-000000000003"}, "snapshot"),
        (
            {"source_type": "blank", "destination_type": "local", "volume_size": 1},
            "ephemeral or swap",
        ),
        ({"source_type": "volume", "uuid": "not-a-uuid", "boot_index": 0}, "Invalid volume id"),
        ({"source_type": "blank", "destination_type": "volume"}, "volume_size"),
        (
            {"source_type": "volume", "uuid": "8d1e3bb5-0000-4000-8000-000000000004"},
            "failed to get volume",
        ),
        ({"source_type": "volume", "destination_type": "nfs"}, "destination_type"),
    ],
)
def test_mappings_this_cloud_cannot_build_are_refused_by_name(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort, mapping: dict[str, Any], words: str
) -> None:
    response = create(compute_api, env, [mapping], imageRef=env.image_id)
    assert words in fault(response, 400, "badRequest")


def test_volume_refusals_at_create(compute_api: ComputeApi, env: Env, port: FakeVolumePort) -> None:
    plain = port.add(env.member.project_id)
    refused = create(compute_api, env, [root_volume(plain.id)])
    assert "not bootable" in fault(refused, 400, "badRequest")
    bootable = port.add(env.member.project_id, bootable=True)
    many = create(compute_api, env, [root_volume(bootable.id)], max_count=2)
    assert "multiple instances" in fault(many, 400, "badRequest")
    tagged = create(compute_api, env, [root_volume(bootable.id, tag="root")], "2.42")
    assert "Tagged" in fault(tagged, 400, "badRequest")
    untagged_era = create(compute_api, env, [root_volume(bootable.id, tag="root")], "2.40")
    fault(untagged_era, 400, "badRequest")
    typed = create(compute_api, env, [root_volume(bootable.id, volume_type="x")], "2.66")
    fault(typed, 400, "badRequest")
    missing = compute_api.post(
        "/servers",
        token=env.member.token,
        json={"server": {"name": "x", "flavorRef": "1", "networks": [{"uuid": env.network["id"]}]}},
    )
    assert "imageRef" in fault(missing, 400, "badRequest")
    assert port.status(bootable.id) == "available"
    link = compute_api.cloud.compute.volumes
    assert link is not None
    link.connect(None)
    try:
        unavailable = create(compute_api, env, [root_volume(bootable.id)])
        assert "block storage" in fault(unavailable, 503, "serviceUnavailable")
    finally:
        link.connect(port)


def test_what_a_volume_backed_server_cannot_do_says_so(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    token = env.member.token
    volume = port.add(env.member.project_id, bootable=True)
    server_id = boot(compute_api, env, [root_volume(volume.id)])
    wait_status(compute_api, server_id, token, "ACTIVE")
    action = f"/servers/{server_id}/action"

    def act(body: dict[str, Any], version: str = "2.1") -> Any:
        return compute_api.post(action, token=token, json=body, headers=mv(version))

    assert "volume-backed" in fault(act({"rescue": None}, "2.86"), 400, "badRequest")
    assert "rescue_image_ref" in fault(act({"rescue": None}, "2.87"), 400, "badRequest")
    rebuild = {"rebuild": {"imageRef": env.image_id}}
    assert "2.93" in fault(act(rebuild, "2.92"), 400, "badRequest")
    # From 2.93 the root volume is re-imaged: test_compute_rebuild_volume.py.
    fault(act({"createImage": {"name": "snap"}}), 501, "notImplemented")
    fault(act({"shelve": None}), 501, "notImplemented")
    assert port.status(volume.id) == "in-use"
    rescued = act({"rescue": {"rescue_image_ref": env.image_id}}, "2.87")
    assert rescued.status_code == 200, rescued.text
    wait_status(compute_api, server_id, token, "RESCUE")
    disks = vm_disks(compute_api, server_id)
    assert volume.path in disks and len(disks) == 2
    assert act({"unrescue": None}).status_code == 202
    wait_status(compute_api, server_id, token, "ACTIVE")
    assert vm_disks(compute_api, server_id) == [volume.path]


def test_a_volume_backed_server_resizes_without_touching_its_root_volume(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    """The flavor's disk means nothing to a volume-backed server (Nova's rule): CPUs and
    memory change, the volume keeps Cinder's size and no copy of it is made; a revert too."""
    token = env.member.token
    volume = port.add(env.member.project_id, 2, bootable=True)
    server_id = boot(compute_api, env, [root_volume(volume.id)], flavorRef="3")
    wait_status(compute_api, server_id, token, "ACTIVE")
    disks = compute_api.fake.state.disks
    files_before = set(disks)
    size = disks[str(volume.path)].capacity_gb
    action = f"/servers/{server_id}/action"
    # m1.medium (40 GB) → m1.small (20 GB): a shrink an image-backed server could not do.
    asked = compute_api.post(action, token=token, json={"resize": {"flavorRef": "2"}})
    assert asked.status_code == 202, asked.text
    wait_status(compute_api, server_id, token, "VERIFY_RESIZE")
    vm = compute_api.fake.state.vms[server_id]
    assert (vm.cpus, vm.memory_mb) == (1, 2048)
    assert disks[str(volume.path)].capacity_gb == size
    assert set(disks) == files_before  # no backup copy of the volume
    reverted = compute_api.post(action, token=token, json={"revertResize": None})
    assert reverted.status_code == 202, reverted.text
    wait_status(compute_api, server_id, token, "ACTIVE")
    vm = compute_api.fake.state.vms[server_id]
    assert (vm.cpus, vm.memory_mb, vm.disks) == (2, 4096, [str(volume.path)])
    assert disks[str(volume.path)].capacity_gb == size


def test_a_blank_volume_may_be_the_boot_disk(
    compute_api: ComputeApi, env: Env, port: FakeVolumePort
) -> None:
    """Nova accepts an empty boot volume (the guest finds nothing to boot until something
    writes it, as on any hypervisor); the VM's first disk is that volume."""
    token = env.member.token
    blank = {
        "source_type": "blank",
        "destination_type": "volume",
        "boot_index": 0,
        "volume_size": 1,
        "delete_on_termination": True,
    }
    server_id = boot(compute_api, env, [blank], imageRef=env.image_id)
    server = wait_status(compute_api, server_id, token, "ACTIVE")
    assert server["image"] == ""
    (attached,) = server["os-extended-volumes:volumes_attached"]
    assert vm_disks(compute_api, server_id) == [port.volumes[attached["id"]].facts.path]
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    wait_gone(compute_api, server_id, token)
    assert attached["id"] not in port.volumes or port.status(attached["id"]) == "deleted"
