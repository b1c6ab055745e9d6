"""Domain rules of a server's sub-resources without HTTP: the interface attach request
(Nova's schema and its two extra rules), the addresses a detach leaves, Nova's security group
rule form, and the action event view."""

from __future__ import annotations

from datetime import datetime

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain.action_events import HIDDEN, event_view
from vistack.compute.domain.interface_request import AttachRequest, parse_attach, without_mac
from vistack.compute.domain.server_security_groups import group_name_of, nova_rule

NET = "7c1d0a3e-2b8f-4f0e-9a63-1e2d3c4b5a69"
PORT = "1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b"


def test_an_empty_attach_asks_for_the_only_network() -> None:
    assert parse_attach({}, tags=False) == AttachRequest()
    assert parse_attach(None, tags=False) == AttachRequest()
    assert parse_attach({"interfaceAttachment": {}}, tags=False) == AttachRequest()


def test_an_attach_names_a_port_or_a_network_with_an_address() -> None:
    assert parse_attach({"interfaceAttachment": {"port_id": PORT}}, tags=False).port_id == PORT
    asked = parse_attach(
        {"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": "10.0.0.9"}]}},
        tags=False,
    )
    assert (asked.network_id, asked.fixed_ip) == (NET, "10.0.0.9")
    tagged = parse_attach({"interfaceAttachment": {"net_id": NET, "tag": "db"}}, tags=True)
    assert tagged.tag == "db"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"interfaceAttachment": {"net_id": NET, "port_id": PORT}}, "Must not input both"),
        (
            {"interfaceAttachment": {"fixed_ips": [{"ip_address": "10.0.0.9"}]}},
            "Must input network_id",
        ),
        ({"interfaceAttachment": {"net_id": NET, "tag": "db"}}, "Additional properties"),
        ({"interfaceAttachment": {"net_id": "x"}}, "Not a UUID"),
        ({"interfaceAttachment": {"net_id": NET, "fixed_ips": []}}, "fixed_ips"),
        (
            {"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": "10.0.0"}]}},
            "Not an IP address",
        ),
        ({"interfaceAttachment": {"port": PORT}}, "Additional properties"),
        ({"other": {}}, "Additional properties"),
    ],
)
def test_attach_refusals(body: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_attach(body, tags=False)


def test_a_tag_is_short_and_plain() -> None:
    with pytest.raises(BadRequest):
        parse_attach({"interfaceAttachment": {"net_id": NET, "tag": "a/b"}}, tags=True)
    with pytest.raises(BadRequest):
        parse_attach({"interfaceAttachment": {"net_id": NET, "tag": "x" * 61}}, tags=True)


def test_a_detach_drops_the_nics_addresses_and_empty_networks() -> None:
    addresses = {
        "a": [
            {"addr": "10.0.0.2", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
            {"addr": "10.0.0.3", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02"},
        ],
        "b": [{"addr": "10.1.0.2", "OS-EXT-IPS-MAC:mac_addr": "FA:16:3E:00:00:02"}],
    }
    kept = without_mac(addresses, "fa:16:3e:00:00:02")
    assert kept == {"a": [addresses["a"][0]]}


def test_novas_rule_form() -> None:
    base = {"id": "r1", "remote_group_id": None, "remote_ip_prefix": None}
    tcp = nova_rule({**base, "protocol": "tcp", "port_range_min": None}, "g", {})
    assert (tcp["from_port"], tcp["to_port"], tcp["ip_range"]) == (1, 65535, {"cidr": "0.0.0.0/0"})
    icmp = nova_rule({**base, "protocol": "icmp"}, "g", {})
    assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
    known = {"g2": {"name": "web", "project_id": "p"}}
    grouped = nova_rule({**base, "protocol": None, "remote_group_id": "g2"}, "g", known)
    assert grouped["group"] == {"name": "web", "tenant_id": "p"} and grouped["ip_range"] == {}
    assert grouped["parent_group_id"] == "g"


def test_group_name_messages() -> None:
    assert group_name_of({"name": "web"}, "addSecurityGroup") == "web"
    for body, message in (
        (None, "Missing parameter dict"),
        ({}, "Security group not specified"),
        ({"name": ""}, "Security group name cannot be empty"),
    ):
        with pytest.raises(BadRequest, match=message):
            group_name_of(body, "addSecurityGroup")


def test_event_view_hides_what_the_caller_may_not_see() -> None:
    start = datetime(2026, 11, 24, 8, 0, 0)
    view = event_view(
        "compute_stop_instance",
        start,
        None,
        None,
        traceback=HIDDEN,
        host=HIDDEN,
        host_id=None,
        details=HIDDEN,
    )
    assert view == {
        "event": "compute_stop_instance",
        "start_time": "2026-11-24T08:00:00.000000",
        "finish_time": None,
        "result": None,
    }
    admin = event_view(
        "compute_stop_instance",
        start,
        start,
        "Error",
        traceback="Traceback ...",
        host="DC0_C0",
        host_id="abc",
        details="boom",
    )
    assert (admin["traceback"], admin["host"], admin["hostId"], admin["details"]) == (
        "Traceback ...",
        "DC0_C0",
        "abc",
        "boom",
    )
