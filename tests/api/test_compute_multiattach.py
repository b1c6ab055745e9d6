"""Multiattach volumes through HTTP, on the compute cloud with its own block storage service
behind Nova's volume port (the fake vCenter underneath).

Cinder's side: only a volume type with `multiattach="<is> True"` makes multiattach volumes
(the create body's flag is refused), such a type cannot ask for thin or lazy thick disks
(vSphere shares only eager-zeroed thick ones) and makes eagerZeroedThick disks; an in-use
multiattach volume is neither extended nor retyped across the multiattach line. Nova's side:
2.59 refuses a multiattach volume, 2.60 attaches it to several servers, each VM holding the
disk in multi-writer sharing; a detach or a server delete ends only that server's attachment,
and the volume is `available` again when the last one goes."""

from __future__ import annotations

from typing import Any

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, mv
from tests.api.conftest import ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture, unique
from tests.api.test_compute_servers import fault, wait_gone
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume

member = persona_fixture("compute_api")
env = env_fixture("10.47.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()

SHARED = {"multiattach": "<is> True"}


def make_type(api: VolumeApi, **specs: str) -> Any:
    body = {"volume_type": {"name": unique("type"), "extra_specs": specs}}
    return api.post("/types", json=body)


def volume_mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


def attach(api: ComputeApi, token: str, server_id: str, volume_id: str, version: str) -> Any:
    body = {"volumeAttachment": {"volumeId": volume_id}}
    return api.post(
        f"/servers/{server_id}/os-volume_attachments", token=token, json=body, headers=mv(version)
    )


def detach(api: ComputeApi, token: str, server_id: str, volume_id: str) -> None:
    path = f"/servers/{server_id}/os-volume_attachments/{volume_id}"
    response = api.delete(path, token=token, headers=mv("2.60"))
    assert response.status_code == 202, response.text


def holders(api: VolumeApi, volume_id: str, token: str) -> list[str]:
    volume = api.get(f"/volumes/{volume_id}", token=token).json()["volume"]
    return sorted(a["server_id"] for a in volume["attachments"])


def sharing(api: ComputeApi, server_id: str, path: str) -> list[bool]:
    """The multi-writer flag of the disk at `path` on the server's VM ([] when not there)."""
    return [d.shared for d in api.fake.drivers().compute.get_vm(server_id).disks if d.path == path]


def test_types_and_volumes_follow_cinders_multiattach_rules(cinder: VolumeApi, env: Env) -> None:
    token = env.member.token
    for specs in (
        {**SHARED, "vmware:vmdk_type": "thin"},
        {**SHARED, "vmware:vmdk_type": "thick"},
        {"multiattach": "True"},  # Cinder reads only '<is> True'
    ):
        assert "multiattach" in assert_fault(make_type(cinder, **specs), 400)
    kind = make_type(cinder, **SHARED)
    assert kind.status_code == 200, kind.text
    type_id = kind.json()["volume_type"]["id"]
    # Asking a multiattach type for thin disks later is refused the same way.
    thin = {"extra_specs": {"vmware:vmdk_type": "thin"}}
    assert_fault(cinder.post(f"/types/{type_id}/extra_specs", json=thin), 400)
    one = {"vmware:vmdk_type": "thin"}
    assert_fault(cinder.put(f"/types/{type_id}/extra_specs/vmware:vmdk_type", json=one), 400)
    explicit = make_type(cinder, **SHARED, **{"vmware:vmdk_type": "eagerZeroedThick"})
    assert explicit.status_code == 200, explicit.text
    # The body's flag is gone from Cinder: true is refused, false changes nothing.
    flagged = {"volume": {"size": 1, "multiattach": True}}
    message = assert_fault(cinder.post("/volumes", token=token, json=flagged), 400)
    assert "volume type" in message
    assert create_volume(cinder, token, 1, multiattach=False)["multiattach"] is False
    volume = create_volume(cinder, token, 1, volume_type=type_id)
    assert volume["multiattach"] is True
    assert cinder.fake.state.disks[disk_of(cinder, volume["id"])].provisioning.value == (
        "eagerZeroedThick"
    )
    # An available volume is retyped into and out of multiattach (Tempest's retype test);
    # its disk keeps its allocation, which this type does not name.
    moved = create_volume(cinder, token, 1)
    action = f"/volumes/{moved['id']}/action"
    for new_type, expected in ((type_id, True), ("__DEFAULT__", False)):
        retype = {"os-retype": {"new_type": new_type, "migration_policy": "never"}}
        response = cinder.post(action, token=token, json=retype)
        assert response.status_code == 202, response.text
        assert wait_volume(cinder, moved["id"], token, "available")["multiattach"] is expected


def test_one_volume_on_three_servers_then_detached_one_by_one(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token = env.member.token
    kind = make_type(cinder, **SHARED).json()["volume_type"]
    plain_kind = make_type(cinder).json()["volume_type"]
    volume = create_volume(cinder, token, 1, volume_type=kind["id"])
    path = disk_of(cinder, volume["id"])
    first, second, third = (active_server(compute_api, env) for _ in range(3))

    # Nova below 2.60 refuses a multiattach volume, for an attach and for a boot.
    assert "2.60" in fault(
        attach(compute_api, token, first, volume["id"], "2.59"), 400, "badRequest"
    )
    mapping = {
        "uuid": volume["id"],
        "source_type": "volume",
        "destination_type": "volume",
        "boot_index": -1,
    }
    fields = {
        "name": unique("vm"),
        "imageRef": env.image_id,
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping_v2": [mapping],
    }
    boot = compute_api.post("/servers", token=token, json={"server": fields}, headers=mv("2.59"))
    assert "2.60" in fault(boot, 400, "badRequest")

    # From 2.60 it goes on three servers; each VM holds the disk in multi-writer sharing.
    for server_id in (first, second, third):
        response = attach(compute_api, token, server_id, volume["id"], "2.60")
        assert response.status_code == 200, response.text
        assert response.json()["volumeAttachment"]["volumeId"] == volume["id"]
    wait_volume(cinder, volume["id"], token, "in-use")
    assert holders(cinder, volume["id"], token) == sorted([first, second, third])
    for server_id in (first, second, third):
        assert sharing(compute_api, server_id, path) == [True]
        listed = compute_api.get(
            f"/servers/{server_id}/os-volume_attachments", token=token, headers=mv("2.60")
        ).json()["volumeAttachments"]
        assert [a["volumeId"] for a in listed] == [volume["id"]]
    again = attach(compute_api, token, first, volume["id"], "2.60")
    assert "already attached" in fault(again, 400, "badRequest")

    # An in-use multiattach volume is not extended, nor retyped out of multiattach.
    grow = {"os-extend": {"new_size": 2}}
    action = f"/volumes/{volume['id']}/action"
    extend = cinder.post(action, token=token, json=grow, headers=volume_mv("3.42"))
    assert "multi-writer" in assert_fault(extend, 400)
    retype = {"os-retype": {"new_type": plain_kind["id"], "migration_policy": "on-demand"}}
    assert "multiattach" in assert_fault(cinder.post(action, token=token, json=retype), 400)

    # A detach ends that server's attachment only; the others keep the disk, shared.
    detach(compute_api, token, first, volume["id"])
    wait_volume(cinder, volume["id"], token, "in-use")
    assert holders(cinder, volume["id"], token) == sorted([second, third])
    assert sharing(compute_api, first, path) == []
    assert sharing(compute_api, second, path) == [True]
    # Cinder's attachments API (3.27) takes another attachment of it too, and its delete
    # leaves the others.
    body = {"attachment": {"volume_uuid": volume["id"], "instance_uuid": first}}
    made = cinder.post("/attachments", token=token, json=body, headers=volume_mv("3.27"))
    assert made.status_code == 200, made.text
    assert made.json()["attachment"]["status"] == "reserved"
    gone = cinder.delete(
        f"/attachments/{made.json()['attachment']['id']}", token=token, headers=volume_mv("3.27")
    )
    assert gone.status_code == 200, gone.text
    assert wait_volume(cinder, volume["id"], token, "in-use")["multiattach"] is True
    # Deleting a server ends only its own attachment.
    assert compute_api.delete(f"/servers/{second}", token=token).status_code == 204
    wait_gone(compute_api, second, token)
    assert holders(cinder, volume["id"], token) == [third]
    assert wait_volume(cinder, volume["id"], token, "in-use")["multiattach"] is True
    assert sharing(compute_api, third, path) == [True]
    assert path in cinder.fake.state.disks  # the disk outlived the VM it was on
    # The last detach makes it available again.
    detach(compute_api, token, third, volume["id"])
    assert wait_volume(cinder, volume["id"], token, "available")["attachments"] == []

    # A volume that is not multiattach still goes on one server only.
    plain = create_volume(cinder, token, 1)
    assert attach(compute_api, token, first, plain["id"], "2.60").status_code == 200
    refused = attach(compute_api, token, third, plain["id"], "2.60")
    assert "in-use" in fault(refused, 400, "badRequest")
    assert holders(cinder, plain["id"], token) == [first]
