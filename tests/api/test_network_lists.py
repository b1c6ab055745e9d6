"""Neutron lists answered in SQL (`vistack.network.db.listing`) against the reference semantics.

The reference is `query.apply`, the Python path: given the whole visible list (what a list
without parameters returns), it filters, sorts, pages and links. Every request here is asked
of the API (the database answers it) and of the reference, and both answers must be equal:
items, their order, and the `next`/`previous` links. Values are chosen where SQL and Python
are apt to differ: mixed case, non-ASCII names, NULLs, booleans, several addresses per port,
tags, a project's visibility of others' ports on its networks.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault
from vistack.common.context import RequestContext
from vistack.network.db import listing
from vistack.network.domain import query

BASE = "http://vistack.test/network/v2.0"
NAMES = ["alpha", "Alpha", "beta", "Beta", "émile", "Zed", "zed", "a b", "a_b", "", "alpha"]


member = persona_fixture()


@pytest.fixture(scope="module")
def world(network_api: NetworkApi, member: Persona) -> dict[str, Any]:
    """An admin network (shared, two subnets) and a member's network (one subnet, one with
    no gateway); ports of both projects on both, with names, devices, tags and states that
    make filters and sorts interesting."""
    shared = create_network(network_api, name="Shared", shared=True)
    subnet_a = create_subnet(network_api, network_api.admin_token, shared["id"], "10.1.0.0/24")
    subnet_b = create_subnet(network_api, network_api.admin_token, shared["id"], "10.2.0.0/24")
    own = create_network(network_api, member.token, name="own")
    own_subnet = create_subnet(network_api, member.token, own["id"], "10.3.0.0/24")
    create_subnet(network_api, member.token, own["id"], "10.4.0.0/24", gateway_ip=None)
    ports: list[dict[str, Any]] = []
    for number, name in enumerate(NAMES):
        for token, network, extra in (
            (network_api.admin_token, shared, {}),
            (member.token, shared, {"fixed_ips": [{"subnet_id": subnet_b["id"]}]}),
            (member.token, own, {}),
            (network_api.admin_token, own, {"device_owner": "network:dhcp"}),
        ):
            body = {
                "network_id": network["id"],
                "name": name,
                "device_id": f"Device-{number % 3}",
                "admin_state_up": number % 2 == 0,
                **extra,
            }
            if network is own and token != member.token:
                body["project_id"] = member.project_id if number % 2 else "other-project"
            response = network_api.post("/v2.0/ports", token=token, json={"port": body})
            assert response.status_code == 201, response.text
            ports.append(response.json()["port"])
    # Two addresses on one port: fixed_ips render IPv4 by address, and filters see both.
    multi = ports[0]
    response = network_api.put(
        f"/v2.0/ports/{multi['id']}",
        json={
            "port": {
                "fixed_ips": [
                    {"subnet_id": subnet_b["id"], "ip_address": "10.2.0.200"},
                    {"subnet_id": subnet_a["id"], "ip_address": "10.1.0.100"},
                ]
            }
        },
    )
    assert response.status_code == 200, response.text
    for port, tags in zip(
        ports[:6], (["red"], ["red", "blue"], ["Blue"], [], ["x,y"], ["blue"]), strict=True
    ):
        response = network_api.put(f"/v2.0/ports/{port['id']}/tags", json={"tags": tags})
        assert response.status_code == 200, response.text
    network_api.put(f"/v2.0/networks/{own['id']}/tags", token=member.token, json={"tags": ["t"]})
    for port, host in zip(ports[1:4], ("Host-A", "host-a", "host-b"), strict=True):
        response = network_api.put(
            f"/v2.0/ports/{port['id']}", json={"port": {"binding:host_id": host}}
        )
        assert response.status_code == 200, response.text
    return {
        "shared": shared,
        "own": own,
        "subnets": (subnet_a, subnet_b, own_subnet),
        "ports": ports,
    }


def reference(
    api: NetworkApi, token: str, collection: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """What the Python path answers: `query.apply` over the whole visible list."""
    path = collection.replace("_", "-")
    everything = api.get(f"/v2.0/{path}", token=token)
    assert everything.status_code == 200, everything.text
    return query.apply(everything.json()[collection], params, collection, f"{BASE}/{path}")


def asked(api: NetworkApi, token: str, collection: str, params: list[tuple[str, str]]) -> Any:
    path = collection.replace("_", "-")
    return api.get(f"/v2.0/{path}", token=token, params=params)


def check(api: NetworkApi, token: str, collection: str, params: list[tuple[str, str]]) -> Any:
    response = asked(api, token, collection, params)
    assert response.status_code == 200, (params, response.text)
    body = response.json()
    expected = reference(api, token, collection, params)
    ids = [item.get("id") for item in body[collection]]
    assert ids == [item.get("id") for item in expected[collection]], params
    assert body == expected, params
    return body


PORT_QUERIES: list[list[tuple[str, str]]] = [
    [],
    [("name", "ALPHA")],
    [("name", "alpha"), ("name", "zed")],
    [("name", "")],
    [("name", "Émile")],
    [("name", "a_b")],
    [("admin_state_up", "True")],
    [("admin_state_up", "false"), ("device_id", "device-1")],
    [("admin_state_up", "yes")],
    [("device_owner", "network:dhcp")],
    [("revision_number", "1")],
    [("revision_number", "01")],
    [("status", "down"), ("fields", "id"), ("fields", "status")],
    [("fields", "id,fixed_ips"), ("fields", "name")],
    [("fields", "nothing")],
    [("tags", "red")],
    [("tags", "red,blue")],
    [("tags", "red"), ("tags", "blue")],
    [("tags-any", "blue,Blue")],
    [("tags", "BLUE")],
    [("tags", "Blue")],
    [("not-tags", "red")],
    [("not-tags-any", "red,blue")],
    [("tags", "x,y")],
    [("tags", "")],
    [("tags-any", "")],
    [("unknown_attribute", "1")],
    [("sort_key", "name")],
    [("sort_key", "name"), ("sort_dir", "desc")],
    [
        ("sort_key", "admin_state_up"),
        ("sort_key", "name"),
        ("sort_dir", "desc"),
        ("sort_dir", "asc"),
    ],
    [("sort_key", "device_id"), ("limit", "5")],
    [("sort_key", "revision_number"), ("sort_dir", "desc"), ("limit", "3")],
    [("limit", "7")],
    [("limit", "0")],
    [("limit", "1000")],
    [("limit", "99999999999999999999999")],
    [("page_reverse", "True"), ("limit", "4")],
    [("page_reverse", "true")],
    # Not translatable: the Python path answers, the same as ever.
    [("created_at", "nothing")],
    [("allowed_address_pairs", "[]")],
    [("sort_key", "fixed_ips"), ("limit", "3")],
    [("sort_key", "created_at"), ("sort_dir", "desc")],
]


@pytest.mark.parametrize("params", PORT_QUERIES, ids=lambda p: "&".join("=".join(x) for x in p))
def test_port_lists_match_the_reference(
    network_api: NetworkApi, member: Persona, world: dict[str, Any], params: list[tuple[str, str]]
) -> None:
    for token in (network_api.admin_token, member.token):
        check(network_api, token, "ports", params)


def test_binding_attributes(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    """The admin sees bindings on every port, so they filter and sort in SQL; a member sees
    them on none, so filters on them are ignored and a sort on them is refused."""
    queries: list[list[tuple[str, str]]] = [
        [("binding:host_id", "HOST-A")],
        [("binding:host_id", "")],
        [("binding:host_id", "host-b"), ("binding:host_id", "host-a")],
        [("binding:vif_type", "dvs")],
        [("binding:profile", "{}")],
    ]
    for params in queries:
        for token in (network_api.admin_token, member.token):
            check(network_api, token, "ports", params)
    found = check(network_api, network_api.admin_token, "ports", queries[0])["ports"]
    assert len(found) == 2 and {p["binding:host_id"] for p in found} == {"Host-A", "host-a"}
    ignored = check(network_api, member.token, "ports", queries[0])["ports"]
    assert ignored == asked(network_api, member.token, "ports", []).json()["ports"]
    # Which path answers: SQL for both (the admin's filter, the member's ignored one).
    service = network_api.cloud.network.networks
    keys = [("p1", "p2"), ("p3", "p1")]
    admin = RequestContext(request_id="t", project_id="p1", roles=("admin", "member", "reader"))
    shaped = service._port_collection(admin, keys)
    assert "binding:host_id" in shaped.attrs
    reader = RequestContext(request_id="t", project_id="p1", roles=("reader",))
    shaped = service._port_collection(reader, keys)
    assert "binding:host_id" not in shaped.attrs and "binding:host_id" not in shaped.rendered
    for order in ("asc", "desc"):
        sort = [("sort_key", "binding:host_id"), ("sort_dir", order), ("limit", "5")]
        check(network_api, network_api.admin_token, "ports", sort)
        fault(asked(network_api, member.token, "ports", sort), 400)


def test_port_filters_on_child_data(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    subnet_a, subnet_b, own_subnet = world["subnets"]
    multi = world["ports"][0]
    group = multi["security_groups"][0]
    queries: list[list[tuple[str, str]]] = [
        [("fixed_ips", "ip_address=10.1.0.100")],
        [("fixed_ips", "ip_address=10.1.0.100"), ("fixed_ips", "subnet_id=" + subnet_a["id"])],
        # Both must hold for one address: not the case for these two.
        [("fixed_ips", "ip_address=10.1.0.100"), ("fixed_ips", "subnet_id=" + subnet_b["id"])],
        [("fixed_ips", "subnet_id=" + subnet_b["id"])],
        [("fixed_ips", "subnet_id=" + own_subnet["id"].upper())],
        [("fixed_ips", "ip_address_substr=10.2.")],
        [("fixed_ips", "ip_address_substr=%")],
        [("fixed_ips", "nonsense=1")],
        [("security_groups", group)],
        [("security_groups", group.upper())],
        [("network_id", world["own"]["id"])],
        [("network_id", world["own"]["id"].upper()), ("limit", "2")],
        [("id", multi["id"]), ("fields", "fixed_ips")],
        [("mac_address", multi["mac_address"].upper())],
        [("project_id", member.project_id)],
        [("tenant_id", member.project_id), ("sort_key", "project_id")],
    ]
    assert [f["ip_address"] for f in multi["fixed_ips"]] == ["10.1.0.2"]
    shown = network_api.get(f"/v2.0/ports/{multi['id']}").json()["port"]
    assert [f["ip_address"] for f in shown["fixed_ips"]] == ["10.1.0.100", "10.2.0.200"]
    for params in queries:
        for token in (network_api.admin_token, member.token):
            check(network_api, token, "ports", params)
    found = check(network_api, network_api.admin_token, "ports", queries[1])["ports"]
    assert [p["id"] for p in found] == [multi["id"]]


def test_listed_resources_are_what_show_returns(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    """The list renders from Core rows, show from ORM rows: field for field the same,
    including what policy hides (bindings, provider attributes) from a member."""
    for token in (network_api.admin_token, member.token):
        for collection in ("ports", "networks", "subnets"):
            listed = asked(network_api, token, collection, []).json()[collection]
            assert listed
            for item in listed:
                shown = network_api.get(f"/v2.0/{collection}/{item['id']}", token=token)
                assert shown.status_code == 200, shown.text
                assert shown.json()[collection[:-1]] == item


def test_every_rendered_attribute_is_known_to_the_sql_lists(
    network_api: NetworkApi, world: dict[str, Any]
) -> None:
    """A filter on an attribute the SQL side does not know would be ignored there but not by
    the Python path: every attribute a resource renders must be translatable or marked as
    rendered-only (so it takes the Python path)."""
    for collection, spec in (
        ("ports", listing.PORTS),
        ("networks", listing.NETWORKS),
        ("subnets", listing.SUBNETS),
        ("security_groups", listing.SECURITY_GROUPS),
        ("security_group_rules", listing.SECURITY_GROUP_RULES),
    ):
        item = asked(network_api, network_api.admin_token, collection, []).json()[collection][0]
        known = set(spec.attrs) | set(spec.special) | spec.rendered
        assert set(item) <= known, (collection, set(item) - known)


def test_visibility(network_api: NetworkApi, member: Persona, world: dict[str, Any]) -> None:
    """A member sees its ports and every port on its networks, not the admin's ports on the
    shared network; the admin sees everything."""
    mine = {p["id"] for p in asked(network_api, member.token, "ports", []).json()["ports"]}
    everything = {
        p["id"] for p in asked(network_api, network_api.admin_token, "ports", []).json()["ports"]
    }
    expected = {
        p["id"]
        for p in world["ports"]
        if p["project_id"] == member.project_id or p["network_id"] == world["own"]["id"]
    }
    assert mine == expected
    assert {p["id"] for p in world["ports"]} <= everything
    assert any(p["project_id"] == "other-project" for p in world["ports"])
    networks = {
        n["id"] for n in asked(network_api, member.token, "networks", []).json()["networks"]
    }
    assert {world["shared"]["id"], world["own"]["id"]} <= networks
    listed = asked(network_api, member.token, "ports", []).json()["ports"]
    assert all("binding:host_id" not in p for p in listed)
    admin_listed = asked(network_api, network_api.admin_token, "ports", []).json()["ports"]
    assert all("binding:host_id" in p for p in admin_listed)


def test_visibility_with_more_keys_than_a_condition_spells_out(
    network_api: NetworkApi,
    member: Persona,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `listing.MAX_KEYS` passing (project, network's project) pairs, the condition is
    the visible rows' ids instead: the same rows, filters and pages."""
    before = {p["id"] for p in asked(network_api, member.token, "ports", []).json()["ports"]}
    monkeypatch.setattr(listing, "MAX_KEYS", 1)
    after = {p["id"] for p in asked(network_api, member.token, "ports", []).json()["ports"]}
    assert after == before and len(before) > 3
    check(network_api, member.token, "ports", [("name", "alpha"), ("limit", "2")])
    monkeypatch.setattr(listing, "CHUNK", 2)
    assert {
        p["id"] for p in asked(network_api, member.token, "ports", []).json()["ports"]
    } == before


def test_the_collector_is_paused_only_while_lists_run(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gc.isenabled()
    with query.gc_paused():
        assert not gc.isenabled()
        with query.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer list still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), query.gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    # Lists that overlap without a break still collect now and then.
    collections: list[int] = []
    monkeypatch.setattr(query, "GC_HOLD_SECONDS", 0.0)

    def collect(*_args: int) -> int:
        collections.append(1)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    with query.gc_paused():
        with query.gc_paused():
            pass
        assert collections == [1]
    assert gc.isenabled()


def test_networks_and_subnets_match_the_reference(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    subnet_a = world["subnets"][0]
    network_queries: list[list[tuple[str, str]]] = [
        [],
        [("shared", "true")],
        [("router:external", "false"), ("name", "OWN")],
        [("subnets", subnet_a["id"])],
        [("mtu", "1500")],
        [("tags", "t")],
        [("not-tags", "t")],
        [("sort_key", "shared"), ("sort_key", "name"), ("limit", "1")],
        [("provider:network_type", "vlan")],
        [("fields", "id"), ("fields", "subnets")],
    ]
    subnet_queries: list[list[tuple[str, str]]] = [
        [],
        [("gateway_ip", "")],
        [("gateway_ip", "10.1.0.1")],
        [("ip_version", "4"), ("enable_dhcp", "true")],
        [("cidr", "10.3.0.0/24")],
        [("network_id", world["shared"]["id"])],
        [("sort_key", "gateway_ip")],
        [("sort_key", "gateway_ip"), ("sort_dir", "desc"), ("limit", "2")],
        [("sort_key", "cidr"), ("page_reverse", "True"), ("limit", "2")],
        [("allocation_pools", "x")],
    ]
    for token in (network_api.admin_token, member.token):
        for params in network_queries:
            check(network_api, token, "networks", params)
        for params in subnet_queries:
            check(network_api, token, "subnets", params)


def test_security_groups_and_rules_match_the_reference(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    for name in ("web", "Web", "db"):
        response = network_api.post(
            "/v2.0/security-groups", token=member.token, json={"security_group": {"name": name}}
        )
        assert response.status_code == 201, response.text
        group = response.json()["security_group"]
        rule = {
            "security_group_id": group["id"],
            "direction": "ingress",
            "protocol": "tcp",
            "port_range_min": 22,
            "port_range_max": 22,
            "remote_ip_prefix": "10.0.0.0/8",
        }
        response = network_api.post(
            "/v2.0/security-group-rules", token=member.token, json={"security_group_rule": rule}
        )
        assert response.status_code == 201, response.text
    group_queries: list[list[tuple[str, str]]] = [
        [],
        [("name", "WEB")],
        [("stateful", "true"), ("sort_key", "name"), ("sort_dir", "desc")],
        [("fields", "id"), ("fields", "security_group_rules")],
        [("limit", "2"), ("sort_key", "name")],
        [("tags-any", "x")],
        [("security_group_rules", "x")],
    ]
    rule_queries: list[list[tuple[str, str]]] = [
        [],
        [("direction", "ingress")],
        [("protocol", "")],
        [("protocol", "TCP"), ("port_range_min", "22")],
        [("remote_group_id", "")],
        [("sort_key", "port_range_min"), ("sort_key", "ethertype"), ("limit", "3")],
        [("sort_key", "remote_ip_prefix"), ("sort_dir", "desc")],
        [("remote_address_group_id", "")],
    ]
    for token in (network_api.admin_token, member.token):
        for params in group_queries:
            check(network_api, token, "security_groups", params)
        for params in rule_queries:
            check(network_api, token, "security_group_rules", params)
        for collection in ("security_groups", "security_group_rules"):
            for item in asked(network_api, token, collection, []).json()[collection]:
                path = collection.replace("_", "-")
                shown = network_api.get(f"/v2.0/{path}/{item['id']}", token=token)
                assert shown.json()[collection[:-1]] == item


def walk(api: NetworkApi, token: str, params: list[tuple[str, str]], rel: str) -> list[str]:
    """Follow `rel` links from the first page to the last; the ids seen, page by page."""
    seen: list[str] = []
    response = asked(api, token, "ports", params)
    for _ in range(200):
        assert response.status_code == 200, response.text
        body = response.json()
        page = [p["id"] for p in body["ports"]]
        seen = page + seen if rel == "previous" else seen + page
        hrefs = [link["href"] for link in body.get("ports_links", []) if link["rel"] == rel]
        if not hrefs:
            return seen
        url = urlsplit(hrefs[0])
        assert hrefs[0].startswith(f"{BASE}/ports?")
        response = api.get(f"/v2.0/ports?{url.query}", token=token)
    raise AssertionError("the links never ended")


@pytest.mark.parametrize(
    "order",
    [
        [],
        [("sort_key", "name"), ("sort_dir", "desc")],
        [("sort_key", "device_id")],
        [
            ("sort_key", "admin_state_up"),
            ("sort_key", "revision_number"),
            ("sort_key", "name"),
            ("sort_dir", "desc"),
            ("sort_dir", "asc"),
            ("sort_dir", "desc"),
        ],
    ],
    ids=["id", "name-desc", "device", "state-revision-name"],
)
def test_pages_walk_the_whole_list_both_ways(
    network_api: NetworkApi, member: Persona, world: dict[str, Any], order: list[tuple[str, str]]
) -> None:
    for token in (network_api.admin_token, member.token):
        whole = [p["id"] for p in check(network_api, token, "ports", order)["ports"]]
        assert len(whole) > 10
        forward = walk(network_api, token, [*order, ("limit", "4")], "next")
        assert forward == whole
        backward = walk(
            network_api, token, [*order, ("limit", "4"), ("page_reverse", "True")], "previous"
        )
        assert backward == whole
        # Every page on the way agrees with the reference, links included.
        for marker, reverse in itertools.product(whole[::5], (False, True)):
            params = [*order, ("limit", "3"), ("marker", marker)]
            check(
                network_api,
                token,
                "ports",
                params + ([("page_reverse", "True")] if reverse else []),
            )
        check(network_api, token, "ports", [*order, ("marker", whole[3])])
        check(network_api, token, "ports", [*order, ("marker", whole[3]), ("page_reverse", "1")])


def test_subnet_markers_on_a_nullable_sort_key(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    """A marker whose sort value is NULL (a subnet without a gateway) pages on correctly."""
    subnets = asked(network_api, member.token, "subnets", []).json()["subnets"]
    assert any(s["gateway_ip"] is None for s in subnets)
    for subnet in subnets:
        for direction, reverse in itertools.product(("asc", "desc"), ("false", "True")):
            params = [
                ("sort_key", "gateway_ip"),
                ("sort_dir", direction),
                ("limit", "1"),
                ("marker", subnet["id"]),
                ("page_reverse", reverse),
            ]
            check(network_api, member.token, "subnets", params)


def test_bad_list_requests(network_api: NetworkApi, member: Persona, world: dict[str, Any]) -> None:
    def bad(params: list[tuple[str, str]], status: int) -> str:
        return fault(asked(network_api, member.token, "ports", params), status)

    assert "Marker" in bad([("marker", "no-such-port")], 404)
    mine = next(p for p in world["ports"] if p["project_id"] == member.project_id)
    # A marker is an exact id, whatever the database's collation.
    for near in (mine["id"].upper(), mine["id"] + " "):
        assert "Marker" in bad([("marker", near)], 404)
    assert not asked(network_api, member.token, "ports", [("id", mine["id"] + " ")]).json()["ports"]
    other = next(
        p
        for p in world["ports"]
        if p["project_id"] not in (member.project_id,) and p["network_id"] == world["shared"]["id"]
    )
    # A port the member cannot see is no marker either, nor one the filter leaves out.
    assert "Marker" in bad([("marker", other["id"])], 404)
    mine = next(p for p in world["ports"] if p["project_id"] == member.project_id)
    bad([("marker", mine["id"]), ("name", mine["name"] + "-not")], 404)
    assert "Limit" in bad([("limit", "-1")], 400)
    bad([("limit", "many")], 400)
    assert "sort_dirs" in bad([("sort_key", "name"), ("sort_dir", "up")], 400)
    assert "same" in bad([("sort_key", "name"), ("sort_dir", "asc"), ("sort_dir", "asc")], 400)
    assert "sort_keys" in bad([("sort_key", "nope")], 400)
    assert "binding:host_id" in bad([("sort_key", "binding:host_id")], 400)
    # The checks come in the same order as before: sort first, then limit, then marker.
    assert "sort_dirs" in bad([("sort_key", "name"), ("sort_dir", "x"), ("limit", "-1")], 400)
    assert "Limit" in bad([("limit", "-1"), ("marker", "nothing")], 400)


def test_links_keep_the_other_parameters(
    network_api: NetworkApi, member: Persona, world: dict[str, Any]
) -> None:
    params = [("name", "alpha"), ("fields", "id"), ("limit", "1")]
    body = asked(network_api, member.token, "ports", params).json()
    (link,) = body["ports_links"]
    assert link["rel"] == "next"
    assert parse_qsl(urlsplit(link["href"]).query) == [*params, ("marker", body["ports"][0]["id"])]
    assert body["ports"] == [{"id": body["ports"][0]["id"]}]


def test_a_big_list(network_api: NetworkApi, world: dict[str, Any]) -> None:
    """More ports than one IN list carries (`listing.CHUNK`), so child data comes in several
    queries: each port still gets exactly its own addresses and groups."""
    network = create_network(network_api, name="big")
    quota = {"quota": {"port": -1}}
    assert network_api.put(f"/v2.0/quotas/{network['project_id']}", json=quota).status_code == 200
    create_subnet(network_api, network_api.admin_token, network["id"], "10.50.0.0/20")
    bulk = [{"network_id": network["id"], "name": f"p{n % 17}"} for n in range(1000)]
    response = network_api.post("/v2.0/ports", json={"ports": bulk})
    assert response.status_code == 201, response.text
    made = {p["id"]: p for p in response.json()["ports"]}
    params = [("network_id", network["id"])]
    listed = check(network_api, network_api.admin_token, "ports", params)["ports"]
    assert len(listed) == 1000
    for port in listed:
        assert port["fixed_ips"] == made[port["id"]]["fixed_ips"]
        assert port["security_groups"] == made[port["id"]]["security_groups"]
    check(
        network_api,
        network_api.admin_token,
        "ports",
        [*params, ("sort_key", "name"), ("limit", "950")],
    )
    check(network_api, network_api.admin_token, "ports", [*params, ("fields", "id")])
