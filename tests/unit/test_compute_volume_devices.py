"""Block device mappings and guest device names (`domain/block_devices.py`), without HTTP:
what a create's mappings may say, how the legacy form reads, and which `/dev/sdX` a volume
gets."""

from __future__ import annotations

from typing import Any

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain.block_devices import (
    LOCAL_DISKS_UNSUPPORTED,
    TAGS_UNSUPPORTED,
    check_device,
    index_of,
    letters,
    next_device,
    parse_create_devices,
    parse_v1,
    parse_v2,
)
from vistack.compute.domain.volume_attach import parse_attach, parse_update

VOLUME = "8d1e3bb5-0000-4000-8000-000000000001"
IMAGE = "8d1e3bb5-0000-4000-8000-0000000000aa"


def test_letters_and_indexes_round_trip() -> None:
    assert [letters(i) for i in (0, 1, 25, 26, 27, 701, 702)] == [
        "a",
        "b",
        "z",
        "aa",
        "ab",
        "zz",
        "aaa",
    ]
    for index in (0, 3, 25, 26, 700):
        assert index_of("/dev/sd" + letters(index)) == index
    assert index_of("vdc") == index_of("xvdc") == index_of("/dev/hdc") == 2
    assert index_of("/dev/nope") is None


def test_the_next_device_skips_the_root_and_the_taken_ones() -> None:
    assert next_device([]) == "/dev/sdb"
    assert next_device([], root_taken=False) == "/dev/sda"
    assert next_device(["/dev/sdb", "/dev/vdc", None]) == "/dev/sdd"
    assert next_device(["/dev/sd" + letters(i) for i in range(1, 26)]) == "/dev/sdaa"


def test_a_given_device_is_checked() -> None:
    assert check_device("vdc", ["/dev/sdb"]) == "/dev/vdc"
    for taken in ("/dev/sda", "/dev/vdb"):
        with pytest.raises(BadRequest, match="in use"):
            check_device(taken, ["/dev/sdb"])
    with pytest.raises(BadRequest, match="invalid"):
        check_device("/dev/../etc", [])


def v2(*mappings: dict[str, Any], tags: bool = True, volume_type: bool = True) -> Any:
    return parse_v2(list(mappings), tags=tags, volume_type=volume_type)


def test_v2_defaults_and_boot_indexes() -> None:
    (root, blank) = v2(
        {"source_type": "volume", "uuid": VOLUME, "boot_index": "0"},
        {"source_type": "blank", "volume_size": "2", "boot_index": -1},
    )
    assert root.destination_type == "volume" and root.is_root_volume
    assert blank.boot_index is None and blank.volume_size == 2
    (image,) = v2({"source_type": "image", "uuid": IMAGE, "boot_index": 0})
    assert image.is_local_image


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (
            {"source_type": "snapshot", "uuid": VOLUME, "destination_type": "local"},
            LOCAL_DISKS_UNSUPPORTED,
        ),
        (
            {"source_type": "blank", "destination_type": "local", "volume_size": 1},
            LOCAL_DISKS_UNSUPPORTED,
        ),
        ({"source_type": "image", "uuid": IMAGE, "destination_type": "volume"}, "non-zero size"),
        ({"source_type": "volume", "uuid": VOLUME, "boot_index": 1}, "Boot sequence"),
        ({"source_type": "volume", "uuid": VOLUME, "device_type": "cdrom"}, "device_type"),
        ({"source_type": "volume", "uuid": VOLUME, "no_device": True}, "no_device"),
        ({"source_type": "volume", "uuid": VOLUME, "bogus": 1}, "Additional properties"),
        ({"source_type": "volume", "uuid": VOLUME, "volume_size": 0}, "at least 1"),
        ({"source_type": "volume", "uuid": VOLUME, "delete_on_termination": "x"}, "boolean"),
    ],
)
def test_v2_refusals(mapping: dict[str, Any], words: str) -> None:
    with pytest.raises(BadRequest) as raised:
        v2(mapping)
    assert words in raised.value.message


def test_the_set_is_checked_as_a_whole() -> None:
    with pytest.raises(BadRequest, match="not unique"):
        v2(
            {"source_type": "volume", "uuid": VOLUME, "device_name": "vdb"},
            {"source_type": "blank", "volume_size": 1, "device_name": "/dev/vdb"},
        )
    with pytest.raises(BadRequest, match="only once"):
        v2({"source_type": "volume", "uuid": VOLUME}, {"source_type": "volume", "uuid": VOLUME})


def test_fields_follow_the_microversion() -> None:
    tagged = {"source_type": "volume", "uuid": VOLUME, "tag": "t"}
    with pytest.raises(BadRequest, match="Additional properties"):
        v2(tagged, tags=False)
    typed = {"source_type": "volume", "uuid": VOLUME, "volume_type": "fast"}
    with pytest.raises(BadRequest, match="Additional properties"):
        v2(typed, volume_type=False)
    assert v2(typed)[0].volume_type == "fast"
    body = {"server": {"block_device_mapping_v2": [tagged]}}
    with pytest.raises(BadRequest) as raised:
        parse_create_devices(body, (2, 42))
    assert raised.value.message == TAGS_UNSUPPORTED


def test_the_legacy_form_and_mixing_the_two() -> None:
    (root, data) = parse_v1(
        [
            {"volume_id": VOLUME, "device_name": "vda", "delete_on_termination": "true"},
            {"volume_id": IMAGE, "device_name": "/dev/vdb", "volume_size": 1},
        ]
    )
    assert root.is_root_volume and root.delete_on_termination and root.device_name == "/dev/vda"
    assert data.boot_index is None and data.device_name == "/dev/vdb"
    (snapshot,) = parse_v1([{"snapshot_id": VOLUME, "device_name": "vdb"}])
    assert (snapshot.source_type, snapshot.uuid) == ("snapshot", VOLUME)
    with pytest.raises(BadRequest, match="device_name"):
        parse_v1([{"volume_id": VOLUME}])
    both = {
        "server": {
            "block_device_mapping": [{"volume_id": VOLUME, "device_name": "vda"}],
            "block_device_mapping_v2": [{"source_type": "volume", "uuid": VOLUME}],
        }
    }
    with pytest.raises(BadRequest, match="different block_device_mapping"):
        parse_create_devices(both, (2, 1))
    image_only = {
        "server": {
            "block_device_mapping_v2": [{"source_type": "image", "uuid": IMAGE, "boot_index": 0}]
        }
    }
    assert parse_create_devices(image_only, (2, 1)) == ()


def test_attach_and_update_bodies() -> None:
    asked = parse_attach(
        {"volumeAttachment": {"volumeId": VOLUME, "delete_on_termination": True}},
        tags=True,
        delete_flag=True,
    )
    assert asked.delete_on_termination and asked.device is None
    with pytest.raises(BadRequest, match="Additional properties"):
        parse_attach(
            {"volumeAttachment": {"volumeId": VOLUME, "delete_on_termination": True}},
            tags=True,
            delete_flag=False,
        )
    with pytest.raises(BadRequest, match="uuid"):
        parse_attach({"volumeAttachment": {"volumeId": "x"}}, tags=False, delete_flag=False)
    with pytest.raises(BadRequest, match="volumeAttachment"):
        parse_attach({}, tags=False, delete_flag=False)
    update = parse_update(
        {"volumeAttachment": {"volumeId": VOLUME, "delete_on_termination": False}}, updates=True
    )
    assert update.delete_on_termination is False
    with pytest.raises(BadRequest, match="Additional properties"):
        parse_update(
            {"volumeAttachment": {"volumeId": VOLUME, "delete_on_termination": False}},
            updates=False,
        )
