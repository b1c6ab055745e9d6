"""The request rules of createImage/createBackup, rebuild and rescue, without HTTP."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain import states
from vistack.compute.domain.rebuild import parse_rebuild
from vistack.compute.domain.rescue import parse_rescue
from vistack.compute.domain.snapshots import parse_name_and_metadata


def at(version: str) -> Any:
    wanted = tuple(int(p) for p in version.split("."))

    def at_least(other: str) -> bool:
        return wanted >= tuple(int(p) for p in other.split("."))

    return at_least


def test_snapshot_names_and_metadata() -> None:
    assert parse_name_and_metadata({"name": "s", "metadata": {"a": "b"}}, "createImage") == (
        "s",
        {"a": "b"},
    )
    assert parse_name_and_metadata({"name": "s", "metadata": None}, "createImage") == ("s", {})
    bodies: list[Any] = [
        None,
        {},
        {"name": ""},
        {"name": " padded "},
        {"name": "x" * 256},
        {"name": "s", "metadata": {"a": 1}},
    ]
    for bad in bodies:
        with pytest.raises(BadRequest):
            parse_name_and_metadata(bad, "createImage")


def test_rebuild_body_follows_the_microversion() -> None:
    parsed = parse_rebuild({"imageRef": "http://x/images/abc", "name": "New Name"}, at("2.1"))
    assert parsed.image_id == "abc" and parsed.admin_password
    assert parsed.changes == {"name": "New Name", "hostname": "new-name"}
    with pytest.raises(BadRequest):
        parse_rebuild({"name": "x"}, at("2.1"))  # imageRef is required
    with pytest.raises(BadRequest, match="description"):
        parse_rebuild({"imageRef": "i", "description": "d"}, at("2.18"))
    assert parse_rebuild({"imageRef": "i", "description": None}, at("2.19")).changes == {
        "description": None
    }
    keyed = parse_rebuild({"imageRef": "i", "key_name": None}, at("2.54"))
    assert keyed.key_given and keyed.key_name is None
    with pytest.raises(BadRequest):
        parse_rebuild({"imageRef": "i", "key_name": "k"}, at("2.53"))
    data = base64.b64encode(b"#!/bin/sh\n").decode()
    assert parse_rebuild({"imageRef": "i", "user_data": data}, at("2.57")).changes == {
        "user_data": data
    }
    with pytest.raises(BadRequest):
        parse_rebuild({"imageRef": "i", "user_data": "not base64!"}, at("2.57"))
    with pytest.raises(BadRequest):
        parse_rebuild({"imageRef": "i", "preserve_ephemeral": "yes"}, at("2.1"))
    with pytest.raises(BadRequest):
        parse_rebuild({"imageRef": "i", "accessIPv6": "1.2.3.4"}, at("2.1"))
    assert parse_rebuild({"imageRef": "i", "adminPass": "p"}, at("2.1")).admin_password == "p"


def test_rescue_body() -> None:
    assert parse_rescue(None) == (None, None)
    assert parse_rescue({"adminPass": "p", "rescue_image_ref": "/images/x"}) == ("p", "x")
    bodies: list[Any] = [[], {"other": 1}, {"adminPass": 5}]
    for bad in bodies:
        with pytest.raises(BadRequest):
            parse_rescue(bad)


def test_status_during_a_rebuild_is_rebuild() -> None:
    for vm_state in (states.ACTIVE, states.STOPPED, states.ERROR):
        for task in states.REBUILD_TASKS:
            assert states.status_of(vm_state, task) == "REBUILD"
    assert states.status_of(states.ACTIVE, states.IMAGE_UPLOADING) == "ACTIVE"
    assert states.status_of(states.SHELVED_OFFLOADED, states.UNSHELVING) == "SHELVED_OFFLOADED"
    assert states.status_of(states.RESCUED, None) == "RESCUE"


def test_rebuild_personality_is_gone_at_2_57_and_hostname_is_checked_not_rewritten() -> None:
    with pytest.raises(BadRequest, match="'contents' must be a base64 string"):
        parse_rebuild({"imageRef": "i", "personality": [{"path": "/x"}]}, at("2.56"))
    files = [{"path": "/etc/motd", "contents": "aGk="}]
    rebuilt = parse_rebuild({"imageRef": "i", "personality": files}, at("2.56"))
    assert rebuilt.injected_files == (("/etc/motd", b"hi"),)
    assert rebuilt.changes == {"config_drive": True}  # the files travel on the config drive
    with pytest.raises(BadRequest, match="'personality'"):
        parse_rebuild({"imageRef": "i", "personality": []}, at("2.57"))
    assert parse_rebuild({"imageRef": "i", "hostname": "web-1"}, at("2.90")).changes == {
        "hostname": "web-1"
    }
    with pytest.raises(BadRequest, match="hostname"):
        parse_rebuild({"imageRef": "i", "hostname": "Not A Name!"}, at("2.90"))
    with pytest.raises(BadRequest, match="hostname"):
        parse_rebuild({"imageRef": "i", "hostname": "web.example.org"}, at("2.93"))
    fqdn = parse_rebuild({"imageRef": "i", "hostname": "web.example.org"}, at("2.94"))
    assert fqdn.changes == {"hostname": "web.example.org"}
