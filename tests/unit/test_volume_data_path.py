"""The data path's small rules: an upload request's arguments, the disk's bytes cut or
zero-filled to its capacity and staged sparse, and which file of a VMDK holds its raw bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistack.common.errors import BadRequest
from vistack.drivers.errors import UnsupportedError
from vistack.volume.domain.upload import padded, parse, stage_sparse
from vistack.vsphere.disk_data import descriptor_capacity_kb, extent_name


def test_upload_arguments_default_to_a_private_bare_vmdk() -> None:
    request = parse({"os-volume_upload_image": {"image_name": "n"}}, v3_1=True)
    assert (request.disk_format, request.container_format) == ("vmdk", "bare")
    assert (request.visibility, request.protected, request.force) == ("private", False, False)


def test_visibility_and_protected_are_read_from_3_1_only() -> None:
    body = {
        "os-volume_upload_image": {"image_name": "n", "visibility": "public", "protected": True}
    }
    assert parse(body, v3_1=False).visibility == "private"
    assert parse(body, v3_1=False).protected is False
    assert parse(body, v3_1=True).visibility == "public"
    assert parse(body, v3_1=True).protected is True


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"image_name": "  "},
        {"image_name": "n", "disk_format": "vhd"},
        {"image_name": "n", "container_format": "docker"},
        {"image_name": "n", "visibility": "everyone"},
        {"image_name": "n", "protected": "perhaps"},
    ],
)
def test_bad_upload_arguments(args: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        parse({"os-volume_upload_image": args}, v3_1=True)


def test_padded_cuts_and_fills_to_the_size() -> None:
    assert b"".join(padded([b"abc", b"def"], 4)) == b"abcd"
    filled = b"".join(padded([b"ab"], 3 * 2**20 + 5))
    assert (
        filled[:2] == b"ab" and len(filled) == 3 * 2**20 + 5 and filled.count(0) == len(filled) - 2
    )


def test_staging_leaves_holes_for_zeros(tmp_path: Path) -> None:
    target = tmp_path / "disk.raw"
    stage_sparse(padded([b"data"], 64 * 2**20), target)
    assert target.stat().st_size == 64 * 2**20
    assert target.stat().st_blocks * 512 < 8 * 2**20  # the zeros take no space
    with target.open("rb") as stream:
        assert stream.read(5) == b"data\0"


def test_extent_name_from_the_descriptor() -> None:
    vmfs = b'# Disk DescriptorFile\ncreateType="vmfs"\nRW 2097152 VMFS "v-1-flat.vmdk"\n'
    assert extent_name(vmfs, "v-1.vmdk") == "v-1-flat.vmdk"
    assert extent_name(b"", "v-1.vmdk") == "v-1-flat.vmdk"  # vcsim's empty descriptors
    with pytest.raises(UnsupportedError):
        extent_name(b"KDMV\x01\x00\x00\x00", "v.vmdk")
    split = b'RW 100 VMFS "a-flat.vmdk"\nRW 100 VMFS "b-flat.vmdk"\n'
    with pytest.raises(UnsupportedError):
        extent_name(split, "v.vmdk")
    with pytest.raises(UnsupportedError):
        extent_name(b'RW 100 SESPARSE "v-sesparse.vmdk"\n', "v.vmdk")


def test_capacity_from_the_descriptor() -> None:
    vmfs = b'# Disk DescriptorFile\ncreateType="vmfs"\nRW 6291456 VMFS "v-1-flat.vmdk"\n'
    assert descriptor_capacity_kb(vmfs) == 3 * 2**20
    split = b'RW 100 VMFS "a-flat.vmdk"\nRW 100 VMFS "b-flat.vmdk"\n'
    assert descriptor_capacity_kb(split) == 100
    assert descriptor_capacity_kb(b"") is None  # vcsim's empty descriptors
    assert descriptor_capacity_kb(b"KDMV\x01\x00\x00\x00RW 8 ") is None
