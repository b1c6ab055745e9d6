"""`os-volume_upload_image` through HTTP on the fake vCenter: the image is made from the disk's
bytes (a streamOptimized VMDK by default, checked by converting it back), carries the volume's
image properties and 3.1's visibility/protected, the volume goes uploading and back; bad
requests are 400 and a failed upload leaves no image and the volume usable with a reason."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import VOLUME_ON_SQLITE_ONLY, ImageApi, VolumeApi
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.drivers.errors import TransientError
from vistack.volume.db import queries

V3_1 = {"OpenStack-API-Version": "volume 3.1"}
pytestmark = [
    VOLUME_ON_SQLITE_ONLY,
    pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img"),
]


@pytest.fixture(scope="module")
def member(volume_api: VolumeApi) -> Persona:
    return persona(volume_api.identity)


def upload(
    api: VolumeApi, volume_id: str, token: str, headers: dict[str, str] | None = None, **args: Any
) -> Any:
    body = {"os-volume_upload_image": {"image_name": "from-volume", **args}}
    return api.post(f"/volumes/{volume_id}/action", token=token, json=body, headers=headers or {})


def wait_image(images: ImageApi, image_id: str, token: str) -> dict[str, Any] | None:
    """The image once active, None once deleted."""
    deadline = time.monotonic() + 20
    while True:
        response = images.get(f"/v2/images/{image_id}", token=token)
        if response.status_code == 404:
            return None
        image: dict[str, Any] = response.json()
        if image["status"] == "active":
            return image
        assert time.monotonic() < deadline, image
        time.sleep(0.05)


def test_upload_makes_a_vmdk_of_the_disk_bytes(
    volume_api: VolumeApi, member: Persona, tmp_path: Path
) -> None:
    volume = create_volume(volume_api, member.token)
    vid = volume["id"]
    data = b"boot sector" + bytes(500) + b"the volume's own bytes" * 100
    volume_api.fake.state.disks[disk_of(volume_api, vid)].data = data
    metadata = {"os_distro": "ubuntu", "hw_disk_bus": "scsi", "checksum": "old", "min_ram": "64"}
    body = {"os-set_image_metadata": {"metadata": metadata}}
    assert volume_api.post(f"/volumes/{vid}/action", token=member.token, json=body).status_code
    response = upload(volume_api, vid, member.token, V3_1, visibility="shared", protected=True)
    assert response.status_code == 202, response.text
    answer = response.json()["os-volume_upload_image"]
    assert answer["id"] == vid and answer["status"] == "uploading"
    assert answer["disk_format"] == "vmdk" and answer["container_format"] == "bare"
    assert answer["image_name"] == "from-volume" and answer["size"] == 1
    assert answer["visibility"] == "shared" and answer["protected"] is True
    assert answer["volume_type"]["name"]
    images = ImageApi(volume_api.cloud, volume_api.client, volume_api.fake)
    image = wait_image(images, answer["image_id"], member.token)
    assert image is not None
    assert image["os_distro"] == "ubuntu" and image["hw_disk_bus"] == "scsi"
    assert image["min_ram"] == 64 and image["checksum"] != "old"
    assert image["protected"] is True and image["visibility"] == "shared"
    assert image["virtual_size"] == 2**30
    assert image["vmware_disktype"] == "streamOptimized"
    after = wait_volume(volume_api, vid, member.token, "available")
    assert after.get("error_message") is None
    # The VMDK holds the disk's bytes: qemu-img turns it back into them.
    vmdk = tmp_path / "image.vmdk"
    vmdk.write_bytes(images.get(f"/v2/images/{image['id']}/file", token=member.token).content)
    raw = tmp_path / "image.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", "vmdk", "-O", "raw", str(vmdk), str(raw)], check=True
    )
    with raw.open("rb") as stream:
        assert stream.read(len(data) + 10) == data + bytes(10)
    assert raw.stat().st_size == 2**30


def test_in_use_needs_force_and_is_copied_first(volume_api: VolumeApi, member: Persona) -> None:
    volume = create_volume(volume_api, member.token)
    vid = volume["id"]
    attach = {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/sdb"}}
    assert volume_api.post(f"/volumes/{vid}/action", token=member.token, json=attach)
    assert "force" in assert_fault(upload(volume_api, vid, member.token), 400)
    response = upload(volume_api, vid, member.token, force=True)
    assert response.status_code == 202, response.text
    image_id = response.json()["os-volume_upload_image"]["image_id"]
    images = ImageApi(volume_api.cloud, volume_api.client, volume_api.fake)
    assert wait_image(images, image_id, member.token) is not None
    wait_volume(volume_api, vid, member.token, "in-use")
    # The crash-consistent copy it read is gone again.
    assert not [p for p in volume_api.fake.state.disks if "upload-" in p]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"image_name": ""}, "image_name"),
        ({"disk_format": "qcow2"}, "disk-format"),
        ({"container_format": "ova"}, "container-format"),
        ({"force": "maybe"}, "force"),
    ],
)
def test_bad_uploads_are_400(
    volume_api: VolumeApi, member: Persona, args: dict[str, Any], fragment: str
) -> None:
    volume = create_volume(volume_api, member.token)
    assert fragment in assert_fault(upload(volume_api, volume["id"], member.token, **args), 400)
    shown = volume_api.get(f"/volumes/{volume['id']}", token=member.token).json()["volume"]
    assert shown["status"] == "available"


def test_public_is_for_administrators_and_visibility_needs_3_1(
    volume_api: VolumeApi, member: Persona
) -> None:
    volume = create_volume(volume_api, member.token)
    vid = volume["id"]
    assert_fault(upload(volume_api, vid, member.token, V3_1, visibility="public"), 403)
    plain = upload(volume_api, vid, member.token, visibility="public")  # 3.0 ignores it
    assert plain.status_code == 202, plain.text
    assert plain.json()["os-volume_upload_image"]["visibility"] == "private"
    busy = upload(volume_api, vid, member.token)
    assert "uploading" in assert_fault(busy, 400)
    wait_volume(volume_api, vid, member.token, "available")


def test_a_failed_upload_leaves_no_image_and_the_volume_usable(
    volume_api: VolumeApi, member: Persona
) -> None:
    images = ImageApi(volume_api.cloud, volume_api.client, volume_api.fake)
    volume = create_volume(volume_api, member.token)
    vid = volume["id"]
    volume_api.fake.state.fail_next("read_disk", TransientError("datastore unreachable"))
    response = upload(volume_api, vid, member.token)
    assert response.status_code == 202, response.text
    image_id = response.json()["os-volume_upload_image"]["image_id"]
    assert wait_image(images, image_id, member.token) is None
    wait_volume(volume_api, vid, member.token, "available")
    assert "datastore unreachable" in error_message(volume_api, vid)
    # raw is the whole capacity: 1 GiB is over the test cloud's 64 MiB image quota.
    raw = upload(volume_api, vid, member.token, disk_format="raw")
    assert raw.status_code == 202, raw.text
    raw_id = raw.json()["os-volume_upload_image"]["image_id"]
    assert wait_image(images, raw_id, member.token) is None
    wait_volume(volume_api, vid, member.token, "available")
    assert "quota" in error_message(volume_api, vid)


def error_message(api: VolumeApi, volume_id: str) -> str:
    """The reason a job recorded on the volume (kept in the database, as Cinder's messages)."""
    services = api.cloud.volume
    assert services is not None
    with services.volumes.store.transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None and row.error_message is not None
        return row.error_message
