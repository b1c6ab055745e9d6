"""The real `openstack` CLI and openstacksdk against `vistack up` on the embedded vCenter:
images stored on simulator datastores, checked byte for byte through Glance and through the
datastore's own `/folder` HTTP endpoint.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from tests.image_files import make_iso, make_ova, make_qcow2, make_vmdk
from vistack.vsphere.embedded import read_endpoint_file

pytestmark = pytest.mark.clients


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-images")


def datastore_url(cloud: RunningCloud, admin: Any, image_id: str, name: str) -> str:
    """The `/folder` URL of `<folder>/<name>` on the datastore that holds the image."""
    store = ""
    if image_id:
        image = admin.image.get_image(image_id)
        store = image.properties.get("stores") or image.store or ""
    detail = admin.image.get("/info/stores/detail").json()["stores"]
    info = next(s for s in detail if s["id"] == (store.split(",")[0] or detail[0]["id"]))
    endpoint = read_endpoint_file(cloud.data_dir)
    assert endpoint is not None
    query = urlencode({"dcPath": info["properties"]["datacenter"], "dsName": info["id"]})
    path = quote(f"{info['properties']['folder']}/{name}")
    return f"{endpoint.protocol}://{endpoint.host}:{endpoint.port}/folder/{path}?{query}"


def fetch(url: str) -> bytes | None:
    """A datastore file's bytes, read straight from the (simulated) vCenter, or None."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def folder_files(url: str) -> set[str]:
    """The names in a datastore folder's listing (Go's file server: `<a href="name">`); none
    when the folder does not exist. The image folder itself is shared by every image, made by
    the first upload that reaches the datastore: only the files in it belong to one."""
    listing = fetch(url)
    return set(re.findall(r'href="([^"]+)"', listing.decode())) if listing is not None else set()


@pytest.mark.parametrize(
    ("kind", "disk_format", "container_format", "suffix"),
    [
        ("vmdk", "vmdk", "bare", ".vmdk"),
        ("ova", "vmdk", "ova", ".ova"),
        ("iso", "iso", "bare", ".iso"),
    ],
)
def test_cli_create_and_save_round_trip(
    running_cloud: RunningCloud,
    admin: Any,
    files: Path,
    tmp_path: Path,
    kind: str,
    disk_format: str,
    container_format: str,
    suffix: str,
) -> None:
    source = {
        "vmdk": lambda: make_vmdk(files, name="cli.vmdk"),
        "ova": lambda: make_ova(files, name="cli.ova"),
        "iso": lambda: make_iso(files),
    }[kind]()
    name = unique(kind)
    image = run_json(
        running_cloud,
        "image", "create",
        "--disk-format", disk_format,
        "--container-format", container_format,
        "--file", str(source),
        name,
    )  # fmt: skip
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(source.read_bytes()).hexdigest()
    saved = tmp_path / f"saved{suffix}"
    run(running_cloud, "image", "save", "--file", str(saved), name)
    assert saved.read_bytes() == source.read_bytes()
    url = datastore_url(running_cloud, admin, image["id"], image["id"] + suffix)
    assert fetch(url) == source.read_bytes()
    assert image["id"] + suffix in folder_files(datastore_url(running_cloud, admin, "", ""))
    run(running_cloud, "image", "delete", name)
    assert fetch(url) is None


def test_cli_refuses_a_lying_vmdk_and_leaves_nothing(
    running_cloud: RunningCloud, admin: Any, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.vmdk"
    fake.write_bytes(os.urandom(256 * 1024))
    name = unique("liar")
    folder = datastore_url(running_cloud, admin, "", "")
    before = folder_files(folder)
    proc = run(
        running_cloud,
        "image", "create", "--disk-format", "vmdk", "--container-format", "bare",
        "--file", str(fake), name,
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "not a VMDK" in proc.stderr, proc.stderr
    # openstacksdk deletes an image whose upload failed; the datastore holds nothing new.
    assert run(running_cloud, "image", "show", name, check=False).returncode != 0
    assert folder_files(folder) == before


def test_cli_properties_tags_and_sharing(running_cloud: RunningCloud) -> None:
    name = unique("shared")
    run(
        running_cloud,
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--shared", "--property", "os_distro=ubuntu", "--tag", "web", name,
    )  # fmt: skip
    run(running_cloud, "image", "set", "--property", "hw_cpu_cores=2", "--tag", "db", name)
    image = run_json(running_cloud, "image", "show", name)
    assert image["properties"]["os_distro"] == "ubuntu"
    assert str(image["properties"]["hw_cpu_cores"]) == "2"  # the SDK types hw_* values
    assert sorted(image["tags"]) == ["db", "web"]
    run(running_cloud, "image", "add", "project", name, "demo")
    members = run_json(running_cloud, "image", "member", "list", name)
    assert [m["Status"] for m in members] == ["pending"]
    # A pending image is not listed to the member, so it is named by id (as with Glance).
    run(running_cloud, "image", "set", "--accept", image["id"], os_cloud="vistack-demo")
    listed = run_json(running_cloud, "image", "list", os_cloud="vistack-demo")
    assert name in {i["Name"] for i in listed}
    run(running_cloud, "image", "delete", name)


def test_sdk_upload_download_and_import(admin: Any, files: Path) -> None:
    data = os.urandom(5 * (1 << 20) + 3)
    image = admin.image.create_image(
        name=unique("sdk"), disk_format="raw", container_format="bare", data=data
    )
    image = admin.image.get_image(image.id)
    assert image.status == "active"
    assert image.hash_value == hashlib.sha512(data).hexdigest()
    assert admin.image.download_image(image).content == data
    admin.image.update_image(image, min_ram=256, os_distro="debian")
    assert admin.image.get_image(image.id).min_ram == 256
    admin.image.delete_image(image)

    source = make_qcow2(files, name="sdk.qcow2")
    staged = admin.image.create_image(
        name=unique("imp"), disk_format="qcow2", container_format="bare"
    )
    admin.image.stage_image(staged, data=source.read_bytes())
    admin.image.import_image(staged, method="glance-direct")
    deadline = time.monotonic() + 60
    while (current := admin.image.get_image(staged.id)).status != "active":
        assert current.status != "queued", current.properties
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert current.disk_format == "vmdk"
    assert admin.image.download_image(current).content[:4] == b"KDMV"
    admin.image.delete_image(current)
