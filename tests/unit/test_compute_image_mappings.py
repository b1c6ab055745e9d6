"""The block device mappings a volume-backed server's snapshot image carries: written as Nova
writes them, read back into a create's mappings, merged with the request's, and refused by
name when this cloud cannot boot from them."""

from __future__ import annotations

import json

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain.block_devices import DeviceRequest
from vistack.compute.domain.image_mappings import (
    image_devices,
    image_mapping,
    mapping_properties,
    merge,
)
from vistack.compute.domain.volume_snapshots import inherited_from_volume

SNAP = "8d1e3bb5-0000-4000-8000-000000000001"
DATA = "8d1e3bb5-0000-4000-8000-000000000002"
VOLUME = "8d1e3bb5-0000-4000-8000-000000000003"


def properties() -> dict[str, str]:
    root = image_mapping(
        SNAP, volume_size=2, boot_index=0, device="/dev/sda", delete_on_termination=True
    )
    data = image_mapping(
        DATA, volume_size=1, boot_index=None, device="/dev/sdb", delete_on_termination=False
    )
    return mapping_properties([root, data], "/dev/sda")


def test_what_the_snapshot_writes_is_read_back() -> None:
    written = properties()
    assert written["bdm_v2"] == "True" and written["root_device_name"] == "/dev/sda"
    assert json.loads(written["block_device_mapping"])[0]["snapshot_id"] == SNAP
    root, data = image_devices("img", written)
    assert (root.source_type, root.uuid, root.boot_index, root.volume_size) == (
        "snapshot",
        SNAP,
        0,
        2,
    )
    assert root.is_root_volume and root.delete_on_termination
    assert (data.uuid, data.boot_index, data.device_name) == (DATA, None, "/dev/sdb")
    assert image_devices("img", {"hw_disk_bus": "scsi"}) == ()


def test_the_request_overrides_by_device_name_and_loses_its_image_root() -> None:
    mapped = image_devices("img", properties())
    own_root = DeviceRequest("image", "volume", uuid=VOLUME, boot_index=0, volume_size=1)
    other = DeviceRequest("volume", "volume", uuid=VOLUME, device_name="/dev/sdb")
    merged = merge(mapped, [own_root, other])
    assert [d.uuid for d in merged] == [SNAP, VOLUME]
    with pytest.raises(BadRequest, match="Boot sequence"):
        merge(mapped, [DeviceRequest("volume", "volume", uuid=VOLUME, boot_index=0)])


@pytest.mark.parametrize(
    ("props", "words"),
    [
        ({"block_device_mapping": "[]"}, "legacy"),
        ({"bdm_v2": "True", "block_device_mapping": "{"}, "not JSON"),
        ({"bdm_v2": "True", "block_device_mapping": "{}"}, "not a list"),
        (
            {
                "bdm_v2": "True",
                "block_device_mapping": json.dumps(
                    [{"source_type": "blank", "destination_type": "local"}]
                ),
            },
            "volumes only",
        ),
        (
            {"bdm_v2": "True", "block_device_mapping": json.dumps([{"source_type": "snapshot"}])},
            "snapshot_id",
        ),
    ],
)
def test_mappings_this_cloud_cannot_boot_are_refused(props: dict[str, str], words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        image_devices("img", props)


def test_the_root_volume_image_metadata_is_inherited_as_nova_keeps_it() -> None:
    metadata = {
        "image_id": VOLUME,
        "image_name": "cirros",
        "checksum": "abc",
        "size": "10",
        "disk_format": "vmdk",
        "container_format": "bare",
        "min_disk": "2",
        "min_ram": "64",
        "hw_disk_bus": "scsi",
        "img_signature": "x",
    }
    props, min_disk, min_ram = inherited_from_volume(metadata, frozenset({"img_signature"}))
    assert (props, min_disk, min_ram) == ({"hw_disk_bus": "scsi"}, 2, 64)
