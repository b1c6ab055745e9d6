"""Quota classes (`os-quota-class-sets`) and per-volume-type quotas through HTTP.

The `default` class overrides the configured defaults for every project without limits of
its own; other classes are kept and shown. Each volume type has `volumes_<type>`,
`snapshots_<type>` and `gigabytes_<type>`, shown in quota sets, defaults and classes, settable
by an administrator and enforced with Cinder's 413 on create, snapshot, extend, retype and
transfer accept; a renamed type keeps its limits under its new name, a deleted one drops them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_volume_actions import act
from tests.api.test_volume_snapshots import snapshot_of
from tests.api.test_volume_transfers import LEGACY, offer
from tests.api.test_volume_types import make_type
from tests.api.test_volume_volumes import assert_fault, create_volume

CLASSES = "/os-quota-class-sets"


@pytest.fixture
def default_class(volume_api: VolumeApi) -> Iterator[dict[str, Any]]:
    """The default class as it was; put back afterwards (other tests of the module share it)."""
    shown = volume_api.get(f"{CLASSES}/default").json()["quota_class_set"]
    yield shown
    base = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups")
    restore = {k: shown[k] for k in (*base, "per_volume_gigabytes")}
    assert (
        volume_api.put(f"{CLASSES}/default", json={"quota_class_set": restore}).status_code == 200
    )


def quota_set(api: VolumeApi, project_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/os-quota-sets/{project_id}", params=params)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["quota_set"]
    return shown


def set_quotas(api: VolumeApi, project_id: str, **limits: int) -> dict[str, Any]:
    response = api.put(f"/os-quota-sets/{project_id}", json={"quota_set": limits})
    assert response.status_code == 200, response.text
    updated: dict[str, Any] = response.json()["quota_set"]
    return updated


def test_the_default_class_is_every_projects_defaults(
    volume_api: VolumeApi, default_class: dict[str, Any]
) -> None:
    assert default_class["id"] == "default"
    assert (default_class["volumes"], default_class["gigabytes"]) == (20, 200)
    member = persona(volume_api.identity)
    own = persona(volume_api.identity)
    set_quotas(volume_api, own.project_id, volumes=7)
    body = {"quota_class_set": {"volumes": 33, "backups": 4, "id": "default"}}
    updated = volume_api.put(f"{CLASSES}/default", json=body)
    assert updated.status_code == 200, updated.text
    shown = updated.json()["quota_class_set"]
    assert "id" not in shown and (shown["volumes"], shown["backups"]) == (33, 4)
    assert shown["gigabytes"] == 200  # unset: the configured default
    defaults = volume_api.get(f"/os-quota-sets/{member.project_id}/defaults").json()
    assert (defaults["quota_set"]["volumes"], defaults["quota_set"]["backups"]) == (33, 4)
    # A project without limits of its own follows the class (limits too); one with keeps its.
    assert quota_set(volume_api, member.project_id)["volumes"] == 33
    limits = volume_api.get("/limits", token=member.token).json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 33
    assert quota_set(volume_api, own.project_id)["volumes"] == 7
    # Another class is kept and shown, its unset limits the default class's; nobody follows it.
    gold = unique("gold")
    body = {"quota_class_set": {"volumes": 99}}
    assert volume_api.put(f"{CLASSES}/{gold}", json=body).json()["quota_class_set"]["volumes"] == 99
    other = volume_api.get(f"{CLASSES}/{gold}").json()["quota_class_set"]
    assert (other["id"], other["volumes"], other["backups"]) == (gold, 99, 4)
    assert volume_api.get(f"{CLASSES}/default").json()["quota_class_set"]["volumes"] == 33
    # Administrators only; bad keys and values are 400 and change nothing.
    assert_fault(volume_api.get(f"{CLASSES}/default", token=member.token), 403)
    assert_fault(volume_api.put(f"{CLASSES}/default", token=member.token, json=body), 403)
    for bad in ({"cores": 1}, {"volumes": -2}, {"volumes": "many"}, {"volumes": True}):
        refused = volume_api.put(f"{CLASSES}/default", json={"quota_class_set": bad})
        assert_fault(refused, 400)
    assert "Bad key" in assert_fault(
        volume_api.put(f"{CLASSES}/default", json={"quota_class_set": {"volumes_nope": 1}}), 400
    )
    assert_fault(volume_api.put(f"{CLASSES}/default", json={"quotas": {}}), 400)
    assert_fault(volume_api.get(f"{CLASSES}/{'x' * 256}"), 400)
    assert volume_api.get(f"{CLASSES}/default").json()["quota_class_set"]["volumes"] == 33


def test_per_type_quotas_are_shown_set_and_enforced(
    volume_api: VolumeApi, default_class: dict[str, Any]
) -> None:
    owner = persona(volume_api.identity)
    kind = make_type(volume_api)
    name = kind["name"]
    keys = [f"volumes_{name}", f"snapshots_{name}", f"gigabytes_{name}"]
    # Unlimited by default, everywhere quotas are shown (with usage too).
    assert all(quota_set(volume_api, owner.project_id)[k] == -1 for k in keys)
    defaults = volume_api.get(f"/os-quota-sets/{owner.project_id}/defaults").json()
    assert all(defaults["quota_set"][k] == -1 for k in keys)
    assert all(
        volume_api.get(f"{CLASSES}/default").json()["quota_class_set"][k] == -1 for k in keys
    )
    # The default class sets them for every project without its own.
    body = {"quota_class_set": {f"volumes_{name}": 1}}
    assert volume_api.put(f"{CLASSES}/default", json=body).json()["quota_class_set"][keys[0]] == 1
    assert quota_set(volume_api, owner.project_id)[keys[0]] == 1
    first = create_volume(volume_api, owner.token, 2, volume_type=name)
    over = volume_api.post(
        "/volumes", token=owner.token, json={"volume": {"size": 1, "volume_type": name}}
    )
    assert f"'volumes_{name}'" in assert_fault(over, 413)
    create_volume(volume_api, owner.token, 1)  # the default type is not limited by it
    # The project's own limits win; usage is counted per type.
    assert_fault(
        volume_api.put(
            f"/os-quota-sets/{owner.project_id}", json={"quota_set": {f"volumes_{name}": 0}}
        ),
        400,
    )  # below what is in use
    set_quotas(volume_api, owner.project_id, **{keys[0]: 5, keys[1]: 1, keys[2]: 5})
    usage = quota_set(volume_api, owner.project_id, usage="true")
    assert usage[keys[0]] == {"limit": 5, "in_use": 1, "reserved": 0, "allocated": 0}
    assert usage[keys[2]]["in_use"] == 2
    snapshot_of(volume_api, first["id"], owner.token)
    assert quota_set(volume_api, owner.project_id, usage="true")[keys[2]]["in_use"] == 4
    again = volume_api.post(
        "/snapshots", token=owner.token, json={"snapshot": {"volume_id": first["id"]}}
    )
    assert f"'snapshots_{name}'" in assert_fault(again, 413)
    big = volume_api.post(
        "/volumes", token=owner.token, json={"volume": {"size": 2, "volume_type": name}}
    )
    assert f"gigabytes_{name} quota" in assert_fault(big, 413)
    grow = act(volume_api, first["id"], {"os-extend": {"new_size": 4}}, owner.token)
    assert f"gigabytes_{name} quota" in assert_fault(grow, 413)
    # A retype counts the volume (and its snapshots) against the new type.
    plain = create_volume(volume_api, owner.token, 2)
    retype = {"os-retype": {"new_type": name}}
    assert f"gigabytes_{name} quota" in assert_fault(
        act(volume_api, plain["id"], retype, owner.token), 413
    )
    set_quotas(volume_api, owner.project_id, **{keys[2]: 6})
    assert act(volume_api, plain["id"], retype, owner.token).status_code == 202
    assert quota_set(volume_api, owner.project_id, usage="true")[keys[0]]["in_use"] == 2
    # Unknown types are bad keys; renaming keeps the limits under the new name.
    bad = volume_api.put(
        f"/os-quota-sets/{owner.project_id}", json={"quota_set": {"volumes_no-such-type": 1}}
    )
    assert "Bad key" in assert_fault(bad, 400)
    renamed = unique("renamed")
    update = volume_api.put(f"/types/{kind['id']}", json={"volume_type": {"name": renamed}})
    assert update.status_code == 200, update.text
    shown = quota_set(volume_api, owner.project_id)
    assert shown[f"volumes_{renamed}"] == 5 and keys[0] not in shown
    assert volume_api.get(f"{CLASSES}/default").json()["quota_class_set"][f"volumes_{renamed}"] == 1


def test_transfer_accept_checks_the_receivers_type_quota(volume_api: VolumeApi) -> None:
    giver, receiver = persona(volume_api.identity), persona(volume_api.identity)
    kind = make_type(volume_api)
    volume = create_volume(volume_api, giver.token, 1, volume_type=kind["name"])
    created = offer(volume_api, giver.token, volume["id"])
    set_quotas(volume_api, receiver.project_id, **{f"volumes_{kind['name']}": 0})
    accept = f"{LEGACY}/{created['id']}/accept"
    body = {"accept": {"auth_key": created["auth_key"]}}
    refused = volume_api.post(accept, token=receiver.token, json=body)
    assert f"'volumes_{kind['name']}'" in assert_fault(refused, 413)
    set_quotas(volume_api, receiver.project_id, **{f"volumes_{kind['name']}": 1})
    assert volume_api.post(accept, token=receiver.token, json=body).status_code == 202


def test_deleting_a_type_drops_its_limits(volume_api: VolumeApi) -> None:
    member: Persona = persona(volume_api.identity)
    kind = make_type(volume_api)
    key = f"gigabytes_{kind['name']}"
    set_quotas(volume_api, member.project_id, **{key: 3})
    body = {"quota_class_set": {key: 8}}
    assert volume_api.put(f"{CLASSES}/{unique('cls')}", json=body).status_code == 200
    assert volume_api.delete(f"/types/{kind['id']}").status_code == 202
    assert key not in quota_set(volume_api, member.project_id)
    # A new type of the same name starts unlimited: the old limits went with the old type.
    again = make_type(volume_api, name=kind["name"])
    assert quota_set(volume_api, member.project_id)[key] == -1
    assert volume_api.delete(f"/types/{again['id']}").status_code == 202
    # Deleting the project's quotas drops its per-type limits too.
    other = make_type(volume_api)
    set_quotas(volume_api, member.project_id, **{f"volumes_{other['name']}": 2})
    assert volume_api.delete(f"/os-quota-sets/{member.project_id}").status_code == 200
    assert quota_set(volume_api, member.project_id)[f"volumes_{other['name']}"] == -1
