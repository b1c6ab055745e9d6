"""Glance v2 through HTTP: records, data, formats, quotas, sharing, import and stores.

The cloud's image stores are the fake vCenter's datastores (weights 100 and 50) and a local
`file` store; every test that writes data also checks what is left on the stores.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ImageApi
from tests.api.helpers import Persona, persona, unique
from tests.image_files import (
    make_iso,
    make_ova,
    make_qcow2,
    make_vmdk,
    make_vmdk_with_extent,
)

PATCH = "application/openstack-images-v2.1-json-patch"
OCTET = {"Content-Type": "application/octet-stream"}


def create(api: ImageApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("img"), "disk_format": "raw", "container_format": "bare", **fields}
    response = api.post("/v2/images", json=body, token=token)
    assert response.status_code == 201, response.text
    image: dict[str, Any] = response.json()
    return image


def upload(api: ImageApi, image_id: str, data: bytes, token: str | None = None, **kw: Any) -> Any:
    headers = {**OCTET, **kw.pop("headers", {})}
    return api.put(f"/v2/images/{image_id}/file", content=data, headers=headers, token=token, **kw)


def show(api: ImageApi, image_id: str, token: str | None = None) -> dict[str, Any]:
    response = api.get(f"/v2/images/{image_id}", token=token)
    assert response.status_code == 200, response.text
    image: dict[str, Any] = response.json()
    return image


def patch(api: ImageApi, image_id: str, ops: list[dict[str, Any]], token: str | None = None) -> Any:
    return api.patch(
        f"/v2/images/{image_id}", json=ops, headers={"Content-Type": PATCH}, token=token
    )


def stored_files(api: ImageApi, image_id: str) -> list[str]:
    """Every file on the fake datastores and in the file store that belongs to `image_id`."""
    found = [f"[{ds}] {path}" for (ds, path) in api.fake.state.files if image_id in path]
    store_dir = Path(api.cloud.settings.image.filesystem_store_dir)
    if store_dir.exists():
        found += [p.name for p in store_dir.iterdir() if image_id in p.name]
    staging = api.cloud.settings.image_staging_path
    if staging.exists():
        found += [p.name for p in staging.iterdir() if image_id in p.name]
    return found


def fault(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"].startswith(str(status)), body
    message: str = body["message"]
    return message


@pytest.fixture(scope="module")
def member(image_api: ImageApi) -> Persona:
    return persona(image_api.identity)


@pytest.fixture(scope="module")
def other(image_api: ImageApi) -> Persona:
    return persona(image_api.identity)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-files")


# -- versions, info and schemas ------------------------------------------------------------------


def test_version_discovery(image_api: ImageApi) -> None:
    response = image_api.client.get("/image")
    assert response.status_code == 300
    versions = response.json()["versions"]
    assert versions[0]["status"] == "CURRENT"
    assert versions[0]["links"][0]["href"].endswith("/image/v2/")
    assert {"v2.0", "v2.12"} <= {v["id"] for v in versions}


def test_catalog_lists_the_image_service(image_api: ImageApi) -> None:
    catalog = image_api.identity.get("/auth/catalog").json()["catalog"]
    image = [s for s in catalog if s["type"] == "image"]
    assert image and image[0]["endpoints"][0]["url"].endswith("/image")


def test_info_endpoints(image_api: ImageApi, member: Persona) -> None:
    methods = image_api.get("/v2/info/import").json()["import-methods"]["value"]
    assert methods == ["glance-direct", "copy-image"]
    stores = image_api.get("/v2/info/stores", token=member.token).json()["stores"]
    ids = [s["id"] for s in stores]
    datastores = list(image_api.fake.state.topology().datastores)
    assert ids == [*datastores, "file"]
    assert stores[0].get("default") is True
    detail = image_api.get("/v2/info/stores/detail").json()["stores"]
    assert detail[0]["type"] == "vmware" and detail[0]["properties"]["free_bytes"] > 0
    assert image_api.get("/v2/info/stores/detail", token=member.token).status_code == 403
    usage = image_api.get("/v2/info/usage", token=member.token).json()["usage"]
    assert usage["image_size_total"]["limit"] == 64 << 20


def test_schemas(image_api: ImageApi) -> None:
    image = image_api.get("/v2/schemas/image").json()
    assert image["name"] == "image"
    assert "vmdk" in image["properties"]["disk_format"]["enum"]
    assert image["properties"]["vmware_disktype"]["enum"]
    for name in ("images", "member", "members"):
        assert image_api.get(f"/v2/schemas/{name}").json()["name"] == name


def test_authentication_is_required(image_api: ImageApi) -> None:
    response = image_api.client.get("/image/v2/images")
    assert fault(response, 401)


# -- records -----------------------------------------------------------------------------------


def test_create_show_and_defaults(image_api: ImageApi, member: Persona) -> None:
    image = create(image_api, member.token, os_distro="ubuntu", tags=["a", "b", "a"])
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["owner"] == member.project_id
    assert image["tags"] == ["a", "b"]
    assert image["os_distro"] == "ubuntu"
    assert image["size"] is None and image["checksum"] is None
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert show(image_api, image["id"], member.token)["name"] == image["name"]


def test_create_with_a_given_id_and_duplicates(image_api: ImageApi) -> None:
    image_id = f"00000000-1111-2222-3333-{int(time.time() * 1000 % 10**12):012d}"
    assert create(image_api, id=image_id)["id"] == image_id
    response = image_api.post("/v2/images", json={"id": image_id})
    assert "already exists" in fault(response, 409)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"status": "active"}, 403, "read-only"),
        ({"checksum": "x"}, 403, "read-only"),
        ({"locations": []}, 403, "reserved"),
        ({"os_glance_importing_to_stores": "x"}, 403, "reserved"),
        ({"disk_format": "vhd"}, 400, "accepts raw, qcow2, vmdk, iso"),
        ({"container_format": "docker"}, 400, "accepts bare, ova"),
        ({"visibility": "everyone"}, 400, "visibility"),
        ({"min_ram": -1}, 400, "min_ram"),
        ({"protected": "yes"}, 400, "boolean"),
        ({"name": "x" * 256}, 400, "name"),
        ({"os_distro": 7}, 400, "string"),
        ({"id": "not-a-uuid"}, 400, "UUID"),
    ],
)
def test_create_refuses_bad_fields(
    image_api: ImageApi, body: dict[str, Any], status: int, words: str
) -> None:
    response = image_api.post("/v2/images", json=body)
    assert words in fault(response, status)


def test_create_refuses_non_json(image_api: ImageApi) -> None:
    response = image_api.post(
        "/v2/images", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert "JSON" in fault(response, 400)


def test_only_admins_publicize(image_api: ImageApi, member: Persona) -> None:
    response = image_api.post(
        "/v2/images", json={"name": "p", "visibility": "public"}, token=member.token
    )
    fault(response, 403)
    assert create(image_api, visibility="public")["visibility"] == "public"
    assert create(image_api, member.token, visibility="community")["visibility"] == "community"


def test_patch_updates_core_attributes_properties_and_tags(
    image_api: ImageApi, member: Persona
) -> None:
    image = create(image_api, member.token, os_distro="debian")
    response = patch(
        image_api,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/hw_cpu_cores", "value": "2"},
            {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
            {"op": "replace", "path": "/tags", "value": ["x", "y"]},
            {"op": "replace", "path": "/min_ram", "value": 512},
            {"op": "add", "path": "/vmware_ostype", "value": "ubuntu64Guest"},
        ],
        member.token,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "renamed"
    assert updated["hw_cpu_cores"] == "2"
    assert updated["os_distro"] == "ubuntu"
    assert updated["tags"] == ["x", "y"]
    assert updated["min_ram"] == 512
    response = patch(
        image_api, image["id"], [{"op": "remove", "path": "/hw_cpu_cores"}], member.token
    )
    assert "hw_cpu_cores" not in response.json()


@pytest.mark.parametrize(
    ("ops", "status"),
    [
        ([{"op": "replace", "path": "/nothere", "value": "1"}], 409),
        ([{"op": "remove", "path": "/nothere"}], 409),
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "replace", "path": "/id", "value": "x"}], 403),
        ([{"op": "add", "path": "/locations/-", "value": {}}], 403),
        ([{"op": "move", "path": "/name", "value": "x"}], 400),
        ([{"op": "replace", "path": "name", "value": "x"}], 400),
        ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
        ([{"op": "replace", "path": "/name"}], 400),
        ({"op": "replace"}, 400),
        ([{"op": "replace", "path": "/vmware_disktype", "value": "floppy"}], 400),
    ],
)
def test_patch_refusals(image_api: ImageApi, ops: Any, status: int) -> None:
    image = create(image_api)
    response = patch(image_api, image["id"], ops)
    fault(response, status)


def test_patch_needs_the_patch_media_type(image_api: ImageApi) -> None:
    image = create(image_api)
    response = image_api.patch(f"/v2/images/{image['id']}", json=[])
    assert response.status_code == 415
    assert PATCH in response.headers["Accept-Patch"]


def test_other_projects_cannot_see_or_change_private_images(
    image_api: ImageApi, member: Persona, other: Persona
) -> None:
    image = create(image_api, member.token, visibility="private")
    fault(image_api.get(f"/v2/images/{image['id']}", token=other.token), 404)
    fault(
        patch(
            image_api, image["id"], [{"op": "replace", "path": "/name", "value": "x"}], other.token
        ),
        404,
    )
    fault(image_api.delete(f"/v2/images/{image['id']}", token=other.token), 404)
    public = create(image_api, visibility="public")
    fault(
        patch(
            image_api, public["id"], [{"op": "replace", "path": "/name", "value": "x"}], other.token
        ),
        403,
    )


def test_protected_images_cannot_be_deleted(image_api: ImageApi) -> None:
    image = create(image_api, protected=True)
    assert "protected" in fault(image_api.delete(f"/v2/images/{image['id']}"), 403)
    patch(image_api, image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert image_api.delete(f"/v2/images/{image['id']}").status_code == 204
    fault(image_api.get(f"/v2/images/{image['id']}"), 404)


def test_tags(image_api: ImageApi, member: Persona) -> None:
    image = create(image_api, member.token)
    path = f"/v2/images/{image['id']}/tags"
    assert image_api.put(f"{path}/web", token=member.token).status_code == 204
    assert image_api.put(f"{path}/web", token=member.token).status_code == 204
    assert show(image_api, image["id"])["tags"] == ["web"]
    assert image_api.delete(f"{path}/web", token=member.token).status_code == 204
    fault(image_api.delete(f"{path}/web", token=member.token), 404)


# -- listing -----------------------------------------------------------------------------------


def test_list_pagination_filters_and_sorting(image_api: ImageApi, member: Persona) -> None:
    tag = unique("t")
    made = [
        create(image_api, member.token, name=f"{tag}-{i}", tags=[tag], min_ram=i) for i in range(5)
    ]
    ids: list[str] = []
    url: str | None = f"/v2/images?tag={tag}&limit=2&sort_key=name&sort_dir=asc"
    while url:
        body = image_api.get(url.removeprefix("/image"), token=member.token).json()
        ids += [i["id"] for i in body["images"]]
        url = body.get("next")
        assert body["first"] == "/v2/images" and body["schema"] == "/v2/schemas/images"
    assert ids == [i["id"] for i in made]
    desc = image_api.get(f"/v2/images?tag={tag}&sort=name:desc", token=member.token).json()
    assert [i["id"] for i in desc["images"]] == [i["id"] for i in reversed(made)]
    by_name = image_api.get(f"/v2/images?name={tag}-3", token=member.token).json()["images"]
    assert [i["id"] for i in by_name] == [made[3]["id"]]
    names = f"in:{tag}-1,{tag}-2"
    assert len(image_api.get(f"/v2/images?name={names}", token=member.token).json()["images"]) == 2
    ram = image_api.get(f"/v2/images?tag={tag}&min_ram=gte:3", token=member.token).json()
    assert len(ram["images"]) == 2
    assert image_api.get(f"/v2/images?tag={tag}&status=active").json()["images"] == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=x",
        "limit=-1",
        "sort_key=bogus",
        "sort_dir=sideways",
        "visibility=nope",
        "marker=00000000-0000-0000-0000-000000000000",
        "created_at=gt:yesterday",
        "sort=name&sort_key=name",
        "member_status=maybe",
    ],
)
def test_list_refuses_bad_queries(image_api: ImageApi, query: str) -> None:
    fault(image_api.get(f"/v2/images?{query}"), 400)


def test_list_visibility_rules(image_api: ImageApi, member: Persona, other: Persona) -> None:
    tag = unique("vis")
    private = create(image_api, member.token, tags=[tag], visibility="private")
    hidden = create(image_api, member.token, tags=[tag], os_hidden=True)
    community = create(image_api, other.token, tags=[tag], visibility="community")

    def listed(token: str, query: str = "") -> set[str]:
        body = image_api.get(f"/v2/images?tag={tag}{query}", token=token).json()
        return {i["id"] for i in body["images"]}

    assert listed(member.token) == {private["id"]}
    assert listed(member.token, "&os_hidden=true") == {hidden["id"]}
    assert listed(member.token, "&visibility=community") == {community["id"]}
    assert listed(member.token, "&visibility=all") == {private["id"], community["id"]}
    assert listed(other.token) == {community["id"]}
    assert show(image_api, community["id"], member.token)["id"] == community["id"]


# -- members -----------------------------------------------------------------------------------


def test_sharing_with_members(image_api: ImageApi, member: Persona, other: Persona) -> None:
    image = create(image_api, member.token, visibility="shared")
    path = f"/v2/images/{image['id']}/members"
    added = image_api.post(path, json={"member": other.project_id}, token=member.token)
    assert added.status_code == 200, added.text
    assert added.json()["status"] == "pending"
    fault(image_api.post(path, json={"member": other.project_id}, token=member.token), 409)
    # A pending image can be seen but is not listed by default.
    assert show(image_api, image["id"], other.token)["id"] == image["id"]
    listed = image_api.get("/v2/images?visibility=shared", token=other.token).json()["images"]
    assert image["id"] not in {i["id"] for i in listed}
    # The owner cannot accept on the member's behalf.
    mine = f"{path}/{other.project_id}"
    fault(image_api.put(mine, json={"status": "accepted"}, token=member.token), 403)
    fault(image_api.put(mine, json={"status": "maybe"}, token=other.token), 400)
    accepted = image_api.put(mine, json={"status": "accepted"}, token=other.token)
    assert accepted.json()["status"] == "accepted"
    listed = image_api.get("/v2/images", token=other.token).json()["images"]
    assert image["id"] in {i["id"] for i in listed}
    members = image_api.get(path, token=member.token).json()
    assert members["schema"] == "/v2/schemas/members"
    assert [m["member_id"] for m in members["members"]] == [other.project_id]
    assert image_api.get(mine, token=other.token).json()["status"] == "accepted"
    fault(image_api.delete(mine, token=other.token), 403)
    assert image_api.delete(mine, token=member.token).status_code == 204
    fault(image_api.get(f"/v2/images/{image['id']}", token=other.token), 404)


def test_members_only_on_shared_images(
    image_api: ImageApi, member: Persona, other: Persona
) -> None:
    image = create(image_api, member.token, visibility="private")
    response = image_api.post(
        f"/v2/images/{image['id']}/members", json={"member": other.project_id}, token=member.token
    )
    assert "shared" in fault(response, 403)


# -- data --------------------------------------------------------------------------------------


def test_upload_download_round_trip(image_api: ImageApi, member: Persona) -> None:
    image = create(image_api, member.token)
    data = os.urandom(3 * (1 << 20) + 17)
    assert upload(image_api, image["id"], data, member.token).status_code == 204
    shown = show(image_api, image["id"], member.token)
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    first = image_api.fake.state.topology().datastores[0]
    assert shown["stores"] == first
    assert len([f for f in stored_files(image_api, image["id"]) if first in f]) == 1
    response = image_api.get(f"/v2/images/{image['id']}/file", token=member.token)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-MD5"] == shown["checksum"]
    ranged = image_api.get(
        f"/v2/images/{image['id']}/file", headers={"Range": "bytes=100-199"}, token=member.token
    )
    assert ranged.status_code == 206
    assert ranged.content == data[100:200]
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = image_api.get(
        f"/v2/images/{image['id']}/file", headers={"Range": f"bytes={len(data) - 5}-"}
    )
    assert tail.content == data[-5:]
    beyond = image_api.get(
        f"/v2/images/{image['id']}/file", headers={"Range": f"bytes={len(data)}-"}
    )
    assert beyond.status_code == 416
    # Data can be uploaded once.
    fault(upload(image_api, image["id"], b"again", member.token), 409)
    assert image_api.delete(f"/v2/images/{image['id']}", token=member.token).status_code == 204
    assert stored_files(image_api, image["id"]) == []


def test_chunked_upload_to_a_named_store(image_api: ImageApi) -> None:
    image = create(image_api)
    data = os.urandom(2_500_000)

    def body() -> Iterator[bytes]:
        for start in range(0, len(data), 300_000):
            yield data[start : start + 300_000]

    response = upload(image_api, image["id"], body(), headers={"X-Image-Meta-Store": "file"})  # type: ignore[arg-type]
    assert response.status_code == 204, response.text
    shown = show(image_api, image["id"])
    assert shown["stores"] == "file" and shown["size"] == len(data)
    assert image_api.get(f"/v2/images/{image['id']}/file").content == data
    bad = create(image_api)
    fault(upload(image_api, bad["id"], b"x", headers={"X-Image-Meta-Store": "nowhere"}), 400)


def test_download_of_an_empty_image_is_204(image_api: ImageApi) -> None:
    image = create(image_api)
    assert image_api.get(f"/v2/images/{image['id']}/file").status_code == 204


def test_upload_needs_formats_and_octet_stream(image_api: ImageApi) -> None:
    response = image_api.post("/v2/images", json={"name": "no-format"})
    image = response.json()
    assert "disk_format" in fault(upload(image_api, image["id"], b"abc"), 400)
    response = image_api.put(
        f"/v2/images/{image['id']}/file", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_vmdk_upload_is_recognised(image_api: ImageApi, files: Path) -> None:
    path = make_vmdk(files, subformat="streamOptimized")
    image = create(image_api, disk_format="vmdk")
    assert upload(image_api, image["id"], path.read_bytes()).status_code == 204
    shown = show(image_api, image["id"])
    assert shown["vmware_disktype"] == "streamOptimized"
    assert shown["virtual_size"] and shown["virtual_size"] >= 8 << 20
    assert image_api.get(f"/v2/images/{image['id']}/file").content == path.read_bytes()
    sparse = make_vmdk(files, subformat="monolithicSparse", name="sparse.vmdk")
    image = create(image_api, disk_format="vmdk")
    upload(image_api, image["id"], sparse.read_bytes())
    assert show(image_api, image["id"])["vmware_disktype"] == "sparse"


def test_ova_fills_properties_from_its_ovf(image_api: ImageApi, files: Path) -> None:
    path = make_ova(files, os_type="ubuntu64Guest", memory_mb=1024)
    image = create(image_api, disk_format="vmdk", container_format="ova")
    response = upload(image_api, image["id"], path.read_bytes())
    assert response.status_code == 204, response.text
    shown = show(image_api, image["id"])
    assert shown["vmware_ostype"] == "ubuntu64Guest"
    assert shown["vmware_adaptertype"]
    assert shown["min_ram"] == 1024
    assert image_api.get(f"/v2/images/{image['id']}/file").content == path.read_bytes()


def test_iso_upload(image_api: ImageApi, files: Path) -> None:
    path = make_iso(files)
    image = create(image_api, disk_format="iso")
    assert upload(image_api, image["id"], path.read_bytes()).status_code == 204
    assert image_api.get(f"/v2/images/{image['id']}/file").content == path.read_bytes()


def _bad_image(kind: str, files: Path) -> tuple[dict[str, Any], bytes]:
    if kind == "wrong-magic":
        return {"disk_format": "vmdk"}, os.urandom(64 * 1024)
    if kind == "descriptor-escape":
        return {"disk_format": "vmdk"}, make_vmdk_with_extent(
            files, extent_path="/etc/passwd"
        ).read_bytes()
    if kind == "truncated-ova":
        return {"disk_format": "vmdk", "container_format": "ova"}, make_ova(
            files, truncate=True, name="cut.ova"
        ).read_bytes()
    if kind == "qcow2-backing":
        base = make_qcow2(files, name="base.qcow2")
        return {"disk_format": "qcow2"}, make_qcow2(
            files, backing=base, name="child.qcow2"
        ).read_bytes()
    if kind == "qcow2-as-raw":
        return {"disk_format": "raw"}, make_qcow2(files, name="raw-lie.qcow2").read_bytes()
    if kind == "not-an-iso":
        return {"disk_format": "iso"}, os.urandom(40_000)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "wrong-magic",
        "descriptor-escape",
        "truncated-ova",
        "qcow2-backing",
        "qcow2-as-raw",
        "not-an-iso",
    ],
)
def test_bad_images_are_refused_and_leave_nothing(
    image_api: ImageApi, files: Path, kind: str
) -> None:
    fields, data = _bad_image(kind, files)
    image = create(image_api, **fields)
    before = dict(image_api.fake.state.files)
    response = upload(image_api, image["id"], data)
    fault(response, 400)
    shown = show(image_api, image["id"])
    assert shown["status"] == "queued"
    assert shown["size"] is None and shown["checksum"] is None
    assert stored_files(image_api, image["id"]) == []
    assert dict(image_api.fake.state.files) == before


def test_quota_refuses_and_leaves_nothing(image_api: ImageApi, member: Persona) -> None:
    image = create(image_api, member.token)
    too_big = b"\0" * (65 << 20)
    response = upload(image_api, image["id"], too_big, member.token)
    assert "quota" in fault(response, 413)
    assert show(image_api, image["id"])["status"] == "queued"
    assert stored_files(image_api, image["id"]) == []

    def chunked() -> Iterator[bytes]:
        for _ in range(65):
            yield b"\0" * (1 << 20)

    response = upload(image_api, image["id"], chunked(), member.token)  # type: ignore[arg-type]
    assert "quota" in fault(response, 413)
    assert show(image_api, image["id"])["status"] == "queued"
    assert stored_files(image_api, image["id"]) == []


def test_store_failure_puts_the_image_back_to_queued(image_api: ImageApi) -> None:
    from vistack.drivers.errors import TransientError

    image = create(image_api)
    image_api.fake.fail_next("upload_image", TransientError("datastore went away"))
    response = upload(image_api, image["id"], b"abc" * 1000)
    assert "datastore went away" in fault(response, 503)
    assert show(image_api, image["id"])["status"] == "queued"
    assert upload(image_api, image["id"], b"abc" * 1000).status_code == 204


def test_deactivate_and_reactivate(image_api: ImageApi, member: Persona) -> None:
    image = create(image_api, member.token)
    upload(image_api, image["id"], b"data", member.token)
    deactivate = f"/v2/images/{image['id']}/actions/deactivate"
    assert image_api.post(deactivate, token=member.token).status_code == 204
    assert show(image_api, image["id"])["status"] == "deactivated"
    fault(image_api.get(f"/v2/images/{image['id']}/file", token=member.token), 403)
    assert image_api.get(f"/v2/images/{image['id']}/file").content == b"data"
    assert image_api.post(f"/v2/images/{image['id']}/actions/reactivate").status_code == 204
    assert image_api.get(f"/v2/images/{image['id']}/file", token=member.token).content == b"data"
    queued = create(image_api)
    fault(image_api.post(f"/v2/images/{queued['id']}/actions/deactivate"), 409)
    public = create(image_api, visibility="public")
    upload(image_api, public["id"], b"public")
    action = f"/v2/images/{public['id']}/actions/deactivate"
    fault(image_api.post(action, token=member.token), 403)


# -- import ------------------------------------------------------------------------------------


def wait_for(api: ImageApi, image_id: str, predicate: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image = show(api, image_id)
        if predicate(image):
            return image
        assert time.monotonic() < deadline, image
        time.sleep(0.05)


def test_glance_direct_import_converts_qcow2(image_api: ImageApi, files: Path) -> None:
    source = make_qcow2(files, name="import.qcow2")
    image = create(image_api, disk_format="qcow2")
    staged = image_api.put(
        f"/v2/images/{image['id']}/stage", content=source.read_bytes(), headers=OCTET
    )
    assert staged.status_code == 204, staged.text
    assert show(image_api, image["id"])["status"] == "uploading"
    response = image_api.post(
        f"/v2/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert response.status_code == 202, response.text
    done = wait_for(image_api, image["id"], lambda i: i["status"] in ("active", "queued"))
    assert done["status"] == "active", done
    assert done["disk_format"] == "vmdk"
    assert done["vistack_original_disk_format"] == "qcow2"
    assert done["vmware_disktype"] == "streamOptimized"
    assert done["os_glance_importing_to_stores"] == ""
    data = image_api.get(f"/v2/images/{image['id']}/file").content
    assert data[:4] == b"KDMV"
    tasks = image_api.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]
    assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert not (image_api.cloud.settings.image_staging_path / image["id"]).exists()


def test_import_to_all_stores_and_copy_image(image_api: ImageApi) -> None:
    image = create(image_api)
    image_api.put(f"/v2/images/{image['id']}/stage", content=b"r" * 4096, headers=OCTET)
    stores = [s["id"] for s in image_api.get("/v2/info/stores").json()["stores"]]
    response = image_api.post(
        f"/v2/images/{image['id']}/import",
        json={"method": {"name": "glance-direct"}, "stores": stores[:1]},
    )
    assert response.status_code == 202
    wait_for(image_api, image["id"], lambda i: i["status"] == "active")
    response = image_api.post(
        f"/v2/images/{image['id']}/import",
        json={"method": {"name": "copy-image"}, "stores": stores[1:]},
    )
    assert response.status_code == 202, response.text
    done = wait_for(image_api, image["id"], lambda i: i.get("os_glance_importing_to_stores") == "")
    assert done["stores"] == ",".join(stores)  # by weight, as /v2/info/stores lists them
    for store in stores:
        assert image_api.delete(f"/v2/stores/{store}/{image['id']}").status_code == (
            409 if store == stores[-1] else 204
        )
    converted = image_api.get(f"/v2/images/{image['id']}/file").content
    assert converted[:4] == b"KDMV" and show(image_api, image["id"])["disk_format"] == "vmdk"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {
                "method": {"name": "web-download"},
            },
            400,
        ),
        ({"method": {"name": "teleport"}}, 400),
        ({"method": "glance-direct"}, 400),
        ({"method": {"name": "glance-direct"}}, 409),
        ({"method": {"name": "glance-direct"}, "stores": ["nowhere"]}, 400),
    ],
)
def test_import_refusals(image_api: ImageApi, body: dict[str, Any], status: int) -> None:
    image = create(image_api)
    fault(image_api.post(f"/v2/images/{image['id']}/import", json=body), status)


def test_failed_import_reports_and_returns_to_queued(image_api: ImageApi, files: Path) -> None:
    image = create(image_api, disk_format="vmdk")
    image_api.put(f"/v2/images/{image['id']}/stage", content=os.urandom(8192), headers=OCTET)
    image_api.post(f"/v2/images/{image['id']}/import", json={"method": {"name": "glance-direct"}})
    failed = wait_for(image_api, image["id"], lambda i: i["status"] == "queued")
    assert failed["os_glance_failed_import"]
    # The task is closed just after the image is put back (another commit): wait for it.
    deadline = time.monotonic() + 10
    while True:
        tasks = image_api.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
        if tasks[0]["status"] != "processing" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert tasks[0]["status"] == "failure" and tasks[0]["message"]
    assert stored_files(image_api, image["id"]) == []


# -- unified limits ----------------------------------------------------------------------------


def test_keystone_limits_set_a_projects_image_quota(image_api: ImageApi) -> None:
    identity = image_api.identity
    owner = persona(identity)
    registered = identity.get("/registered_limits?resource_name=image_count_total").json()
    assert [r["default_limit"] for r in registered["registered_limits"]] == [1000]
    service = identity.get("/services?type=image").json()["services"][0]
    created = identity.post(
        "/limits",
        json={
            "limits": [
                {
                    "service_id": service["id"],
                    "region_id": "RegionOne",
                    "project_id": owner.project_id,
                    "resource_name": "image_count_total",
                    "resource_limit": 1,
                }
            ]
        },
    )
    assert created.status_code == 201, created.text
    usage = image_api.get("/v2/info/usage", token=owner.token).json()["usage"]
    assert usage["image_count_total"] == {"limit": 1, "usage": 0}
    create(image_api, owner.token)
    response = image_api.post("/v2/images", json={"name": "two"}, token=owner.token)
    assert "Maximum number of images" in fault(response, 413)
    # Another project keeps the registered default.
    assert create(image_api, persona(identity).token)["status"] == "queued"
    limit_id = created.json()["limits"][0]["id"]
    assert identity.delete(f"/limits/{limit_id}").status_code == 204
    assert create(image_api, owner.token)["status"] == "queued"
