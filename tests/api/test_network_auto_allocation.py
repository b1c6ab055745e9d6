"""Neutron's auto-allocated topology ("Get Me A Network") through HTTP, edge backend: the
default external network (`is_default` and its rules), the dry run's 409s, a topology made
on first GET and the same one after, concurrent first calls (one topology), a failure part-way
(nothing left behind) and DELETE. On all three databases: the topology key and the default
slot settle races. Every test removes what it makes (the tenant VLAN range is 100..119).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import persona, unique
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault

TOPOLOGY = "/v2.0/auto-allocated-topology"
EXT_CIDR = "172.24.8.0/24"
POOL_PREFIX = "10.128.0.0/16"


def project_networks(api: NetworkApi, project_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"/v2.0/networks?project_id={project_id}").json()[
        "networks"
    ]
    return found


def project_routers(api: NetworkApi, project_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"/v2.0/routers?project_id={project_id}").json()[
        "routers"
    ]
    return found


def test_extension_listed_in_edge_mode(edge_api: NetworkApi) -> None:
    shown = edge_api.get("/v2.0/extensions/auto-allocated-topology")
    assert shown.status_code == 200, shown.text
    assert shown.json()["extension"]["name"] == "Auto Allocated Topology Services"


def test_default_external_network_rules(edge_api: NetworkApi) -> None:
    member = persona(edge_api.identity)
    # Only an external network can be the default; only an administrator makes one.
    message = fault(
        edge_api.post("/v2.0/networks", json={"network": {"name": "x", "is_default": True}}),
        400,
    )
    assert "router:external" in message
    refused = edge_api.post(
        "/v2.0/networks", token=member.token, json={"network": {"is_default": True}}
    )
    assert refused.status_code == 403, refused.text
    # `is_default: false` is the default value: anyone may send it.
    plain = create_network(edge_api, member.token, is_default=False)
    assert plain["is_default"] is False
    first = create_network(edge_api, None, **{"router:external": True, "is_default": True})
    second = create_network(edge_api, None, **{"router:external": True})
    try:
        assert first["is_default"] is True and second["is_default"] is False
        assert edge_api.get(f"/v2.0/networks/{first['id']}").json()["network"]["is_default"]
        listed = edge_api.get("/v2.0/networks?is_default=True").json()["networks"]
        assert [n["id"] for n in listed] == [first["id"]]
        # At most one default external network (Neutron's DefaultExternalNetworkExists).
        body = {"network": {"router:external": True, "is_default": True, "name": "y"}}
        message = fault(edge_api.post("/v2.0/networks", json=body), 409)
        assert message == f"A default external network already exists: {first['id']}."
        update = {"network": {"is_default": True}}
        fault(edge_api.put(f"/v2.0/networks/{second['id']}", json=update), 409)
        # No longer external: no longer the default; then the other one may be.
        edge_api.put(f"/v2.0/networks/{first['id']}", json={"network": {"router:external": False}})
        assert not edge_api.get(f"/v2.0/networks/{first['id']}").json()["network"]["is_default"]
        moved = edge_api.put(f"/v2.0/networks/{second['id']}", json=update)
        assert moved.status_code == 200 and moved.json()["network"]["is_default"] is True
        cleared = edge_api.put(
            f"/v2.0/networks/{second['id']}", json={"network": {"is_default": False}}
        )
        assert cleared.json()["network"]["is_default"] is False
    finally:
        for network in (plain, first, second):
            edge_api.delete(f"/v2.0/networks/{network['id']}")


def test_dry_run_names_what_is_missing(edge_api: NetworkApi) -> None:
    member = persona(edge_api.identity)
    check = f"{TOPOLOGY}/{member.project_id}?fields=dry-run"
    message = fault(edge_api.get(check, token=member.token), 409, "AutoAllocationFailure")
    assert message == "Deployment error: No default router:external network."
    # A real request fails the same way, and makes nothing.
    fault(edge_api.get(f"{TOPOLOGY}/{member.project_id}", token=member.token), 409)
    assert project_networks(edge_api, member.project_id) == []
    external = create_network(edge_api, None, **{"router:external": True, "is_default": True})
    try:
        message = fault(edge_api.get(check, token=member.token), 409, "AutoAllocationFailure")
        assert message == "Deployment error: No default subnetpools defined."
        fault(edge_api.get(f"{TOPOLOGY}/{member.project_id}?fields=id", token=member.token), 400)
    finally:
        edge_api.delete(f"/v2.0/networks/{external['id']}")


@pytest.fixture(scope="module")
def prerequisites(edge_api: NetworkApi) -> Iterator[dict[str, Any]]:
    """What devstack makes: the default external network (with a subnet) and a shared default
    IPv4 subnet pool."""
    external = create_network(edge_api, None, **{"router:external": True, "is_default": True})
    create_subnet(edge_api, edge_api.admin_token, external["id"], EXT_CIDR)
    pool = edge_api.post(
        "/v2.0/subnetpools",
        json={
            "subnetpool": {
                "name": unique("pool"),
                "prefixes": [POOL_PREFIX],
                "default_prefixlen": 26,
                "shared": True,
                "is_default": True,
            }
        },
    )
    assert pool.status_code == 201, pool.text
    yield {"external": external, "pool": pool.json()["subnetpool"]}
    edge_api.delete(f"/v2.0/subnetpools/{pool.json()['subnetpool']['id']}")
    edge_api.delete(f"/v2.0/networks/{external['id']}")


def test_topology_made_once_then_deleted(
    edge_api: NetworkApi, prerequisites: dict[str, Any]
) -> None:
    member = persona(edge_api.identity)
    other = persona(edge_api.identity)
    path = f"{TOPOLOGY}/{member.project_id}"
    passed = edge_api.get(f"{path}?fields=dry-run", token=member.token)
    assert passed.status_code == 200, passed.text
    assert passed.json()["auto_allocated_topology"]["id"] == "dry-run=pass"
    made = edge_api.get(path, token=member.token)
    assert made.status_code == 200, made.text
    topology = made.json()["auto_allocated_topology"]
    assert topology["tenant_id"] == topology["project_id"] == member.project_id
    # The same one again, also through `None` (the caller's own project) and to the admin.
    for token, asked in ((member.token, path), (member.token, f"{TOPOLOGY}/None"), (None, path)):
        again = edge_api.get(asked, token=token)
        assert again.json()["auto_allocated_topology"]["id"] == topology["id"], again.text
    # Another project's is the administrator's to see.
    assert edge_api.get(path, token=other.token).status_code == 403
    [network] = project_networks(edge_api, member.project_id)
    assert network["id"] == topology["id"] and network["name"] == "auto_allocated_network"
    assert network["admin_state_up"] is True and network["shared"] is False
    [subnet_id] = network["subnets"]
    subnet = edge_api.get(f"/v2.0/subnets/{subnet_id}").json()["subnet"]
    assert subnet["subnetpool_id"] == prerequisites["pool"]["id"]
    assert ipaddress.IPv4Network(subnet["cidr"]).subnet_of(ipaddress.IPv4Network(POOL_PREFIX))
    [router] = project_routers(edge_api, member.project_id)
    assert router["name"] == "auto_allocated_router"
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == prerequisites["external"]["id"]
    ports = edge_api.get(f"/v2.0/ports?device_id={router['id']}").json()["ports"]
    legs = {p["device_owner"]: p for p in ports}
    assert legs["network:router_interface"]["fixed_ips"][0]["subnet_id"] == subnet_id
    assert edge_api.delete(path, token=other.token).status_code == 403
    gone = edge_api.delete(path, token=member.token)
    assert gone.status_code == 204, gone.text
    assert project_networks(edge_api, member.project_id) == []
    assert project_routers(edge_api, member.project_id) == []
    assert edge_api.delete(path, token=member.token).status_code == 204  # nothing left: done


def test_concurrent_first_calls_make_one_topology(
    edge_api: NetworkApi, prerequisites: dict[str, Any]
) -> None:
    member = persona(edge_api.identity)
    path = f"{TOPOLOGY}/{member.project_id}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: edge_api.get(path, token=member.token), range(4)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    ids = {a.json()["auto_allocated_topology"]["id"] for a in answers}
    assert len(ids) == 1
    # The losers removed their copies: one network, one router, up.
    [network] = project_networks(edge_api, member.project_id)
    assert network["id"] in ids and network["admin_state_up"] is True
    assert len(project_routers(edge_api, member.project_id)) == 1
    assert edge_api.delete(path, token=member.token).status_code == 204
    assert project_networks(edge_api, member.project_id) == []


def test_failure_part_way_leaves_nothing(
    edge_api: NetworkApi, prerequisites: dict[str, Any]
) -> None:
    member = persona(edge_api.identity)
    path = f"{TOPOLOGY}/{member.project_id}"
    # No routers allowed: the network and subnet are made, then the router fails.
    quota = edge_api.put(f"/v2.0/quotas/{member.project_id}", json={"quota": {"router": 0}})
    assert quota.status_code == 200, quota.text
    fault(edge_api.get(path, token=member.token), 409, "OverQuota")
    assert project_networks(edge_api, member.project_id) == []
    assert project_routers(edge_api, member.project_id) == []
    # The topology's network is in use while a server's port is on it: nothing is removed.
    edge_api.delete(f"/v2.0/quotas/{member.project_id}")
    topology = edge_api.get(path, token=member.token).json()["auto_allocated_topology"]
    port = edge_api.post(
        "/v2.0/ports", token=member.token, json={"port": {"network_id": topology["id"]}}
    )
    assert port.status_code == 201, port.text
    fault(edge_api.delete(path, token=member.token), 409, "NetworkInUse")
    assert len(project_routers(edge_api, member.project_id)) == 1
    edge_api.delete(f"/v2.0/ports/{port.json()['port']['id']}")
    assert edge_api.delete(path, token=member.token).status_code == 204
    assert project_networks(edge_api, member.project_id) == []
