"""Volume type encryption through HTTP: create, show, show one field, update and delete, each
refused while volumes of the type exist; and what an encrypted type does to a volume create
on vSphere: without a key provider (KMS) in vCenter a 400 that says so, with one a 501 (VM
encryption of the disk is not implemented), never an unencrypted volume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_volumes import assert_fault, create_volume
from vistack.volume.db import queries

pytestmark = VOLUME_ON_SQLITE_ONLY

SPEC = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256}


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


@pytest.fixture
def kind(volume_api: VolumeApi) -> Iterator[dict[str, Any]]:
    response = volume_api.post("/types", json={"volume_type": {"name": unique("enc")}})
    assert response.status_code == 200, response.text
    yield response.json()["volume_type"]
    volume_api.fake.state.key_providers.clear()


def test_encryption_spec_crud(volume_api: VolumeApi, member: Persona, kind: dict[str, Any]) -> None:
    path = f"/types/{kind['id']}/encryption"
    assert volume_api.get(path).json() == {}
    created = volume_api.post(path, json={"encryption": SPEC})
    assert created.status_code == 200, created.text
    spec = created.json()["encryption"]
    assert {k: spec[k] for k in SPEC} == SPEC
    assert (spec["control_location"], spec["volume_type_id"]) == ("front-end", kind["id"])
    assert set(spec) == {*SPEC, "control_location", "volume_type_id", "encryption_id"}
    shown = volume_api.get(path).json()
    assert {"created_at", "updated_at", "deleted_at"} <= set(shown)  # only the show has them
    assert shown["encryption_id"] == spec["encryption_id"] and shown["deleted"] is False
    assert volume_api.get(f"{path}/provider").json() == {"provider": "luks"}
    assert_fault(volume_api.get(f"{path}/nothing"), 404)
    assert_fault(volume_api.post(path, json={"encryption": SPEC}), 400)  # exists already
    assert_fault(volume_api.get(path, token=member.token), 403)
    for bad in ({"cipher": "x"}, {**SPEC, "key_size": "big"}, {**SPEC, "control_location": "x"}):
        other = volume_api.post("/types", json={"volume_type": {"name": unique("enc")}})
        type_id = other.json()["volume_type"]["id"]
        assert_fault(volume_api.post(f"/types/{type_id}/encryption", json={"encryption": bad}), 400)
    update = {"encryption": {"key_size": 512, "control_location": "back-end"}}
    changed = volume_api.put(f"{path}/provider", json=update)
    assert changed.status_code == 200 and changed.json() == update
    assert volume_api.get(path).json()["key_size"] == 512
    # While a volume of the type exists, nothing changes (as the type's row says).
    volume = create_volume(volume_api, member.token)
    services = volume_api.cloud.volume
    assert services is not None
    with services.volumes.store.transaction() as unit:
        row = queries.volume(unit, volume["id"])
        assert row is not None
        original, row.volume_type_id = row.volume_type_id, kind["id"]
    try:
        assert "in use" in assert_fault(volume_api.put(f"{path}/x", json=update), 400)
        assert "in use" in assert_fault(volume_api.delete(f"{path}/x"), 400)
    finally:
        with services.volumes.store.transaction() as unit:
            row = queries.volume(unit, volume["id"])
            assert row is not None
            row.volume_type_id = original
    assert volume_api.delete(f"{path}/{spec['encryption_id']}").status_code == 202
    assert volume_api.get(path).json() == {}
    assert_fault(volume_api.delete(f"{path}/{spec['encryption_id']}"), 404)
    # A type in use cannot be given encryption either.
    used = volume_api.post("/types", json={"volume_type": {"name": unique("enc")}}).json()
    create_volume(volume_api, member.token, volume_type=used["volume_type"]["name"])
    in_use = volume_api.post(
        f"/types/{used['volume_type']['id']}/encryption", json={"encryption": SPEC}
    )
    assert "in use" in assert_fault(in_use, 400)


def test_an_encrypted_type_needs_a_key_provider(
    volume_api: VolumeApi, member: Persona, kind: dict[str, Any]
) -> None:
    path = f"/types/{kind['id']}/encryption"
    assert volume_api.post(path, json={"encryption": SPEC}).status_code == 200
    before = set(volume_api.fake.state.disks)
    body = {"volume": {"size": 1, "volume_type": kind["name"]}}
    refused = volume_api.post("/volumes", token=member.token, json=body)
    assert "key provider" in assert_fault(refused, 400)
    volume_api.fake.state.key_providers.append("kms-cluster-1")
    refused = volume_api.post("/volumes", token=member.token, json=body)
    assert "kms-cluster-1" in assert_fault(refused, 501)
    listed = volume_api.get("/volumes/detail", token=member.token).json()["volumes"]
    assert all(v["volume_type"] != kind["name"] for v in listed)
    assert set(volume_api.fake.state.disks) == before
    # Nor can a volume be retyped to it.
    volume = create_volume(volume_api, member.token)
    retype = {"os-retype": {"new_type": kind["name"]}}
    action = f"/volumes/{volume['id']}/action"
    assert_fault(volume_api.post(action, token=member.token, json=retype), 501)
