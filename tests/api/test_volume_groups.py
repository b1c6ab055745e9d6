"""Generic volume groups through HTTP: group types and specs (3.11), groups and their members
(3.13), group snapshots and create-from-src (3.14), reset_status (3.19/3.20), the replication
actions vSphere cannot do (3.38), the version gates (404 below), quotas, and the disks that
appear and go on the fake vCenter (a failed group snapshot leaves none)."""

from __future__ import annotations

import time
import uuid
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_volumes import assert_fault, has_disk, wait_gone, wait_volume
from vistack.drivers.errors import NoCapacityError

pytestmark = VOLUME_ON_SQLITE_ONLY


def v(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


V11, V13, V14, V38 = v("3.11"), v("3.13"), v("3.14"), v("3.38")


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def wait_status(api: VolumeApi, path: str, key: str, token: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = api.get(path, token=token, headers=V38)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()[key]
        if found["status"] == status:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.02)


def wait_gone_at(api: VolumeApi, path: str, token: str) -> None:
    """`wait_gone` for the group resources (404 at 3.0 whatever exists: ask at 3.38)."""
    deadline = time.monotonic() + 20
    while api.get(path, token=token, headers=V38).status_code != 404:
        assert time.monotonic() < deadline, path
        time.sleep(0.02)


def kinds(api: VolumeApi) -> tuple[str, str]:
    """A new volume type and a new group type (admin-made), their ids."""
    vtype = api.post("/types", json={"volume_type": {"name": unique("vt")}}).json()
    gtype = api.post("/group_types", headers=V11, json={"group_type": {"name": unique("gt")}})
    assert gtype.status_code == 202, gtype.text
    return vtype["volume_type"]["id"], gtype.json()["group_type"]["id"]


def make_group(api: VolumeApi, token: str, vtype: str, gtype: str, **fields: Any) -> str:
    body = {"group": {"group_type": gtype, "volume_types": [vtype], **fields}}
    response = api.post("/groups", token=token, headers=V13, json=body)
    assert response.status_code == 202, response.text
    assert set(response.json()["group"]) == {"id", "name"}
    return str(response.json()["group"]["id"])


def member_volume(api: VolumeApi, token: str, vtype: str, group_id: str) -> dict[str, Any]:
    body = {"volume": {"size": 1, "volume_type": vtype, "group_id": group_id}}
    response = api.post("/volumes", token=token, headers=V13, json=body)
    assert response.status_code == 202, response.text
    assert response.json()["volume"]["group_id"] == group_id
    return wait_volume(api, response.json()["volume"]["id"], token, "available")


def snapshot_group(api: VolumeApi, token: str, group_id: str, status: str) -> dict[str, Any]:
    body = {"group_snapshot": {"group_id": group_id, "name": "gs"}}
    response = api.post("/group_snapshots", token=token, headers=V14, json=body)
    assert response.status_code == 202, response.text
    ident = response.json()["group_snapshot"]["id"]
    return wait_status(api, f"/group_snapshots/{ident}", "group_snapshot", token, status)


def test_group_type_list_sorts_and_filters(volume_api: VolumeApi, member: Persona) -> None:
    """Cinder's list parameters: sort, is_public (an administrator's: absent is public only,
    `none` all), limit/marker; a member sees the public types whatever it asks."""
    tag = unique("")
    names = {f"a{tag}": True, f"b{tag}": False}
    for name, public in names.items():
        body = {"group_type": {"name": name, "is_public": public}}
        assert volume_api.post("/group_types", headers=V11, json=body).status_code == 202

    def listed(query: str, token: str | None = None) -> list[str]:
        response = volume_api.get(f"/group_types?{query}", token=token, headers=V11)
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["group_types"] if t["name"] in names]

    assert listed("sort=name:asc&is_public=None") == [f"a{tag}", f"b{tag}"]
    assert listed("sort_key=name&sort_dir=desc&is_public=none") == [f"b{tag}", f"a{tag}"]
    assert listed("is_public=False") == [f"b{tag}"]
    assert listed("is_public=true") == listed("") == [f"a{tag}"]
    assert listed("is_public=none", token=member.token) == [f"a{tag}"]
    first = volume_api.get("/group_types?is_public=none&limit=1", headers=V11).json()
    assert len(first["group_types"]) == 1
    assert_fault(volume_api.get("/group_types?is_public=maybe", headers=V11), 400)
    assert_fault(volume_api.get("/group_types?sort=size", headers=V11), 400)


def test_group_types_and_specs(volume_api: VolumeApi, member: Persona) -> None:
    assert_fault(volume_api.get("/group_types"), 404)  # 3.0: no such resource
    assert_fault(volume_api.get("/group_types", headers=v("3.10")), 404)
    name = unique("gt")
    body = {"group_type": {"name": name, "description": "d", "group_specs": {"k": "v"}}}
    created = volume_api.post("/group_types", headers=V11, json=body)
    assert created.status_code == 202, created.text
    gtype = created.json()["group_type"]
    assert (gtype["name"], gtype["is_public"], gtype["group_specs"]) == (name, True, {"k": "v"})
    path = f"/group_types/{gtype['id']}"
    assert_fault(volume_api.post("/group_types", headers=V11, json=body), 409)
    assert_fault(volume_api.post("/group_types", token=member.token, headers=V11, json=body), 403)
    renamed = volume_api.put(path, headers=V11, json={"group_type": {"name": name + "x"}})
    assert renamed.status_code == 200 and renamed.json()["group_type"]["name"] == name + "x"
    specs = volume_api.post(
        f"{path}/group_specs", headers=V11, json={"group_specs": {"k": "w", "k2": "v2"}}
    )
    assert specs.status_code == 202 and specs.json() == {"group_specs": {"k": "w", "k2": "v2"}}
    one = volume_api.put(f"{path}/group_specs/k2", headers=V11, json={"k2": "v3"})
    assert one.json() == {"k2": "v3"}
    assert volume_api.get(f"{path}/group_specs/k2", headers=V11).json() == {"k2": "v3"}
    assert volume_api.delete(f"{path}/group_specs/k2", headers=V11).status_code == 202
    assert_fault(volume_api.get(f"{path}/group_specs/k2", headers=V11), 404)
    assert volume_api.get(f"{path}/group_specs", headers=V11).json() == {"group_specs": {"k": "w"}}
    seen = volume_api.get("/group_types", token=member.token, headers=V11).json()["group_types"]
    assert gtype["id"] in {t["id"] for t in seen} and "group_specs" not in seen[0]
    private = volume_api.post(
        "/group_types", headers=V11, json={"group_type": {"name": unique("p"), "is_public": False}}
    ).json()["group_type"]
    assert_fault(
        volume_api.get(f"/group_types/{private['id']}", token=member.token, headers=V11), 404
    )
    assert "none is configured" in assert_fault(
        volume_api.get("/group_types/default", headers=V11), 404
    )
    assert volume_api.delete(path, headers=V11).status_code == 202
    assert_fault(volume_api.get(path, headers=V11), 404)


def test_group_lists_are_the_callers_unless_an_administrator_asks_all_tenants(
    volume_api: VolumeApi, member: Persona
) -> None:
    vtype, gtype = kinds(volume_api)
    name = unique("listed")
    group_id = make_group(volume_api, member.token, vtype, gtype, name=name)

    def ids(query: str, token: str | None = None) -> set[str]:
        response = volume_api.get(f"/groups?{query}", token=token, headers=V13)
        assert response.status_code == 200, response.text
        return {g["id"] for g in response.json()["groups"]}

    assert group_id in ids("", member.token) and group_id in ids(f"name={name}", member.token)
    assert group_id not in ids(f"name={name}x", member.token)
    assert group_id not in ids("")  # the administrator's own project
    assert group_id in ids("all_tenants=1") and group_id in ids("all_tenants=true&status=available")
    assert group_id in ids(f"all_tenants=1&project_id={member.project_id}")
    assert group_id not in ids(f"all_tenants=1&project_id={uuid.uuid4()}")
    assert_fault(volume_api.get("/groups?all_tenants=1", token=member.token, headers=V13), 403)


def test_group_members_update_and_delete(volume_api: VolumeApi, member: Persona) -> None:
    vtype, gtype = kinds(volume_api)
    assert_fault(volume_api.post("/groups", token=member.token, json={"group": {}}), 404)
    group_id = make_group(volume_api, member.token, vtype, gtype, name="g1")
    shown_at = f"/{member.project_id}/groups/{group_id}"  # the catalog's project-URL form
    shown = volume_api.get(shown_at, token=member.token, headers=V13).json()["group"]
    assert shown["status"] == "available" and shown["volume_types"] == [vtype]
    assert shown["group_type"] == gtype and "replication_status" not in shown
    as_admin = volume_api.get(f"/groups/{group_id}", headers=v("3.58")).json()["group"]
    assert as_admin["project_id"] == member.project_id and "project_id" not in shown
    first = member_volume(volume_api, member.token, vtype, group_id)
    assert "group_id" not in wait_volume(volume_api, first["id"], member.token, "available")
    other = volume_api.post("/types", json={"volume_type": {"name": unique("vt")}}).json()
    wrong = {"volume": {"size": 1, "volume_type": other["volume_type"]["id"], "group_id": group_id}}
    assert "supported by this group" in assert_fault(
        volume_api.post("/volumes", token=member.token, headers=V13, json=wrong), 400
    )
    loose = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "volume_type": vtype}}
    ).json()["volume"]
    wait_volume(volume_api, loose["id"], member.token, "available")
    update = {"group": {"add_volumes": loose["id"], "remove_volumes": first["id"], "name": "g2"}}
    put = volume_api.put(f"/groups/{group_id}", token=member.token, headers=V13, json=update)
    assert put.status_code == 202, put.text
    listed = volume_api.get(
        "/volumes/detail", token=member.token, headers=V13, params={"group_id": group_id}
    ).json()["volumes"]
    assert [(x["id"], x["group_id"]) for x in listed] == [(loose["id"], group_id)]
    detail = volume_api.get("/groups/detail", token=member.token, headers=V13).json()["groups"]
    assert [g["name"] for g in detail if g["id"] == group_id] == ["g2"]
    assert "belongs to group" in assert_fault(
        volume_api.delete(f"/volumes/{loose['id']}", token=member.token), 400
    )
    action = f"/groups/{group_id}/action"
    refused = volume_api.post(action, token=member.token, headers=V13, json={"delete": {}})
    assert "delete-volumes" in assert_fault(refused, 400)
    gone = {"delete": {"delete-volumes": True}}
    assert volume_api.post(action, token=member.token, headers=V13, json=gone).status_code == 202
    wait_gone(volume_api, f"/volumes/{loose['id']}", member.token)
    assert not has_disk(volume_api, loose["id"])
    wait_gone_at(volume_api, f"/groups/{group_id}", member.token)  # after its volumes
    assert has_disk(volume_api, first["id"])  # removed from the group first: kept


def test_group_snapshots_and_groups_from_them(volume_api: VolumeApi, member: Persona) -> None:
    vtype, gtype = kinds(volume_api)
    group_id = make_group(volume_api, member.token, vtype, gtype)
    volumes = [member_volume(volume_api, member.token, vtype, group_id) for _ in range(2)]
    gsnap = snapshot_group(volume_api, member.token, group_id, "available")
    assert gsnap["group_id"] == group_id and gsnap["group_type_id"] == gtype
    page = volume_api.get(
        "/group_snapshots/detail",
        token=member.token,
        headers=v("3.29"),
        params={"group_id": group_id, "limit": 1, "sort": "name:asc"},
    ).json()
    paged = page["group_snapshots"]
    assert [g["id"] for g in paged] == [gsnap["id"]] and "project_id" not in paged[0]
    # A full page links to the next one, as Cinder's group snapshot list does.
    assert f"marker={gsnap['id']}" in page["group_snapshot_links"][0]["href"]
    snaps = volume_api.get("/snapshots/detail", token=member.token, headers=V14).json()
    mine = [s for s in snaps["snapshots"] if s["group_snapshot_id"] == gsnap["id"]]
    assert sorted(s["volume_id"] for s in mine) == sorted(x["id"] for x in volumes)
    assert "part of group snapshot" in assert_fault(
        volume_api.delete(f"/snapshots/{mine[0]['id']}", token=member.token), 400
    )
    src = {"create-from-src": {"group_snapshot_id": gsnap["id"], "name": "copy"}}
    made = volume_api.post("/groups/action", token=member.token, headers=V14, json=src)
    assert made.status_code == 202, made.text
    copy = wait_status(
        volume_api, f"/groups/{made.json()['group']['id']}", "group", member.token, "available"
    )
    assert copy["group_snapshot_id"] == gsnap["id"] and copy["volume_types"] == [vtype]
    clone = {"create-from-src": {"source_group_id": group_id}}
    cloned = volume_api.post("/groups/action", token=member.token, headers=V14, json=clone)
    assert cloned.status_code == 202, cloned.text
    clone_path = f"/groups/{cloned.json()['group']['id']}"
    listed = wait_status(
        volume_api, clone_path + "?list_volume=true", "group", member.token, "available"
    )
    assert len(listed["volumes"]) == 2 and listed["replication_status"] == "disabled"
    both = {"create-from-src": {"source_group_id": group_id, "group_snapshot_id": gsnap["id"]}}
    assert_fault(volume_api.post("/groups/action", token=member.token, headers=V14, json=both), 400)
    assert_fault(volume_api.post("/groups/action", token=member.token, headers=V13, json=src), 404)
    refused = volume_api.post(
        f"/groups/{group_id}/action",
        token=member.token,
        headers=V13,
        json={"delete": {"delete-volumes": True}},
    )
    assert "group snapshots" in assert_fault(refused, 400)
    reset = {"reset_status": {"status": "error"}}
    gs_action = f"/group_snapshots/{gsnap['id']}/action"
    assert_fault(volume_api.post(gs_action, headers=V14, json=reset), 404)  # 3.19's
    assert_fault(volume_api.post(gs_action, token=member.token, headers=v("3.19"), json=reset), 403)
    assert volume_api.post(gs_action, headers=v("3.19"), json=reset).status_code == 202
    assert (
        volume_api.delete(
            f"/group_snapshots/{gsnap['id']}", token=member.token, headers=V14
        ).status_code
        == 202
    )
    wait_gone(volume_api, f"/snapshots/{mine[0]['id']}", member.token)
    wait_gone_at(volume_api, f"/group_snapshots/{gsnap['id']}", member.token)
    assert not [p for p in volume_api.fake.state.disks if mine[0]["id"] in p]


def test_a_failed_member_fails_the_group_snapshot(
    volume_api: VolumeApi, member: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    vtype, gtype = kinds(volume_api)
    group_id = make_group(volume_api, member.token, vtype, gtype)
    for _ in range(2):
        member_volume(volume_api, member.token, vtype, group_id)
    state = volume_api.fake.state
    original = state.operation
    copies = []

    def second_copy_fails(name: str) -> AbstractContextManager[None]:
        if name == "copy_disk":
            copies.append(name)
            if len(copies) == 2:
                state.fail_next("copy_disk", NoCapacityError("datastore full"))
        return original(name)

    monkeypatch.setattr(state, "operation", second_copy_fails)
    before = {p for p in state.disks if "/snapshot-" in p}
    failed = snapshot_group(volume_api, member.token, group_id, "error")
    assert len(copies) == 2
    snaps = volume_api.get("/snapshots/detail", token=member.token, headers=V14).json()
    assert not [s for s in snaps["snapshots"] if s["group_snapshot_id"] == failed["id"]]
    assert {p for p in state.disks if "/snapshot-" in p} == before  # the first copy is gone
    assert (
        volume_api.delete(
            f"/group_snapshots/{failed['id']}", token=member.token, headers=V14
        ).status_code
        == 202
    )
    assert_fault(
        volume_api.get(f"/group_snapshots/{failed['id']}", token=member.token, headers=V14), 404
    )


def test_replication_reset_status_and_quota(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    vtype, gtype = kinds(volume_api)
    group_id = make_group(volume_api, owner.token, vtype, gtype)
    action = f"/groups/{group_id}/action"
    for name in (
        "enable_replication",
        "disable_replication",
        "failover_replication",
        "list_replication_targets",
    ):
        assert_fault(volume_api.post(action, token=owner.token, headers=V13, json={name: {}}), 404)
        message = assert_fault(
            volume_api.post(action, token=owner.token, headers=V38, json={name: {}}), 400
        )
        assert "replication" in message
    assert "group" in assert_fault(volume_api.delete(f"/types/{vtype}"), 400)
    reset = {"reset_status": {"status": "error"}}
    assert_fault(volume_api.post(action, token=owner.token, headers=v("3.20"), json=reset), 403)
    assert volume_api.post(action, headers=v("3.20"), json=reset).status_code == 202
    shown = volume_api.get(f"/groups/{group_id}", token=owner.token, headers=V13).json()["group"]
    assert shown["status"] == "error"
    replicated = volume_api.post(
        "/group_types",
        headers=V11,
        json={
            "group_type": {
                "name": unique("r"),
                "group_specs": {"consistent_group_replication_enabled": "<is> True"},
            }
        },
    ).json()["group_type"]["id"]
    body = {"group": {"group_type": replicated, "volume_types": [vtype]}}
    assert "replication" in assert_fault(
        volume_api.post("/groups", token=owner.token, headers=V13, json=body), 400
    )
    missing = {"group": {"group_type": gtype, "volume_types": [str(uuid.uuid4())]}}
    assert_fault(volume_api.post("/groups", token=owner.token, headers=V13, json=missing), 404)
    quota = {"quota_set": {"groups": 1}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    over = {"group": {"group_type": gtype, "volume_types": [vtype]}}
    assert "GroupLimitExceeded" in assert_fault(
        volume_api.post("/groups", token=owner.token, headers=V13, json=over), 413
    )
    usage = volume_api.get(f"/os-quota-sets/{owner.project_id}?usage=true").json()["quota_set"]
    assert usage["groups"]["in_use"] == 1
    delete = {"delete": {"delete-volumes": False}}
    assert volume_api.post(action, token=owner.token, headers=V13, json=delete).status_code == 202
    assert_fault(volume_api.get(f"/groups/{group_id}", token=owner.token, headers=V13), 404)
