"""Cinder volume actions through HTTP: extend, bootable and read-only flags, the
administrator's reset_status and force_delete, the legacy attach transitions, the actions this
cloud refuses with 501, and the error paths of each."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import (
    assert_fault,
    create_volume,
    disk_of,
    has_disk,
    wait_gone,
    wait_volume,
)
from vistack.drivers.errors import UnsupportedError


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def act(api: VolumeApi, volume_id: str, body: object, token: str | None = None) -> Any:
    return api.post(f"/volumes/{volume_id}/action", token=token, json=body)


def test_extend_grows_the_disk(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token, 1)
    response = act(volume_api, volume["id"], {"os-extend": {"new_size": 3}}, member.token)
    assert response.status_code == 202, response.text
    extended = wait_volume(volume_api, volume["id"], member.token, "available")
    assert extended["size"] == 3
    assert volume_api.fake.state.disks[disk_of(volume_api, volume["id"])].capacity_gb == 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"os-extend": {"new_size": 1}}, "greater than current"),
        ({"os-extend": {"new_size": 0}}, "greater than 0"),
        ({"os-extend": {}}, "new_size"),
        ({"os-extend": None}, "must be an object"),
        ({"os-frobnicate": {}}, "no such action"),
        ({"os-extend": {"new_size": 2}, "os-reserve": {}}, "exactly one"),
    ],
)
def test_bad_actions_are_400(
    volume_api: VolumeApi, member: Persona, body: object, fragment: str
) -> None:
    volume = create_volume(volume_api, member.token, 1)
    assert fragment in assert_fault(act(volume_api, volume["id"], body, member.token), 400)


def test_extend_needs_an_available_volume_and_quota(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"gigabytes": 4}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    volume = create_volume(volume_api, owner.token, 2)
    over = act(volume_api, volume["id"], {"os-extend": {"new_size": 5}}, owner.token)
    assert "gigabytes quota" in assert_fault(over, 413)
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert act(volume_api, volume["id"], attach, owner.token).status_code == 202
    in_use = act(volume_api, volume["id"], {"os-extend": {"new_size": 3}}, owner.token)
    assert "in-use" in assert_fault(in_use, 400)


def test_a_backend_without_extend_leaves_error_extending_and_the_old_size(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token, 1)
    volume_api.fake.state.fail_next("extend_disk", UnsupportedError("MethodNotFound"))
    response = act(volume_api, volume["id"], {"os-extend": {"new_size": 2}}, member.token)
    assert response.status_code == 202
    failed = wait_volume(volume_api, volume["id"], member.token, "error_extending")
    assert failed["size"] == 1


def test_bootable_and_readonly_flags(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    boot = act(volume_api, volume["id"], {"os-set_bootable": {"bootable": True}}, member.token)
    assert boot.status_code == 200
    shown = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert shown["bootable"] == "true" and "readonly" not in shown["metadata"]
    listed = volume_api.get("/volumes/detail", token=member.token, params={"bootable": "true"})
    assert volume["id"] in {v["id"] for v in listed.json()["volumes"]}
    bad = act(volume_api, volume["id"], {"os-set_bootable": {"bootable": "maybe"}}, member.token)
    assert_fault(bad, 400)
    assert_fault(act(volume_api, volume["id"], {"os-set_bootable": {}}, member.token), 400)
    body = {"os-update_readonly_flag": {"readonly": True}}
    assert act(volume_api, volume["id"], body, member.token).status_code == 202
    shown = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert shown["metadata"]["readonly"] == "True"
    rw = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert "read-only" in assert_fault(act(volume_api, volume["id"], rw, member.token), 400)
    body = {"os-update_readonly_flag": {"readonly": False}}
    assert act(volume_api, volume["id"], body, member.token).status_code == 202
    shown = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert shown["metadata"]["readonly"] == "False"


def test_legacy_attach_transitions(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token

    def status() -> str:
        return str(volume_api.get(f"/volumes/{vid}", token=token).json()["volume"]["status"])

    assert act(volume_api, vid, {"os-reserve": {}}, token).status_code == 202
    assert status() == "attaching"
    assert_fault(act(volume_api, vid, {"os-reserve": {}}, token), 400)
    assert act(volume_api, vid, {"os-unreserve": {}}, token).status_code == 202
    assert status() == "available"
    server = str(uuid.uuid4())
    assert act(volume_api, vid, {"os-reserve": {}}, token).status_code == 202
    attach = {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}}
    assert act(volume_api, vid, attach, token).status_code == 202
    shown = volume_api.get(f"/volumes/{vid}", token=token).json()["volume"]
    assert shown["status"] == "in-use"
    (attachment,) = shown["attachments"]
    assert attachment["server_id"] == server and attachment["device"] == "/dev/vdb"
    assert attachment["volume_id"] == vid and attachment["attachment_id"]
    assert shown["metadata"]["attached_mode"] == "rw"
    assert act(volume_api, vid, {"os-begin_detaching": {}}, token).status_code == 202
    assert status() == "detaching"
    assert act(volume_api, vid, {"os-roll_detaching": {}}, token).status_code == 202
    assert status() == "in-use"
    wrong = {"os-detach": {"attachment_id": str(uuid.uuid4())}}
    assert_fault(act(volume_api, vid, wrong, token), 404)
    detach = {"os-detach": {"attachment_id": attachment["attachment_id"]}}
    assert act(volume_api, vid, detach, token).status_code == 202
    assert status() == "available"
    # Nothing attached: Cinder's detach is a no-op then (an attachment that is not there, 404).
    assert act(volume_api, vid, {"os-detach": {}}, token).status_code == 202
    assert_fault(act(volume_api, vid, {"os-begin_detaching": {}}, token), 400)
    no_target = {"os-attach": {"mountpoint": "/dev/vdb"}}
    assert_fault(act(volume_api, vid, no_target, token), 400)


def test_reset_status_is_for_administrators(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    body = {"os-reset_status": {"status": "error"}}
    assert_fault(act(volume_api, volume["id"], body, member.token), 403)
    assert act(volume_api, volume["id"], body).status_code == 202
    assert wait_volume(volume_api, volume["id"], member.token, "error")["status"] == "error"
    assert_fault(act(volume_api, volume["id"], {"os-reset_status": {"status": "bogus"}}), 400)
    assert_fault(act(volume_api, volume["id"], {"os-reset_status": {}}), 400)
    attach = {"os-reset_status": {"status": "available", "attach_status": "detached"}}
    assert act(volume_api, volume["id"], attach).status_code == 202


def test_force_delete_takes_a_busy_volume_and_its_disk(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    assert act(volume_api, volume["id"], {"os-reserve": {}}, member.token).status_code == 202
    assert_fault(act(volume_api, volume["id"], {"os-force_delete": {}}, member.token), 403)
    assert act(volume_api, volume["id"], {"os-force_delete": {}}).status_code == 202
    wait_gone(volume_api, f"/volumes/{volume['id']}", member.token)
    assert not has_disk(volume_api, volume["id"])


def test_unsupported_actions_are_501(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    connect: dict[str, Any] = {"os-initialize_connection": {"connector": {}}}
    assert "Nova" in assert_fault(act(volume_api, volume["id"], connect, member.token), 501)
    assert_fault(act(volume_api, str(uuid.uuid4()), connect, member.token), 404)


def test_image_metadata_actions(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    set_body = {"os-set_image_metadata": {"metadata": {"os_distro": "ubuntu", "k": "v"}}}
    updated = act(volume_api, vid, set_body, token)
    assert updated.status_code == 200
    assert updated.json() == {"metadata": {"os_distro": "ubuntu", "k": "v"}}
    shown = act(volume_api, vid, {"os-show_image_metadata": {}}, token)
    assert shown.json() == {"metadata": {"os_distro": "ubuntu", "k": "v"}}
    volume = volume_api.get(f"/volumes/{vid}", token=token).json()["volume"]
    assert volume["volume_image_metadata"]["k"] == "v"
    unset = act(volume_api, vid, {"os-unset_image_metadata": {"key": "k"}}, token)
    assert unset.status_code == 200
    assert_fault(act(volume_api, vid, {"os-unset_image_metadata": {"key": "k"}}, token), 404)
    assert_fault(act(volume_api, vid, {"os-set_image_metadata": {"metadata": {}}}, token), 400)


def test_retype_in_place_or_refused(volume_api: VolumeApi, member: Persona) -> None:
    from tests.api.test_volume_types import make_type

    volume = create_volume(volume_api, member.token)
    plain = make_type(volume_api)
    retype = {"os-retype": {"new_type": plain["name"]}}
    assert act(volume_api, volume["id"], retype, member.token).status_code == 202
    shown = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert shown["volume_type"] == plain["name"]
    assert "already" in assert_fault(act(volume_api, volume["id"], retype, member.token), 400)
    thick = make_type(volume_api, extra_specs={"vmware:vmdk_type": "thick"})
    refused = {"os-retype": {"new_type": thick["id"], "migration_policy": "never"}}
    assert "re-provisioned" in assert_fault(
        act(volume_api, volume["id"], refused, member.token), 400
    )
    # on-demand re-provisions the disk (tests/api/test_volume_migrate.py).
    missing = {"os-retype": {"new_type": str(uuid.uuid4())}}
    assert_fault(act(volume_api, volume["id"], missing, member.token), 404)
    assert_fault(act(volume_api, volume["id"], {"os-retype": {}}, member.token), 400)


def test_force_detach_is_for_administrators(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert act(volume_api, volume["id"], attach, member.token).status_code == 202
    detach: dict[str, Any] = {"os-force_detach": {"connector": {}}}
    assert_fault(act(volume_api, volume["id"], detach, member.token), 403)
    wrong = {"os-force_detach": {"attachment_id": str(uuid.uuid4())}}
    assert_fault(act(volume_api, volume["id"], wrong), 404)
    assert act(volume_api, volume["id"], detach).status_code == 202
    shown = wait_volume(volume_api, volume["id"], member.token, "available")
    assert shown["attachments"] == []


def test_racing_reserves_let_one_through(volume_api: VolumeApi, member: Persona) -> None:
    import threading

    volume = create_volume(volume_api, member.token)
    codes: list[int] = []

    def reserve() -> None:
        codes.append(act(volume_api, volume["id"], {"os-reserve": {}}, member.token).status_code)

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202] + [400] * 5
