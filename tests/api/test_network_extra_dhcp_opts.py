"""Neutron's `extra_dhcp_opt` through HTTP: per-port DHCP options on create, update (replace
by name and IP version, null removes), show and list (the SQL list path too), the strict
checks of names and values, what the edge state is told, and the dvs backend's refusal.

The edge cloud is `l3_api` (edge mode, so root and ip/nft/dnsmasq); tempest's
`test_extra_dhcp_options` (both its IPv4 and IPv6 runs) is the shape these follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona
from tests.api.test_network_ports import create_port
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault
from vistack.network.dataplane.compile import read_state

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

PXE = [
    {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
    {"opt_name": "tftp-server", "opt_value": "123.123.123.123"},
    {"opt_name": "server-ip-address", "opt_value": "123.123.123.45"},
]


def shown(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the API renders for `options`: ip_version filled in, sorted by version and name."""
    full = [{"ip_version": 4, **o} for o in options]
    return sorted(full, key=lambda o: (o["ip_version"], o["opt_name"]))


@pytest.fixture(scope="module")
def member(l3_api: NetworkApi) -> Persona:
    return persona(l3_api.identity)


@pytest.fixture
def network(l3_api: NetworkApi, member: Persona) -> Iterator[dict[str, Any]]:
    """A member's network with a /24 subnet; its ports are removed afterwards."""
    made = create_network(l3_api, member.token)
    made["subnet"] = create_subnet(l3_api, member.token, made["id"], "10.30.0.0/24")
    yield made
    for port in l3_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]:
        l3_api.delete(f"/v2.0/ports/{port['id']}")
    l3_api.delete(f"/v2.0/networks/{made['id']}")


def test_listed_in_edge_mode(l3_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in l3_api.get("/v2.0/extensions").json()["extensions"]}
    assert "extra_dhcp_opt" in aliases
    assert l3_api.get("/v2.0/extensions/extra_dhcp_opt").status_code == 200


def test_create_show_and_list(l3_api: NetworkApi, member: Persona, network: dict[str, Any]) -> None:
    response = create_port(l3_api, member.token, network["id"], name="pxe", extra_dhcp_opts=PXE)
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["extra_dhcp_opts"] == shown(PXE)
    got = l3_api.get(f"/v2.0/ports/{port['id']}", token=member.token).json()["port"]
    assert got["extra_dhcp_opts"] == shown(PXE)
    listed = l3_api.get(f"/v2.0/ports?network_id={network['id']}", token=member.token).json()
    by_id = {p["id"]: p for p in listed["ports"]}
    assert by_id[port["id"]]["extra_dhcp_opts"] == shown(PXE)
    # A port without options shows an empty list, in show and list alike.
    plain = create_port(l3_api, member.token, network["id"]).json()["port"]
    assert plain["extra_dhcp_opts"] == []
    listed = l3_api.get(f"/v2.0/ports?network_id={network['id']}&sort_key=name").json()
    assert {p["id"]: p["extra_dhcp_opts"] for p in listed["ports"]} == {
        **{p["id"]: [] for p in listed["ports"] if p["device_owner"] == "network:dhcp"},
        port["id"]: shown(PXE),
        plain["id"]: [],
    }
    # Asked for by `fields`, and left out when the fields leave it out.
    only = l3_api.get(f"/v2.0/ports?id={port['id']}&fields=id&fields=extra_dhcp_opts").json()
    assert only["ports"] == [{"id": port["id"], "extra_dhcp_opts": shown(PXE)}]
    only = l3_api.get(f"/v2.0/ports?id={port['id']}&fields=id").json()
    assert only["ports"] == [{"id": port["id"]}]
    # A sort on it takes the Python path (a list sorts by its rendering), as on fixed_ips.
    response = l3_api.get(f"/v2.0/ports?network_id={network['id']}&sort_key=extra_dhcp_opts")
    assert response.status_code == 200, response.text
    assert {p["id"] for p in response.json()["ports"]} >= {port["id"], plain["id"]}


def test_update_replaces_adds_and_removes(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=PXE).json()["port"]
    path = f"/v2.0/ports/{port['id']}"
    changes = [
        {"opt_name": "bootfile-name", "opt_value": "grubx64.efi"},  # replaced
        {"opt_name": "tftp-server", "opt_value": None},  # removed
        {"opt_name": "ntp-server", "opt_value": "192.0.2.123,192.0.2.124"},  # added
        {"opt_name": "dns-server", "opt_value": "2001:db8::53", "ip_version": 6},  # another version
        {"opt_name": "mtu", "opt_value": None},  # removing an absent one is nothing
    ]
    response = l3_api.put(path, token=member.token, json={"port": {"extra_dhcp_opts": changes}})
    assert response.status_code == 200, response.text
    expected = shown(
        [
            {"opt_name": "bootfile-name", "opt_value": "grubx64.efi"},
            {"opt_name": "server-ip-address", "opt_value": "123.123.123.45"},
            {"opt_name": "ntp-server", "opt_value": "192.0.2.123,192.0.2.124"},
            {"opt_name": "dns-server", "opt_value": "2001:db8::53", "ip_version": 6},
        ]
    )
    assert response.json()["port"]["extra_dhcp_opts"] == expected
    assert l3_api.get(path).json()["port"]["extra_dhcp_opts"] == expected
    # An update without the attribute keeps the options (and the revision moves on).
    renamed = l3_api.put(path, token=member.token, json={"port": {"name": "renamed"}}).json()
    assert renamed["port"]["extra_dhcp_opts"] == expected
    # Removing every option one by one leaves an empty list.
    gone = [
        {"opt_name": o["opt_name"], "ip_version": o["ip_version"], "opt_value": None}
        for o in expected
    ]
    emptied = l3_api.put(path, json={"port": {"extra_dhcp_opts": gone}}).json()["port"]
    assert emptied["extra_dhcp_opts"] == []


def test_tempest_ipv6_run_is_taken(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    """tempest's IPv6 run sends IPv6 addresses with the default ip_version 4: Neutron takes
    them, so this cloud does too (they are shown, and not served to IPv4 clients)."""
    options = [
        {"opt_value": "pxelinux.0", "opt_name": "bootfile-name"},
        {"opt_value": "2015::dead", "opt_name": "tftp-server"},
        {"opt_value": "2015::badd", "opt_name": "server-ip-address"},
    ]
    response = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=options)
    assert response.status_code == 201, response.text
    assert response.json()["port"]["extra_dhcp_opts"] == shown(options)


def test_edge_state_carries_the_ipv4_options(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    options = [
        *PXE,
        {"opt_name": "42", "opt_value": "192.0.2.123"},
        {"opt_name": "router", "opt_value": "2001:db8::1"},  # IPv6 in an IPv4 option: not served
        {"opt_name": "dns-server", "opt_value": "2001:db8::53", "ip_version": 6},  # not served
    ]
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=options).json()
    mac = port["port"]["mac_address"]
    state = read_state(l3_api.cloud.network.networks._store)
    hosts = [h for s in state.dhcp if s.network_id == network["id"] for h in s.hosts]
    (host,) = [h for h in hosts if h.mac == mac]
    assert host.options == (
        ("42", "192.0.2.123"),
        ("bootfile-name", "pxelinux.0"),
        ("server-ip-address", "123.123.123.45"),
        ("tftp-server", "123.123.123.123"),
    )
    assert all(h.options == () for h in hosts if h.mac != mac)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"opt_name": "bootfile-name"}, "must be a list"),
        ([{"opt_value": "x"}], "opt_name is required"),
        (["bootfile-name=x"], "opt_name is required"),
        ([{"opt_name": "no-such-option", "opt_value": "x"}], "not a DHCP option"),
        ([{"opt_name": "Bootfile-Name", "opt_value": "x"}], "not a DHCP option"),
        ([{"opt_name": "255", "opt_value": "1.2.3.4"}], "number 1..254"),
        ([{"opt_name": "0", "opt_value": "x"}], "number 1..254"),
        ([{"opt_name": "bootfile-name", "opt_value": "x", "ip_version": 5}], "must be 4 or 6"),
        ([{"opt_name": "bootfile-name", "opt_value": "x", "ip_version": True}], "must be 4 or 6"),
        ([{"opt_name": "bootfile-url", "opt_value": "x"}], "not a DHCP option"),  # IPv6 name
        ([{"opt_name": "bootfile-name", "opt_value": "a\nb"}], "control characters"),
        ([{"opt_name": "bootfile-name", "opt_value": "a\tb"}], "control characters"),
        ([{"opt_name": "bootfile-name", "opt_value": 'a"b'}], "read it back differently"),
        ([{"opt_name": "bootfile-name", "opt_value": "a #b"}], "read it back differently"),
        ([{"opt_name": "bootfile-name", "opt_value": " a"}], "read it back differently"),
        ([{"opt_name": "bootfile-name", "opt_value": "a,b"}], "must not contain a comma"),
        ([{"opt_name": "bootfile-name", "opt_value": "x" * 256}], "maximum length of 255"),
        ([{"opt_name": "bootfile-name", "opt_value": ""}], "non-empty string"),
        ([{"opt_name": "bootfile-name", "opt_value": 7}], "non-empty string"),
        ([{"opt_name": "router", "opt_value": "gateway"}], "IP addresses"),
        ([{"opt_name": "dns-server", "opt_value": "192.0.2.1, 192.0.2.2"}], "IP addresses"),
        ([{"opt_name": "bootfile-name", "opt_value": "a\\b"}], "read it back differently"),
        ([{"opt_name": "server-ip-address", "opt_value": "1.2.3.4,1.2.3.5"}], "an IP address"),
        ([{"opt_name": "mtu", "opt_value": "big"}], "integer"),
        ([{"opt_name": "classless-static-route", "opt_value": "10.0.0.0/8"}], "pairs"),
        ([{"opt_name": "domain-search", "opt_value": "a..b"}], "domain names"),
        ([{"opt_name": "bootfile-name", "opt_value": "x", "extra": 1}], "Unrecognized key"),
        (
            [{"opt_name": "mtu", "opt_value": "1400"}, {"opt_name": "mtu", "opt_value": "1450"}],
            "Duplicate",
        ),
        (
            [{"opt_name": "bootfile-name", "opt_value": "a"}, {"opt_name": "67", "opt_value": "b"}],
            "Duplicate",
        ),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(
    l3_api: NetworkApi,
    member: Persona,
    network: dict[str, Any],
    options: Any,
    says: str,
) -> None:
    before = l3_api.get(f"/v2.0/ports?network_id={network['id']}").json()["ports"]
    message = fault(
        create_port(l3_api, member.token, network["id"], extra_dhcp_opts=options),
        400,
        "InvalidInput",
    )
    assert says in message
    after = l3_api.get(f"/v2.0/ports?network_id={network['id']}").json()["ports"]
    assert after == before
    # The same on update: refused, and the port's options and revision are unchanged.
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=PXE).json()["port"]
    path = f"/v2.0/ports/{port['id']}"
    body = {"port": {"name": "changed", "extra_dhcp_opts": options}}
    assert says in fault(l3_api.put(path, token=member.token, json=body), 400, "InvalidInput")
    kept = l3_api.get(path).json()["port"]
    assert kept["extra_dhcp_opts"] == shown(PXE)
    assert kept["revision_number"] == port["revision_number"] and kept["name"] == ""


def test_update_cannot_set_one_option_twice(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=PXE).json()["port"]
    path = f"/v2.0/ports/{port['id']}"
    clash = {"port": {"extra_dhcp_opts": [{"opt_name": "67", "opt_value": "other.0"}]}}
    assert "by name and by number" in fault(l3_api.put(path, json=clash), 400, "InvalidInput")
    assert l3_api.get(path).json()["port"]["extra_dhcp_opts"] == shown(PXE)
    # Removing the name while adding the number is a rename: allowed.
    swap = [
        {"opt_name": "bootfile-name", "opt_value": None},
        {"opt_name": "67", "opt_value": "other.0"},
    ]
    done = l3_api.put(path, json={"port": {"extra_dhcp_opts": swap}}).json()["port"]
    assert {o["opt_name"]: o["opt_value"] for o in done["extra_dhcp_opts"]} == {
        "67": "other.0",
        "tftp-server": "123.123.123.123",
        "server-ip-address": "123.123.123.45",
    }


def test_string_ip_version_is_converted(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    options = [{"opt_name": "dns-server", "opt_value": "2001:db8::53", "ip_version": "6"}]
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=options).json()
    assert port["port"]["extra_dhcp_opts"] == [
        {"opt_name": "dns-server", "opt_value": "2001:db8::53", "ip_version": 6}
    ]


def test_options_go_with_their_port(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    port = create_port(l3_api, member.token, network["id"], extra_dhcp_opts=PXE).json()["port"]
    assert l3_api.delete(f"/v2.0/ports/{port['id']}", token=member.token).status_code == 204
    state = read_state(l3_api.cloud.network.networks._store)
    assert all(h.mac != port["mac_address"] for s in state.dhcp for h in s.hosts)
    # A new port reusing the MAC starts without the old options.
    again = create_port(l3_api, member.token, network["id"], mac_address=port["mac_address"])
    assert again.json()["port"]["extra_dhcp_opts"] == []


# ------------------------------------------------------------------------------ dvs backend


@pytest.fixture(scope="module")
def dvs_member(network_api: NetworkApi) -> Persona:
    return persona(network_api.identity)


def test_dvs_backend_refuses_the_attribute(network_api: NetworkApi, dvs_member: Persona) -> None:
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert "extra_dhcp_opt" not in aliases
    made = create_network(network_api, dvs_member.token)
    try:
        create_subnet(network_api, dvs_member.token, made["id"], "10.31.0.0/24")
        response = create_port(network_api, dvs_member.token, made["id"], extra_dhcp_opts=PXE)
        assert "runs no DHCP server" in fault(response, 400)
        ports = network_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]
        assert ports == []
        port = create_port(network_api, dvs_member.token, made["id"]).json()["port"]
        assert "extra_dhcp_opts" not in port
        body = {"port": {"name": "x", "extra_dhcp_opts": PXE}}
        path = f"/v2.0/ports/{port['id']}"
        assert "runs no DHCP server" in fault(network_api.put(path, json=body), 400)
        assert network_api.get(path).json()["port"]["name"] == ""
        listed = network_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]
        assert all("extra_dhcp_opts" not in p for p in listed)
    finally:
        for port in network_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]:
            network_api.delete(f"/v2.0/ports/{port['id']}")
        network_api.delete(f"/v2.0/networks/{made['id']}")


def test_concurrent_updates_of_one_option_leave_one_value(
    l3_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    """The primary key (port, name, version) decides: concurrent adds of one new option all
    succeed (a collision is retried as a replace) and leave exactly one of their values."""
    port = create_port(l3_api, member.token, network["id"]).json()["port"]
    path = f"/v2.0/ports/{port['id']}"
    values = [f"file{n}.0" for n in range(8)]

    def put(value: str) -> Any:
        body = {"port": {"extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": value}]}}
        return l3_api.put(path, token=member.token, json=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(put, values))
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    final = l3_api.get(path).json()["port"]["extra_dhcp_opts"]
    assert len(final) == 1 and final[0]["opt_value"] in values
