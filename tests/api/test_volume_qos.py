"""QoS specs through HTTP: create (consumers, the keys vSphere can apply), list, show, update,
delete_keys, associate / disassociate / disassociate_all with volume types, associations, the
delete refused while associated (unless forced); and the effect: a volume of an associated type
attached to a server through Nova gets the IOPS limit and shares on the VM's disk.

Run on the compute cloud, with its own block storage service behind Nova's volume port."""

from __future__ import annotations

from typing import Any

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, mv
from tests.api.conftest import ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture, unique
from tests.api.test_compute_servers import wait_status
from tests.api.test_volume_volumes import assert_fault, create_volume, wait_volume
from vistack.drivers.models import DiskIo

member = persona_fixture("compute_api")
env = env_fixture("10.44.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()


def make_qos(api: VolumeApi, consumer: str = "front-end", **specs: Any) -> dict[str, Any]:
    body = {"qos_specs": {"name": unique("qos"), "consumer": consumer, **specs}}
    response = api.post("/qos-specs", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["qos_specs"]
    return created


def make_type(api: VolumeApi) -> dict[str, Any]:
    response = api.post("/types", json={"volume_type": {"name": unique("type")}})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["volume_type"]
    return created


def test_qos_spec_crud_and_associations(cinder: VolumeApi, env: Env) -> None:
    created = make_qos(cinder, total_iops_sec="300", shares="high")
    assert created["specs"] == {"total_iops_sec": "300", "shares": "high"}
    path = f"/qos-specs/{created['id']}"
    shown = cinder.get(path)
    assert shown.json()["qos_specs"] == created and shown.json()["links"]
    default = make_qos(cinder, consumer="back-end", read_bytes_sec="1000", anything="kept")
    assert default["consumer"] == "back-end"  # stored only: this back-end reads none of them
    listed = cinder.get("/qos-specs").json()["qos_specs"]
    assert {created["id"], default["id"]} <= {q["id"] for q in listed}
    updated = cinder.put(path, json={"qos_specs": {"maxIOPS": "300"}})
    assert updated.status_code == 200 and updated.json() == {"qos_specs": {"maxIOPS": "300"}}
    assert cinder.put(f"{path}/delete_keys", json={"keys": ["maxIOPS"]}).status_code == 202
    assert_fault(cinder.put(f"{path}/delete_keys", json={"keys": ["maxIOPS"]}), 404)
    # A member may not manage QoS specs.
    assert_fault(cinder.get("/qos-specs", token=env.member.token), 403)

    kind = make_type(cinder)
    assert cinder.get(f"{path}/associate", params={"vol_type_id": kind["id"]}).status_code == 202
    shown_type = cinder.get(f"/types/{kind['id']}").json()["volume_type"]
    assert shown_type["qos_specs_id"] == created["id"]
    listed_types = cinder.get("/types").json()["volume_types"]
    assert [t["qos_specs_id"] for t in listed_types if t["id"] == kind["id"]] == [created["id"]]
    assert cinder.get(f"{path}/associations").json() == {
        "qos_associations": [
            {"association_type": "volume_type", "name": kind["name"], "id": kind["id"]}
        ]
    }
    other = f"/qos-specs/{default['id']}"
    assert_fault(cinder.get(f"{other}/associate", params={"vol_type_id": kind["id"]}), 400)
    assert_fault(cinder.get(f"{path}/associate"), 400)
    assert_fault(cinder.get(f"{path}/associate", params={"vol_type_id": "nope"}), 404)
    assert "associated" in assert_fault(cinder.delete(path), 400)
    params = {"vol_type_id": kind["id"]}
    assert cinder.get(f"{path}/disassociate", params=params).status_code == 202
    assert cinder.get(f"{path}/associations").json() == {"qos_associations": []}
    assert cinder.get(f"{other}/associate", params=params).status_code == 202
    assert cinder.get(f"{other}/disassociate_all").status_code == 202
    assert cinder.get(f"{other}/associations").json() == {"qos_associations": []}
    assert cinder.get(f"{path}/associate", params=params).status_code == 202
    assert cinder.delete(path, params={"force": "True"}).status_code == 202
    assert_fault(cinder.get(path), 404)
    assert cinder.delete(other).status_code == 202


def test_keys_vsphere_cannot_apply_are_refused(cinder: VolumeApi) -> None:
    for specs in (
        {"read_iops_sec": "100"},
        {"total_bytes_sec": "1000"},
        {"total_iops_sec": "fast"},
        {"total_iops_sec": "100", "limit": "200"},
        {"shares": "lots"},
    ):
        body = {"qos_specs": {"name": unique("qos"), "consumer": "both", **specs}}
        message = assert_fault(cinder.post("/qos-specs", json=body), 400)
        assert "total_iops_sec" in message or "shares" in message or "IOPS" in message
    bad = {"qos_specs": {"name": unique("qos"), "consumer": "sideways"}}
    assert_fault(cinder.post("/qos-specs", json=bad), 400)
    created = make_qos(cinder, consumer="back-end", read_iops_sec="10")
    # Turning a back-end spec to front-end keeps its keys, so it must be refused.
    to_front = {"qos_specs": {"consumer": "front-end"}}
    assert_fault(cinder.put(f"/qos-specs/{created['id']}", json=to_front), 400)
    dup = {"qos_specs": {"name": created["name"]}}
    assert_fault(cinder.post("/qos-specs", json=dup), 409)


def test_attached_volume_gets_the_types_iops_limit(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env
) -> None:
    token = env.member.token
    qos = make_qos(cinder, total_iops_sec="500", shares="2000")
    kind = make_type(cinder)
    params = {"vol_type_id": kind["id"]}
    assert cinder.get(f"/qos-specs/{qos['id']}/associate", params=params).status_code == 202
    volume = create_volume(cinder, token, 1, volume_type=kind["name"])
    plain = create_volume(cinder, token, 1)
    server_id = active_server(compute_api, env)
    for each in (volume, plain):
        body = {"volumeAttachment": {"volumeId": each["id"]}}
        response = compute_api.post(
            f"/servers/{server_id}/os-volume_attachments", token=token, json=body, headers=mv("2.1")
        )
        assert response.status_code == 200, response.text
        wait_volume(cinder, each["id"], token, "in-use")
    disks = {d.path: d for d in compute_api.fake.drivers().compute.get_vm(server_id).disks}
    state = compute_api.fake.state
    limited = next(p for p in disks if p.endswith(f"/{volume['id']}.vmdk"))
    unlimited = next(p for p in disks if p.endswith(f"/{plain['id']}.vmdk"))
    assert state.disks[limited].io == DiskIo(iops_limit=500, shares_level="custom", shares=2000)
    assert state.disks[unlimited].io is None
    # A volume made for a server's build (block_device_mapping_v2, 2.67's volume_type) too.
    blank = {
        "source_type": "blank",
        "destination_type": "volume",
        "volume_size": 1,
        "volume_type": kind["name"],
        "boot_index": -1,
        "delete_on_termination": True,
    }
    fields = {
        "name": unique("vm"),
        "imageRef": env.image_id,
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping_v2": [blank],
    }
    response = compute_api.post(
        "/servers", token=token, json={"server": fields}, headers=mv("2.67")
    )
    assert response.status_code == 202, response.text
    built = response.json()["server"]["id"]
    wait_status(compute_api, built, token, "ACTIVE")
    volumes = compute_api.fake.drivers().compute.get_vm(built).disks
    made = [d.path for d in volumes if "] volumes/" in d.path]
    assert [state.disks[p].io for p in made] == [DiskIo(500, "custom", 2000)]
