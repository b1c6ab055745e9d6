"""Volume types through HTTP: the default type, create/list/show/update/delete by an
administrator, extra specs (validated where this cloud reads them), private types and their
project access, and how a type steers placement and provisioning."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.drivers.models import Provisioning


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def make_type(api: VolumeApi, **fields: Any) -> dict[str, Any]:
    body = {"volume_type": {"name": unique("type"), **fields}}
    response = api.post("/types", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["volume_type"]
    return created


def test_default_type_exists_and_is_shown(volume_api: VolumeApi, member: Persona) -> None:
    default = volume_api.get("/types/default", token=member.token)
    assert default.status_code == 200
    assert default.json()["volume_type"]["name"] == "__DEFAULT__"
    listed = volume_api.get("/types", token=member.token).json()["volume_types"]
    assert "__DEFAULT__" in {t["name"] for t in listed}
    by_id = volume_api.get(f"/types/{default.json()['volume_type']['id']}", token=member.token)
    assert by_id.json()["volume_type"]["name"] == "__DEFAULT__"
    assert_fault(volume_api.delete(f"/types/{default.json()['volume_type']['id']}"), 400)


def test_type_crud_by_an_administrator(volume_api: VolumeApi, member: Persona) -> None:
    created = make_type(volume_api, description="fast", extra_specs={"a": "b"})
    assert created["is_public"] is True and created["os-volume-type-access:is_public"] is True
    assert created["extra_specs"] == {"a": "b"} and "qos_specs_id" not in created
    type_id = created["id"]
    update = volume_api.put(
        f"/types/{type_id}",
        json={"volume_type": {"name": created["name"] + "x", "description": "d"}},
    )
    assert update.status_code == 200, update.text
    assert set(update.json()["volume_type"]) == {
        "id",
        "name",
        "description",
        "is_public",
        "extra_specs",
    }
    shown = volume_api.get(f"/types/{created['name']}x", token=member.token).json()["volume_type"]
    assert shown["description"] == "d" and shown["qos_specs_id"] is None
    assert_fault(volume_api.post("/types", json={"volume_type": {"name": shown["name"]}}), 409)
    assert_fault(volume_api.post("/types", json={"volume_type": {"name": " "}}), 400)
    assert_fault(volume_api.post("/types", json={"volume_type": {"name": "x" * 256}}), 400)
    assert_fault(volume_api.put(f"/types/{type_id}", json={"volume_type": {}}), 400)
    assert_fault(
        volume_api.post("/types", token=member.token, json={"volume_type": {"name": "m"}}), 403
    )
    assert_fault(volume_api.delete(f"/types/{type_id}", token=member.token), 403)
    assert volume_api.delete(f"/types/{type_id}").status_code == 202
    assert_fault(volume_api.get(f"/types/{type_id}"), 404)
    assert_fault(volume_api.delete(f"/types/{type_id}"), 404)


def test_a_type_in_use_cannot_be_deleted(volume_api: VolumeApi, member: Persona) -> None:
    created = make_type(volume_api)
    volume = create_volume(volume_api, member.token, volume_type=created["name"])
    assert volume["volume_type"] == created["name"]
    assert "volumes present" in assert_fault(volume_api.delete(f"/types/{created['id']}"), 400)


def test_extra_specs_crud_and_validation(volume_api: VolumeApi, member: Persona) -> None:
    type_id = make_type(volume_api)["id"]
    path = f"/types/{type_id}/extra_specs"
    created = volume_api.post(path, json={"extra_specs": {"vmware:vmdk_type": "thick", "k": "v"}})
    assert created.status_code == 200, created.text
    assert volume_api.get(path, token=member.token).json()["extra_specs"] == {
        "vmware:vmdk_type": "thick",
        "k": "v",
    }
    assert volume_api.get(f"{path}/k", token=member.token).json() == {"k": "v"}
    assert volume_api.put(f"{path}/k", json={"k": "w"}).json() == {"k": "w"}
    assert_fault(volume_api.put(f"{path}/k", json={"j": "w"}), 400)
    assert_fault(volume_api.post(path, json={"extra_specs": {"vmware:vmdk_type": "fat"}}), 400)
    bad_regex = {"extra_specs": {"vmware:datastore_regex": "(["}}
    assert "regular expression" in assert_fault(volume_api.post(path, json=bad_regex), 400)
    assert_fault(volume_api.post(path, json={"extra_specs": "x"}), 400)
    assert_fault(volume_api.post(path, token=member.token, json={"extra_specs": {"a": "b"}}), 403)
    assert volume_api.delete(f"{path}/k").status_code == 202
    assert_fault(volume_api.get(f"{path}/k"), 404)
    assert_fault(volume_api.delete(f"{path}/k"), 404)
    assert_fault(volume_api.get(f"/types/{uuid.uuid4()}/extra_specs"), 404)


def test_a_type_places_and_provisions_its_volumes(volume_api: VolumeApi, member: Persona) -> None:
    datastores = sorted(volume_api.fake.state.datastores)
    target = datastores[-1]
    specs = {"vmware:datastore_regex": f"{target}", "vmware:vmdk_type": "eagerZeroedThick"}
    created = make_type(volume_api, extra_specs=specs)
    volume = create_volume(volume_api, member.token, volume_type=created["id"])
    disk = volume_api.fake.state.disks[disk_of(volume_api, volume["id"])]
    assert disk.datastore == target and disk.provisioning == Provisioning.EAGER_ZEROED_THICK


def test_a_type_matching_no_datastore_gives_an_error_volume(
    volume_api: VolumeApi, member: Persona
) -> None:
    created = make_type(volume_api, extra_specs={"vmware:datastore_regex": "nowhere-.*"})
    response = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "volume_type": created["name"]}}
    )
    assert response.status_code == 202
    wait_volume(volume_api, response.json()["volume"]["id"], member.token, "error")


def test_private_types_and_access(volume_api: VolumeApi, member: Persona) -> None:
    private = make_type(volume_api, **{"os-volume-type-access:is_public": False})
    assert private["is_public"] is False
    hidden = volume_api.get("/types", token=member.token).json()["volume_types"]
    assert private["id"] not in {t["id"] for t in hidden}
    assert_fault(volume_api.get(f"/types/{private['id']}", token=member.token), 404)
    refused = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "volume_type": private["id"]}}
    )
    assert_fault(refused, 404)
    action = f"/types/{private['id']}/action"
    add = {"addProjectAccess": {"project": member.project_id}}
    assert volume_api.post(action, json=add).status_code == 202
    assert_fault(volume_api.post(action, json=add), 409)
    access = volume_api.get(f"/types/{private['id']}/os-volume-type-access").json()
    assert access == {
        "volume_type_access": [{"volume_type_id": private["id"], "project_id": member.project_id}]
    }
    visible = volume_api.get("/types", token=member.token).json()["volume_types"]
    assert private["id"] in {t["id"] for t in visible}
    create_volume(volume_api, member.token, volume_type=private["id"])
    remove = {"removeProjectAccess": {"project": member.project_id}}
    assert volume_api.post(action, json=remove).status_code == 202
    assert_fault(volume_api.post(action, json=remove), 404)
    assert_fault(volume_api.post(action, json={"addProjectAccess": {}}), 400)
    assert_fault(volume_api.post(action, json={"frob": {}}), 400)
    public = make_type(volume_api)
    assert_fault(volume_api.get(f"/types/{public['id']}/os-volume-type-access"), 404)
    assert_fault(volume_api.post(f"/types/{public['id']}/action", json=add), 400)
    only_public = volume_api.get("/types", params={"is_public": "false"}).json()["volume_types"]
    assert {t["is_public"] for t in only_public} == {False}


def test_type_list_follows_cinders_filter_sort_and_paging(
    volume_api: VolumeApi, member: Persona
) -> None:
    """Cinder's list: an administrator's `is_public` (absent or true: the public types and
    those given to its project; false: the private ones; none: all), a member's list the
    public types and those given to its project whatever it asks; sort and page parameters."""
    tag = unique("")
    public_a = make_type(volume_api, name=f"a{tag}")
    private_b = make_type(volume_api, name=f"b{tag}", **{"os-volume-type-access:is_public": False})
    public_c = make_type(volume_api, name=f"c{tag}")
    mine = {public_a["id"]: "a", private_b["id"]: "b", public_c["id"]: "c"}

    def listed(query: str, token: str | None = None) -> list[str]:
        response = volume_api.get(f"/types?{query}", token=token)
        assert response.status_code == 200, response.text
        return [mine[t["id"]] for t in response.json()["volume_types"] if t["id"] in mine]

    assert sorted(listed("")) == sorted(listed("is_public=true")) == ["a", "c"]
    assert listed("is_public=false") == ["b"]
    assert listed("is_public=None&sort=name:asc") == ["a", "b", "c"]
    assert listed("is_public=none&sort_key=name&sort_dir=desc") == ["c", "b", "a"]
    assert listed("is_public=none&sort=name:asc", token=member.token) == ["a", "c"]
    action = f"/types/{private_b['id']}/action"
    add = {"addProjectAccess": {"project": member.project_id}}
    assert volume_api.post(action, json=add).status_code == 202
    assert listed("sort=name", token=member.token) == ["c", "b", "a"]
    first = volume_api.get("/types?is_public=none&sort=name:asc&limit=1").json()
    assert len(first["volume_types"]) == 1 and "volume_type_links" not in first
    after = volume_api.get(f"/types?is_public=none&sort=name:asc&marker={public_a['id']}")
    assert [mine[t["id"]] for t in after.json()["volume_types"] if t["id"] in mine] == ["b", "c"]
    assert_fault(volume_api.get("/types?is_public=maybe"), 400)
    assert_fault(volume_api.get("/types?sort=size"), 400)
    assert_fault(volume_api.get("/types?sort_dir=sideways"), 400)
    assert_fault(volume_api.get(f"/types?marker={uuid.uuid4()}"), 404)
