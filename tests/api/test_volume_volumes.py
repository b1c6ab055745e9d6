"""Cinder volumes through HTTP: create (blank, from an image, a volume, a snapshot), list and
detail with filters, sorting and paging, show, update, delete (with its refusals), metadata,
the project in the URL, and the disks that appear and go on the fake vCenter.

The helpers at the top are shared by the other `test_volume_*` API suites."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ImageApi, VolumeApi
from tests.api.helpers import Persona, persona, unique
from tests.image_files import make_vmdk

OCTET = {"Content-Type": "application/octet-stream"}
FAULTS = {
    400: "badRequest",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def assert_fault(response: Any, code: int) -> str:
    """The response is a Cinder fault with this code; returns its message."""
    assert response.status_code == code, response.text
    body = response.json()
    assert list(body) == [FAULTS[code]], body
    assert body[FAULTS[code]]["code"] == code
    message: str = body[FAULTS[code]]["message"]
    assert message
    return message


def wait_volume(api: VolumeApi, volume_id: str, token: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = api.get(f"/volumes/{volume_id}", token=token)
        assert response.status_code == 200, response.text
        volume: dict[str, Any] = response.json()["volume"]
        if volume["status"] in statuses:
            return volume
        assert time.monotonic() < deadline, volume
        time.sleep(0.02)


def wait_gone(api: VolumeApi, path: str, token: str) -> None:
    deadline = time.monotonic() + 20
    while api.get(path, token=token).status_code != 404:
        assert time.monotonic() < deadline, path
        time.sleep(0.02)


def create_volume(api: VolumeApi, token: str, size: int = 1, **fields: Any) -> dict[str, Any]:
    """A volume made through the API and waited for (`available`)."""
    response = api.post("/volumes", token=token, json={"volume": {"size": size, **fields}})
    assert response.status_code == 202, response.text
    return wait_volume(api, response.json()["volume"]["id"], token, "available")


def disk_of(api: VolumeApi, volume_id: str) -> str:
    """The volume's disk on the fake vCenter (by its name: the volume id)."""
    found = [p for p in api.fake.state.disks if p.endswith(f"/{volume_id}.vmdk")]
    assert len(found) == 1, found
    return found[0]


def has_disk(api: VolumeApi, volume_id: str) -> bool:
    return any(p.endswith(f"/{volume_id}.vmdk") for p in api.fake.state.disks)


def vmdk_image(api: VolumeApi, scratch: Path, **fields: Any) -> str:
    """A public VMDK image uploaded to a datastore store of the same cloud."""
    images = ImageApi(api.cloud, api.client, api.fake)
    body = {
        "name": unique("vmdk"),
        "disk_format": "vmdk",
        "container_format": "bare",
        "visibility": "public",
        **fields,
    }
    created = images.post("/v2/images", json=body)
    assert created.status_code == 201, created.text
    image_id = str(created.json()["id"])
    data = make_vmdk(scratch, size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image_id}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    return image_id


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


@pytest.fixture(scope="module")
def other(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


# -- create ------------------------------------------------------------------------------------


def test_create_a_blank_volume_makes_its_disk(volume_api: VolumeApi, member: Persona) -> None:
    response = volume_api.post(
        "/volumes",
        token=member.token,
        json={"volume": {"size": 2, "name": "data", "description": "d", "metadata": {"a": "1"}}},
    )
    assert response.status_code == 202, response.text
    created = response.json()["volume"]
    assert created["status"] == "creating"
    assert "os-vol-tenant-attr:tenant_id" not in created  # not in Cinder's create answer
    volume = wait_volume(volume_api, created["id"], member.token, "available")
    assert (volume["name"], volume["description"], volume["size"]) == ("data", "d", 2)
    assert volume["metadata"] == {"a": "1"}
    assert volume["bootable"] == "false" and volume["attachments"] == []
    assert volume["volume_type"] == "__DEFAULT__"
    assert volume["availability_zone"] == "nova"
    assert volume["os-vol-tenant-attr:tenant_id"] == member.project_id
    assert volume["user_id"] == member.user_id
    assert "os-vol-host-attr:host" not in volume  # administrators only
    disk = volume_api.fake.state.disks[disk_of(volume_api, volume["id"])]
    assert disk.capacity_gb == 2
    # The admin sees which datastore (pool) holds it.
    shown = volume_api.get(f"/volumes/{volume['id']}").json()["volume"]
    assert shown["os-vol-host-attr:host"].endswith(f"@vmware#{disk.datastore}")


def test_the_datastore_with_most_free_space_is_chosen(
    volume_api: VolumeApi, member: Persona
) -> None:
    state = volume_api.fake.state
    free = {
        name: ds.capacity_gb - state.datastore_used_gb(name)
        for name, ds in state.datastores.items()
    }
    best = sorted(free, key=lambda n: (-free[n], n))[0]
    volume = create_volume(volume_api, member.token)
    assert state.disks[disk_of(volume_api, volume["id"])].datastore == best


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"volume": {}}, "size is required"),
        ({"volume": {"size": 0}}, "greater than 0"),
        ({"volume": {"size": "big"}}, "integer"),
        ({"volume": {"size": True}}, "boolean"),
        ({"volume": {"size": 1, "availability_zone": "elsewhere"}}, "Availability zone"),
        ({"volume": {"size": 1, "volume_type": "no-such-type"}}, None),
        ({"volume": {"size": 1, "metadata": {"k": 1}}}, "must be a string"),
        ({"volume": {"size": 1, "metadata": {"": "v"}}}, "key blank"),
        ({"volume": {"size": 1, "name": "x" * 256}}, "255"),
        ({"volume": {"size": 1, "backup_id": str(uuid.uuid4())}}, "backup_id"),
        ({"volume": {"size": 1, "snapshot_id": "a", "source_volid": "b"}}, "Only one"),
        ({"volumes": {"size": 1}}, "'volume'"),
        ([], "'volume'"),
    ],
)
def test_bad_creates_are_refused(
    volume_api: VolumeApi, member: Persona, body: Any, fragment: str | None
) -> None:
    before = set(volume_api.fake.state.disks)
    response = volume_api.post("/volumes", token=member.token, json=body)
    if fragment is None:
        assert_fault(response, 404)
    else:
        assert fragment in assert_fault(response, 400)
    listed = volume_api.get("/volumes", token=member.token).json()["volumes"]
    assert all(v["name"] != "x" * 256 for v in listed)
    assert set(volume_api.fake.state.disks) == before


def test_no_room_on_any_datastore_is_an_error_volume_without_disk(
    volume_api: VolumeApi,
) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"gigabytes": -1, "per_volume_gigabytes": -1}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    biggest = max(ds.capacity_gb for ds in volume_api.fake.state.datastores.values())
    response = volume_api.post(
        "/volumes", token=owner.token, json={"volume": {"size": biggest + 1}}
    )
    assert response.status_code == 202, response.text
    volume = wait_volume(volume_api, response.json()["volume"]["id"], owner.token, "error")
    assert not has_disk(volume_api, volume["id"])
    delete = volume_api.delete(f"/volumes/{volume['id']}", token=owner.token)
    assert delete.status_code == 202
    wait_gone(volume_api, f"/volumes/{volume['id']}", owner.token)


def test_a_failing_vcenter_leaves_an_error_volume_and_no_disk(
    volume_api: VolumeApi, member: Persona
) -> None:
    from vistack.drivers.errors import TransientError

    volume_api.fake.state.fail_next("create_disk", TransientError("vCenter went away"))
    response = volume_api.post("/volumes", token=member.token, json={"volume": {"size": 1}})
    volume = wait_volume(volume_api, response.json()["volume"]["id"], member.token, "error")
    assert not has_disk(volume_api, volume["id"])


def test_create_from_an_image_copies_its_disk_and_is_bootable(
    volume_api: VolumeApi, member: Persona, tmp_path: Path
) -> None:
    image_id = vmdk_image(volume_api, tmp_path, os_distro="ubuntu")
    volume = create_volume(volume_api, member.token, 2, imageRef=image_id)
    assert volume["bootable"] == "true"
    metadata = volume["volume_image_metadata"]
    assert metadata["image_id"] == image_id
    assert metadata["disk_format"] == "vmdk" and metadata["os_distro"] == "ubuntu"
    assert volume_api.fake.state.disks[disk_of(volume_api, volume["id"])].capacity_gb == 2


def test_bad_image_sources_are_refused(
    volume_api: VolumeApi, member: Persona, tmp_path: Path
) -> None:
    missing = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "imageRef": str(uuid.uuid4())}}
    )
    assert_fault(missing, 404)
    image_id = vmdk_image(volume_api, tmp_path, min_disk=5)
    small = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "imageRef": image_id}}
    )
    assert "at least 5 GB" in assert_fault(small, 400)
    images = ImageApi(volume_api.cloud, volume_api.client, volume_api.fake)
    queued = images.post(
        "/v2/images", json={"name": unique("q"), "disk_format": "vmdk", "container_format": "bare"}
    ).json()["id"]
    not_active = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"size": 1, "imageRef": queued}}
    )
    # Another project's private image is not found; the admin's own queued one is not active.
    assert not_active.status_code in (400, 404), not_active.text
    admin_try = volume_api.post("/volumes", json={"volume": {"size": 1, "imageRef": queued}})
    assert "not active" in assert_fault(admin_try, 400)


def test_create_from_a_volume_copies_it(volume_api: VolumeApi, member: Persona) -> None:
    source = create_volume(volume_api, member.token, 1, metadata={"k": "v"})
    clone = create_volume(volume_api, member.token, 3, source_volid=source["id"])
    assert clone["source_volid"] == source["id"]
    assert clone["metadata"] == {}
    assert volume_api.fake.state.disks[disk_of(volume_api, clone["id"])].capacity_gb == 3
    sized = volume_api.post(
        "/volumes", token=member.token, json={"volume": {"source_volid": source["id"]}}
    )
    assert sized.status_code == 202
    assert (
        wait_volume(volume_api, sized.json()["volume"]["id"], member.token, "available")["size"]
        == 1
    )
    smaller = volume_api.post(
        "/volumes",
        token=member.token,
        json={"volume": {"size": 1, "source_volid": clone["id"]}},
    )
    assert "cannot be smaller" in assert_fault(smaller, 400)
    other = persona(volume_api.identity)
    hidden = volume_api.post(
        "/volumes", token=other.token, json={"volume": {"size": 1, "source_volid": source["id"]}}
    )
    assert_fault(hidden, 404)


# -- list, show ---------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    made = [
        create_volume(volume_api, owner.token, size, name=f"v{size}", metadata={"tier": tier})
        for size, tier in ((1, "gold"), (2, "silver"), (3, "gold"))
    ]
    ids = [v["id"] for v in made]
    listed = volume_api.get("/volumes", token=owner.token).json()
    assert [v["id"] for v in listed["volumes"]] == ids[::-1]  # newest first
    assert set(listed["volumes"][0]) == {"id", "name", "links"}
    assert "volumes_links" not in listed
    detail = volume_api.get("/volumes/detail", token=owner.token).json()["volumes"]
    assert {v["size"] for v in detail} == {1, 2, 3}

    def names(**params: str) -> list[str]:
        response = volume_api.get("/volumes/detail", token=owner.token, params=params)
        assert response.status_code == 200, response.text
        return [v["name"] for v in response.json()["volumes"]]

    assert names(name="v2") == ["v2"]
    assert names(sort="size:asc") == ["v1", "v2", "v3"]
    assert names(sort_key="name", sort_dir="asc") == ["v1", "v2", "v3"]
    assert names(metadata='{"tier": "gold"}', sort="name:asc") == ["v1", "v3"]
    assert names(status="error") == []
    assert names(bootable="false", sort="name:desc") == ["v3", "v2", "v1"]
    first = volume_api.get("/volumes", token=owner.token, params={"limit": 2, "sort": "name:asc"})
    body = first.json()
    assert [v["name"] for v in body["volumes"]] == ["v1", "v2"]
    next_href = body["volumes_links"][0]["href"]
    assert f"marker={ids[1]}" in next_href
    rest = volume_api.get(
        "/volumes", token=owner.token, params={"limit": 2, "sort": "name:asc", "marker": ids[1]}
    ).json()
    assert [v["name"] for v in rest["volumes"]] == ["v3"] and "volumes_links" not in rest
    assert_fault(volume_api.get("/volumes", token=owner.token, params={"sort": "color"}), 400)
    assert_fault(volume_api.get("/volumes", token=owner.token, params={"sort": "id:up"}), 400)
    assert_fault(volume_api.get("/volumes", token=owner.token, params={"limit": "x"}), 400)
    marker = volume_api.get("/volumes", token=owner.token, params={"marker": str(uuid.uuid4())})
    assert_fault(marker, 404)


def test_projects_see_only_their_own_and_admins_all_tenants(
    volume_api: VolumeApi, member: Persona, other: Persona
) -> None:
    mine = create_volume(volume_api, member.token)
    theirs = volume_api.get("/volumes/detail", token=other.token).json()["volumes"]
    assert mine["id"] not in {v["id"] for v in theirs}
    assert_fault(volume_api.get(f"/volumes/{mine['id']}", token=other.token), 404)
    assert_fault(
        volume_api.put(f"/volumes/{mine['id']}", token=other.token, json={"volume": {"name": "x"}}),
        404,
    )
    assert_fault(volume_api.delete(f"/volumes/{mine['id']}", token=other.token), 404)
    admin_own = volume_api.get("/volumes").json()["volumes"]
    assert mine["id"] not in {v["id"] for v in admin_own}
    everyone = volume_api.get("/volumes", params={"all_tenants": "1"}).json()["volumes"]
    assert mine["id"] in {v["id"] for v in everyone}
    by_project = volume_api.get(
        "/volumes", params={"all_tenants": "1", "project_id": member.project_id}
    ).json()["volumes"]
    assert mine["id"] in {v["id"] for v in by_project}
    assert_fault(volume_api.get("/volumes", token=member.token, params={"all_tenants": "1"}), 403)


def test_the_project_in_the_url(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    client = volume_api.client
    headers = {"X-Auth-Token": member.token}
    ok = client.get(f"/volume/v3/{member.project_id}/volumes/{volume['id']}", headers=headers)
    assert ok.status_code == 200
    assert ok.headers["OpenStack-API-Version"] == "volume 3.0"
    wrong = client.get(f"/volume/v3/{uuid.uuid4().hex}/volumes/{volume['id']}", headers=headers)
    assert "project_id" in assert_fault(wrong, 400)
    # An administrator may work through another project's URL.
    admin = client.get(
        f"/volume/v3/{member.project_id}/volumes/{volume['id']}",
        headers={"X-Auth-Token": volume_api.admin_token},
    )
    assert admin.status_code == 200
    unauthenticated = client.get(f"/volume/v3/{member.project_id}/volumes")
    assert unauthenticated.status_code == 401
    assert list(unauthenticated.json()) == ["unauthorized"]


# -- update, metadata ----------------------------------------------------------------------------


def test_update_name_description_metadata(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token, metadata={"a": "1"})
    response = volume_api.put(
        f"/volumes/{volume['id']}",
        token=member.token,
        json={"volume": {"name": "new", "description": "text", "metadata": {"b": "2"}}},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["volume"]
    assert (updated["name"], updated["description"], updated["metadata"]) == (
        "new",
        "text",
        {"b": "2"},
    )
    assert_fault(
        volume_api.put(f"/volumes/{volume['id']}", token=member.token, json={"volume": {}}), 400
    )
    assert_fault(
        volume_api.put(
            f"/volumes/{uuid.uuid4()}", token=member.token, json={"volume": {"name": "x"}}
        ),
        404,
    )


def test_metadata_sub_resource(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token, metadata={"a": "1"})
    path = f"/volumes/{volume['id']}/metadata"
    added = volume_api.post(path, token=member.token, json={"metadata": {"b": "2"}})
    assert added.status_code == 200 and added.json()["metadata"] == {"a": "1", "b": "2"}
    assert volume_api.get(path, token=member.token).json()["metadata"] == {"a": "1", "b": "2"}
    replaced = volume_api.put(path, token=member.token, json={"metadata": {"c": "3"}})
    assert replaced.json()["metadata"] == {"c": "3"}
    item = volume_api.put(f"{path}/c", token=member.token, json={"meta": {"c": "4"}})
    assert item.status_code == 200 and item.json() == {"meta": {"c": "4"}}
    assert volume_api.get(f"{path}/c", token=member.token).json() == {"meta": {"c": "4"}}
    assert_fault(volume_api.put(f"{path}/c", token=member.token, json={"meta": {"d": "4"}}), 400)
    assert_fault(
        volume_api.put(f"{path}/c", token=member.token, json={"meta": {"c": "1", "d": "2"}}), 400
    )
    assert_fault(volume_api.post(path, token=member.token, json={"meta": {}}), 400)
    assert_fault(
        volume_api.post(path, token=member.token, json={"metadata": {"k": "v" * 256}}), 400
    )
    assert volume_api.delete(f"{path}/c", token=member.token).status_code == 200
    assert_fault(volume_api.get(f"{path}/c", token=member.token), 404)
    assert_fault(volume_api.delete(f"{path}/c", token=member.token), 404)
    assert volume_api.get(path, token=member.token).json()["metadata"] == {}


# -- delete ------------------------------------------------------------------------------------


def test_delete_removes_volume_and_disk(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    assert has_disk(volume_api, volume["id"])
    assert volume_api.delete(f"/volumes/{volume['id']}", token=member.token).status_code == 202
    wait_gone(volume_api, f"/volumes/{volume['id']}", member.token)
    assert not has_disk(volume_api, volume["id"])
    assert_fault(volume_api.delete(f"/volumes/{volume['id']}", token=member.token), 404)


def test_delete_is_refused_while_attached_or_busy(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    action = f"/volumes/{volume['id']}/action"
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert volume_api.post(action, token=member.token, json=attach).status_code == 202
    assert "attached" in assert_fault(
        volume_api.delete(f"/volumes/{volume['id']}", token=member.token), 400
    )
    assert volume_api.post(action, token=member.token, json={"os-detach": {}}).status_code == 202
    assert volume_api.post(action, token=member.token, json={"os-reserve": {}}).status_code == 202
    assert "attaching" in assert_fault(
        volume_api.delete(f"/volumes/{volume['id']}", token=member.token), 400
    )
    assert has_disk(volume_api, volume["id"])


def test_quota_holds_under_concurrent_creates(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"volumes": 3}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    codes: list[int] = []

    def create() -> None:
        response = volume_api.post("/volumes", token=owner.token, json={"volume": {"size": 1}})
        codes.append(response.status_code)
        if response.status_code == 413:
            assert "VolumeLimitExceeded" in response.json()["overLimit"]["message"]

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202] * 3 + [413] * 5
    listed = volume_api.get("/volumes", token=owner.token).json()["volumes"]
    assert len(listed) == 3


def test_gigabytes_quota_is_413(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    quota = {"quota_set": {"gigabytes": 3}}
    assert volume_api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    create_volume(volume_api, owner.token, 2)
    response = volume_api.post("/volumes", token=owner.token, json={"volume": {"size": 2}})
    message = assert_fault(response, 413)
    assert "quota is 3G and 2G has been consumed" in message


def test_paging_links_keep_the_project_and_offset_skips(volume_api: VolumeApi) -> None:
    owner = persona(volume_api.identity)
    made = [create_volume(volume_api, owner.token, name=f"p{i}") for i in range(3)]
    headers = {"X-Auth-Token": owner.token}
    base = f"/volume/v3/{owner.project_id}/volumes/detail"
    page = volume_api.client.get(base, headers=headers, params={"limit": 1}).json()
    href = page["volumes_links"][0]["href"]
    assert href.startswith(f"http://vistack.test{base}?"), href
    assert f"marker={made[-1]['id']}" in href
    skipped = volume_api.client.get(
        base, headers=headers, params={"offset": 2, "limit": 3, "sort": "name:asc"}
    ).json()["volumes"]
    assert [v["name"] for v in skipped] == ["p2"]
    by_alias = volume_api.client.get(
        base, headers=headers, params={"sort_key": "display_name", "sort_dir": "asc"}
    ).json()["volumes"]
    assert [v["name"] for v in by_alias] == ["p0", "p1", "p2"]
    assert_fault(volume_api.client.get(base, headers=headers, params={"offset": "-1"}), 400)
