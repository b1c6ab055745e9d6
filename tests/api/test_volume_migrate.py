"""Moving a volume's disk through HTTP on the fake vCenter: a retype with `migration_policy:
on-demand` to a type whose `vmware:datastore_regex` excludes the current datastore copies the
disk there (bytes kept, old disk gone), re-provisions in place when only `vmware:vmdk_type`
changes, refuses volumes with snapshots (400; in-use volumes move through Nova's swap,
test_compute_volume_swap.py); `never` is 400; the administrator's `os-migrate_volume` moves to
a named pool."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_types import make_type
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.drivers.errors import NoCapacityError
from vistack.volume.db import queries

pytestmark = VOLUME_ON_SQLITE_ONLY


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def act(api: VolumeApi, volume_id: str, body: object, token: str | None = None) -> Any:
    return api.post(f"/volumes/{volume_id}/action", token=token, json=body)


def admin_view(api: VolumeApi, volume_id: str) -> dict[str, Any]:
    view: dict[str, Any] = api.get(f"/volumes/{volume_id}").json()["volume"]
    return view


def other_datastore(api: VolumeApi, path: str) -> str:
    current = path[1 : path.index("]")]
    return next(d for d in api.fake.state.datastores if d != current)


def test_retype_on_demand_moves_the_disk_to_an_allowed_datastore(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    disks = volume_api.fake.state.disks
    old_path = disk_of(volume_api, vid)
    disks[old_path].data = b"kept across the move"
    target = other_datastore(volume_api, old_path)
    elsewhere = make_type(volume_api, extra_specs={"vmware:datastore_regex": target})
    never = {"os-retype": {"new_type": elsewhere["name"], "migration_policy": "never"}}
    assert "on-demand" in assert_fault(act(volume_api, vid, never, token), 400)
    move = {"os-retype": {"new_type": elsewhere["name"], "migration_policy": "on-demand"}}
    assert act(volume_api, vid, move, token).status_code == 202
    moved = wait_volume(volume_api, vid, token, "available")
    assert moved["volume_type"] == elsewhere["name"]
    new_path = disk_of(volume_api, vid)
    assert new_path.startswith(f"[{target}]") and old_path not in disks
    assert disks[new_path].data == b"kept across the move"
    assert admin_view(volume_api, vid)["os-vol-host-attr:host"].endswith(f"#{target}")


def test_retype_re_provisions_in_place(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    path = disk_of(volume_api, vid)
    thick = make_type(volume_api, extra_specs={"vmware:vmdk_type": "eagerZeroedThick"})
    move = {"os-retype": {"new_type": thick["id"], "migration_policy": "on-demand"}}
    assert act(volume_api, vid, move, token).status_code == 202
    done = wait_volume(volume_api, vid, token, "available")
    assert done["volume_type"] == thick["name"]
    assert volume_api.fake.state.disks[path].provisioning.value == "eagerZeroedThick"


def test_moves_refused_or_failed_leave_the_volume_where_it_was(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid, token = volume["id"], member.token
    path = disk_of(volume_api, vid)
    target = other_datastore(volume_api, path)
    elsewhere = make_type(volume_api, extra_specs={"vmware:datastore_regex": target})
    nowhere = make_type(volume_api, extra_specs={"vmware:datastore_regex": "no-such-ds"})
    move = {"os-retype": {"new_type": elsewhere["id"], "migration_policy": "on-demand"}}
    # A failed copy: back to available on the old disk, no copy left, the type unchanged.
    volume_api.fake.state.fail_next("copy_disk", NoCapacityError("datastore full"))
    assert act(volume_api, vid, move, token).status_code == 202
    after = wait_volume(volume_api, vid, token, "available")
    assert after["volume_type"] == volume["volume_type"] and disk_of(volume_api, vid) == path
    unplaceable = {"os-retype": {"new_type": nowhere["id"], "migration_policy": "on-demand"}}
    assert "datastore" in assert_fault(act(volume_api, vid, unplaceable, token), 400)
    response = volume_api.post("/snapshots", token=token, json={"snapshot": {"volume_id": vid}})
    assert response.status_code == 202
    wait_volume(volume_api, vid, token, "available")
    assert "snapshots" in assert_fault(act(volume_api, vid, move, token), 400)
    attached = create_volume(volume_api, token)
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert act(volume_api, attached["id"], attach, token).status_code == 202
    away = other_datastore(volume_api, disk_of(volume_api, attached["id"]))
    away_type = make_type(volume_api, extra_specs={"vmware:datastore_regex": away})
    move_away = {"os-retype": {"new_type": away_type["id"], "migration_policy": "on-demand"}}
    # In-use, it moves through Nova's swap: Nova has no such server, so the move fails and the
    # volume stays in-use on its disk with the reason (test_compute_volume_swap.py moves one).
    before = disk_of(volume_api, attached["id"])
    assert act(volume_api, attached["id"], move_away, token).status_code == 202
    deadline = time.monotonic() + 20
    while _migration_status(volume_api, attached["id"]) != "error":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    kept = wait_volume(volume_api, attached["id"], token, "in-use")
    assert kept["volume_type"] == volume["volume_type"]
    assert disk_of(volume_api, attached["id"]) == before


def _migration_status(api: VolumeApi, volume_id: str) -> str | None:
    volume = api.cloud.volume
    assert volume is not None
    with volume.volumes.store.transaction() as unit:
        row = queries.volume(unit, volume_id)
        return row.migration_status if row is not None else None


def test_migrate_volume_to_a_named_pool(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid = volume["id"]
    path = disk_of(volume_api, vid)
    host = admin_view(volume_api, vid)["os-vol-host-attr:host"]
    target = other_datastore(volume_api, path)
    to_target = {"os-migrate_volume": {"host": host.split("#")[0] + f"#{target}"}}
    assert_fault(act(volume_api, vid, to_target, member.token), 403)
    assert "another pool" in assert_fault(
        act(volume_api, vid, {"os-migrate_volume": {"host": host}}), 400
    )
    bad = {"os-migrate_volume": {"host": "elsewhere@lvm#pool"}}
    assert "not a pool" in assert_fault(act(volume_api, vid, bad), 400)
    assert act(volume_api, vid, to_target).status_code == 202
    wait_volume(volume_api, vid, member.token, "available")
    assert disk_of(volume_api, vid).startswith(f"[{target}]")
    assert admin_view(volume_api, vid)["os-vol-host-attr:host"].endswith(f"#{target}")
    completion = {"os-migrate_volume_completion": {"new_volume": str(uuid.uuid4())}}
    assert "second volume" in assert_fault(act(volume_api, vid, completion), 501)
