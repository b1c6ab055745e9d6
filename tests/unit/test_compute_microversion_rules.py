"""Domain rules behind microversioned requests: tags (2.26), the server list's attribute
filters (2.83), hostnames (2.90/2.94), a create's fields by version, and the forced host."""

from __future__ import annotations

from datetime import datetime

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain.models import Server
from vistack.compute.domain.request import hostname, known_fields, parse_create
from vistack.compute.domain.server_filters import matches, wanted
from vistack.compute.domain.tag_rules import check_tags, split_filter, valid_tag

IMAGE = "0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"


def server(**fields: object) -> Server:
    values: dict[str, object] = {
        "id": "s1",
        "project_id": "p",
        "user_id": "u",
        "name": "web",
        "hostname": "web",
        "description": None,
        "flavor": {},
        "image_id": "",
        "key_name": "k1",
        "config_drive": False,
        "metadata": {},
        "addresses": {},
        "security_groups": [],
        "availability_zone": None,
        "vm_state": "active",
        "task_state": None,
        "power_state": 1,
        "cluster": "c1",
        "vm_host": None,
        "locked": False,
        "launched_at": datetime(2026, 11, 24, 8, 0, 0),
        "terminated_at": None,
        "created_at": datetime(2026, 11, 24, 7, 59, 0),
        "updated_at": datetime(2026, 11, 24, 8, 0, 0),
        "deleted_at": None,
        "fault": None,
        **fields,
    }
    return Server(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("tag", ["a", "x" * 60, "with space", "ünïcode"])
def test_valid_tags(tag: str) -> None:
    assert valid_tag(tag)


@pytest.mark.parametrize("tag", ["", "x" * 61, "a/b", "a,b", 7, None])
def test_invalid_tags(tag: object) -> None:
    assert not valid_tag(tag)


def test_check_tags_keeps_each_once_and_limits_fifty() -> None:
    assert check_tags(["b", "a", "b"]) == ("b", "a")
    assert len(check_tags([f"t{i}" for i in range(50)])) == 50
    with pytest.raises(BadRequest, match="per-server limit 50"):
        check_tags([f"t{i}" for i in range(51)])
    with pytest.raises(BadRequest, match="must be a list"):
        check_tags("a")
    assert split_filter("a,,b") == ("a", "b")


def test_attribute_filters_by_version_and_role() -> None:
    params = {"vm_state": "active", "uuid": "s1", "name": "x"}
    assert wanted(params, admin=False, since_2_83=False) == ()
    assert wanted(params, admin=False, since_2_83=True) == (("vm_state", "active"),)
    assert wanted(params, admin=True, since_2_83=False) == (
        ("vm_state", "active"),
        ("uuid", "s1"),
    )


def test_attribute_filters_match_as_nova_does() -> None:
    def zone_of(cluster: str) -> str:
        return f"zone-of-{cluster}"

    one = server()
    assert matches(one, (("vm_state", "active"),), zone_of)
    assert not matches(one, (("vm_state", "activ"),), zone_of)  # exact
    assert matches(one, (("key_name", "^k"),), zone_of)  # regular expression
    assert matches(one, (("availability_zone", "zone-of-c1"),), zone_of)
    assert matches(one, (("launched_at", "2026-11-24 08"),), zone_of)
    assert matches(one, (("config_drive", "false"),), zone_of)
    assert not matches(one, (("config_drive", "true"),), zone_of)
    assert matches(one, (("progress", "100"),), zone_of)
    with pytest.raises(BadRequest):
        matches(one, (("key_name", "("),), zone_of)


def test_hostnames() -> None:
    assert hostname("web-1", (2, 90)) == "web-1"
    for bad in ("-web", "web_1", "a.b", "x" * 64):
        with pytest.raises(BadRequest):
            hostname(bad, (2, 90))
    assert hostname("web-1.example.org", (2, 94)) == "web-1.example.org"
    with pytest.raises(BadRequest):
        hostname("a..b", (2, 94))


def test_create_fields_by_version() -> None:
    assert "description" not in known_fields((2, 18)) and "description" in known_fields((2, 19))
    assert "tags" in known_fields((2, 52)) and "tags" not in known_fields((2, 51))
    assert "personality" in known_fields((2, 56)) and "personality" not in known_fields((2, 57))
    assert "host" in known_fields((2, 74)) and "hostname" in known_fields((2, 90))


def test_forced_host_and_networks_none() -> None:
    body = {
        "server": {
            "name": "a",
            "imageRef": IMAGE,
            "flavorRef": "1",
            "availability_zone": "nova:cluster-2",
            "networks": "none",
        }
    }
    parsed = parse_create(body, (2, 37))
    assert parsed.availability_zone == "nova" and parsed.requested_cluster == "cluster-2"
    assert parsed.forced_host and not parsed.auto_networks and parsed.networks == ()
    body["server"]["availability_zone"] = ":host:node"
    parsed = parse_create(body, (2, 37))
    assert parsed.availability_zone is None and parsed.requested_cluster == "node"
