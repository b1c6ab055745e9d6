"""Neutron subnet pools through HTTP: CRUD and validation, prefixes that only grow,
add/remove_prefixes, subnets allocated from a pool (by length, by cidr, from the default
pool), quotas, exhaustion, concurrent allocations, and a pool in use.

Every test removes the networks it makes: the tenant VLAN range is 100..119.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_networks import create_network, fault

alice = persona_fixture()
bob = persona_fixture()


@pytest.fixture
def cleanup(network_api: NetworkApi) -> Iterator[tuple[list[str], list[str]]]:
    """(network ids, pool ids) to delete as admin afterwards, networks first."""
    networks: list[str] = []
    pools: list[str] = []
    yield networks, pools
    for network_id in networks:
        network_api.delete(f"/v2.0/networks/{network_id}")
    for pool_id in pools:
        network_api.delete(f"/v2.0/subnetpools/{pool_id}")


def create_pool(
    api: NetworkApi, cleanup: tuple[list[str], list[str]], token: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"subnetpool": {"name": unique("pool"), **fields}}
    response = api.post("/v2.0/subnetpools", token=token, json=body)
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()["subnetpool"]
    cleanup[1].append(pool["id"])
    return pool


def network_of(
    api: NetworkApi, cleanup: tuple[list[str], list[str]], token: str | None = None
) -> str:
    network = create_network(api, token)
    cleanup[0].append(network["id"])
    network_id: str = network["id"]
    return network_id


def subnet_from(api: NetworkApi, network_id: str, token: str | None = None, **fields: Any) -> Any:
    body = {"subnet": {"network_id": network_id, "ip_version": 4, **fields}}
    return api.post("/v2.0/subnets", token=token, json=body)


def allocated(api: NetworkApi, network_id: str, token: str | None = None, **fields: Any) -> Any:
    response = subnet_from(api, network_id, token, **fields)
    assert response.status_code == 201, response.text
    return response.json()["subnet"]


def test_extensions_are_listed(network_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"subnet_allocation", "default-subnetpools", "subnetpool-prefix-ops"} <= aliases


def test_create_show_list_update_delete(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: Any
) -> None:
    pool = create_pool(network_api, cleanup, alice.token, prefixes=["10.10.0.0/24", "10.10.1.0/24"])
    assert pool["prefixes"] == ["10.10.0.0/23"]  # compacted, as Neutron's
    assert pool["ip_version"] == 4
    # Strings, as Neutron renders them.
    assert (pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (
        "8",
        "32",
        "8",
    )
    assert pool["shared"] is False and pool["is_default"] is False
    assert pool["address_scope_id"] is None and pool["default_quota"] is None
    assert pool["project_id"] == alice.project_id == pool["tenant_id"]
    path = f"/v2.0/subnetpools/{pool['id']}"
    assert network_api.get(path, token=alice.token).json() == {"subnetpool": pool}
    listed = network_api.get("/v2.0/subnetpools", token=alice.token).json()["subnetpools"]
    assert pool in listed
    fault(network_api.get(path, token=bob.token), 404, "SubnetPoolNotFound")
    theirs = network_api.get("/v2.0/subnetpools", token=bob.token).json()["subnetpools"]
    assert pool["id"] not in {p["id"] for p in theirs}
    body = {"subnetpool": {"name": "renamed", "default_prefixlen": 26, "min_prefixlen": 24}}
    updated = network_api.put(path, token=alice.token, json=body)
    assert updated.status_code == 200, updated.text
    view = updated.json()["subnetpool"]
    assert view["name"] == "renamed" and view["default_prefixlen"] == "26"
    assert view["revision_number"] == pool["revision_number"] + 1
    fault(network_api.put(path, token=bob.token, json=body), 404)
    fault(network_api.delete(path, token=bob.token), 404)
    # Nor may bob allocate from it.
    bobs = network_of(network_api, cleanup, bob.token)
    fault(subnet_from(network_api, bobs, bob.token, subnetpool_id=pool["id"]), 404)
    assert network_api.delete(path, token=alice.token).status_code == 204
    fault(network_api.get(path, token=alice.token), 404)
    ipv6 = create_pool(network_api, cleanup, alice.token, prefixes=["2001:db8::/48"])
    assert ipv6["ip_version"] == 6 and ipv6["min_prefixlen"] == "64"
    assert ipv6["max_prefixlen"] == "128"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({}, None),
        ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
        ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, "PrefixVersionMismatch"),
        ({"prefixes": ["10.0.0.1/8"]}, "InvalidInput"),
        ({"prefixes": ["not-a-cidr"]}, "InvalidInput"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16}, None),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 4}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "address_scope_id": "abc"}, "InvalidInput"),
        ({"prefixes": ["10.0.0.0/8"], "default_quota": -1}, "InvalidInput"),
        ({"prefixes": ["10.0.0.0/8"], "color": "red"}, None),
    ],
)
def test_bad_pools_are_refused(
    network_api: NetworkApi, alice: Persona, fields: dict[str, Any], kind: str | None
) -> None:
    body = {"subnetpool": {"name": unique("bad"), **fields}}
    fault(network_api.post("/v2.0/subnetpools", token=alice.token, json=body), 400, kind)
    names = {p["name"] for p in network_api.get("/v2.0/subnetpools").json()["subnetpools"]}
    assert body["subnetpool"]["name"] not in names


def test_shared_and_default_are_for_admins(network_api: NetworkApi, alice: Persona) -> None:
    for flag in ("shared", "is_default"):
        body = {"subnetpool": {"prefixes": ["10.20.0.0/16"], flag: True}}
        fault(network_api.post("/v2.0/subnetpools", token=alice.token, json=body), 403)


def test_prefixes_only_grow(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    pool = create_pool(network_api, cleanup, alice.token, prefixes=["10.30.0.0/24"])
    path = f"/v2.0/subnetpools/{pool['id']}"
    shrink = {"subnetpool": {"prefixes": ["10.30.0.0/25"]}}
    message = fault(
        network_api.put(path, token=alice.token, json=shrink), 400, "IllegalSubnetPoolPrefixUpdate"
    )
    assert "10.30.0.0/24" in message
    other = {"subnetpool": {"prefixes": ["2001:db8::/64"]}}
    fault(network_api.put(path, token=alice.token, json=other), 400, "PrefixVersionMismatch")
    grow = {"subnetpool": {"prefixes": ["10.30.0.0/24", "10.30.1.0/24", "10.31.0.0/24"]}}
    grown = network_api.put(path, token=alice.token, json=grow).json()["subnetpool"]
    assert grown["prefixes"] == ["10.30.0.0/23", "10.31.0.0/24"]


def test_add_and_remove_prefixes(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    pool = create_pool(
        network_api, cleanup, alice.token, prefixes=["10.40.0.0/24"], default_prefixlen=26
    )
    path = f"/v2.0/subnetpools/{pool['id']}"
    added = network_api.put(
        path + "/add_prefixes", token=alice.token, json={"prefixes": ["10.40.1.0/24"]}
    )
    assert added.status_code == 200, added.text
    assert added.json() == {"prefixes": ["10.40.0.0/23"]}
    network_id = network_of(network_api, cleanup, alice.token)
    subnet = allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"])
    assert subnet["cidr"] == "10.40.0.0/26"
    # The half holding the subnet cannot go; the other half can.
    fault(
        network_api.put(
            path + "/remove_prefixes", token=alice.token, json={"prefixes": ["10.40.0.0/24"]}
        ),
        400,
        "IllegalSubnetPoolPrefixUpdate",
    )
    removed = network_api.put(
        path + "/remove_prefixes", token=alice.token, json={"prefixes": ["10.40.1.0/24"]}
    )
    assert removed.json() == {"prefixes": ["10.40.0.0/24"]}
    assert network_api.delete(f"/v2.0/subnets/{subnet['id']}", token=alice.token).status_code == 204
    fault(
        network_api.put(
            path + "/remove_prefixes", token=alice.token, json={"prefixes": ["10.40.0.0/24"]}
        ),
        400,
        "EmptySubnetPoolPrefixList",
    )
    fault(network_api.put(path + "/add_prefixes", token=alice.token, json={"x": []}), 400)
    shown = network_api.get(path, token=alice.token).json()["subnetpool"]
    assert shown["prefixes"] == ["10.40.0.0/24"]


def test_subnets_from_a_pool(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    pool = create_pool(
        network_api,
        cleanup,
        alice.token,
        prefixes=["10.60.0.0/22"],
        min_prefixlen=23,
        max_prefixlen=28,
        default_prefixlen=24,
    )
    network_id = network_of(network_api, cleanup, alice.token)
    first = allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"])
    assert first["cidr"] == "10.60.0.0/24" and first["subnetpool_id"] == pool["id"]
    assert first["gateway_ip"] == "10.60.0.1"
    assert first["allocation_pools"] == [{"start": "10.60.0.2", "end": "10.60.0.254"}]
    small = allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"], prefixlen=28)
    assert small["cidr"] == "10.60.1.0/28"
    # The smallest free block is used first, so large ones stay whole.
    second_small = allocated(
        network_api, network_id, alice.token, subnetpool_id=pool["id"], prefixlen=28
    )
    assert second_small["cidr"] == "10.60.1.16/28"
    explicit = allocated(
        network_api, network_id, alice.token, subnetpool_id=pool["id"], cidr="10.60.2.0/24"
    )
    assert explicit["subnetpool_id"] == pool["id"]
    shown = network_api.get(f"/v2.0/subnets/{explicit['id']}", token=alice.token).json()
    assert shown["subnet"]["subnetpool_id"] == pool["id"]
    listed = network_api.get(f"/v2.0/subnets?network_id={network_id}", token=alice.token).json()
    assert {s["subnetpool_id"] for s in listed["subnets"]} == {pool["id"]}
    by_pool = network_api.get(f"/v2.0/subnets?subnetpool_id={pool['id']}", token=alice.token)
    assert {s["id"] for s in by_pool.json()["subnets"]} == {s["id"] for s in listed["subnets"]}
    cidrs = [ipaddress.ip_network(s["cidr"]) for s in listed["subnets"]]
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    for fields, status in (
        ({"prefixlen": 30}, 400),
        ({"prefixlen": 22}, 400),
        ({"cidr": "10.61.0.0/24"}, 400),
        ({"cidr": "10.60.0.0/24"}, 409),
        ({"cidr": "10.60.3.0/24", "prefixlen": 24}, 400),
    ):
        response = subnet_from(
            network_api, network_id, alice.token, subnetpool_id=pool["id"], **fields
        )
        fault(response, status)
    fault(subnet_from(network_api, network_id, alice.token, prefixlen=24), 400)
    fault(
        subnet_from(network_api, network_id, alice.token, subnetpool_id="nope"),
        404,
        "SubnetPoolNotFound",
    )
    fault(
        subnet_from(network_api, network_id, alice.token, subnetpool_id=pool["id"], ip_version=6),
        400,
    )
    # In use: the pool stays until its subnets are gone.
    path = f"/v2.0/subnetpools/{pool['id']}"
    fault(network_api.delete(path, token=alice.token), 409, "SubnetPoolInUse")
    for subnet in listed["subnets"]:
        network_api.delete(f"/v2.0/subnets/{subnet['id']}", token=alice.token)
    assert network_api.delete(path, token=alice.token).status_code == 204


def test_ipv6_subnet_from_a_pool(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    pool = create_pool(network_api, cleanup, alice.token, prefixes=["2001:db8:5::/48"])
    network_id = network_of(network_api, cleanup, alice.token)
    first = allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"], ip_version=6)
    second = allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"], ip_version=6)
    assert (first["cidr"], second["cidr"]) == ("2001:db8:5::/64", "2001:db8:5:1::/64")
    assert first["gateway_ip"] == "2001:db8:5::1"
    # The subnets go with their network, and the pool is free to go then.
    assert network_api.delete(f"/v2.0/networks/{network_id}").status_code == 204
    assert network_api.delete(f"/v2.0/subnetpools/{pool['id']}").status_code == 204


def test_plain_subnets_have_no_pool(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    network_id = network_of(network_api, cleanup, alice.token)
    subnet = allocated(network_api, network_id, alice.token, cidr="10.70.0.0/24")
    assert subnet["subnetpool_id"] is None
    fault(subnet_from(network_api, network_id, alice.token), 400)


def test_a_network_keeps_to_one_pool_per_version(
    network_api: NetworkApi, alice: Persona, cleanup: Any
) -> None:
    first = create_pool(network_api, cleanup, alice.token, prefixes=["10.71.0.0/16"])
    second = create_pool(network_api, cleanup, alice.token, prefixes=["10.72.0.0/16"])
    v6 = create_pool(network_api, cleanup, alice.token, prefixes=["2001:db8:71::/48"])
    network_id = network_of(network_api, cleanup, alice.token)
    allocated(network_api, network_id, alice.token, subnetpool_id=first["id"], prefixlen=24)
    for fields in ({"subnetpool_id": second["id"]}, {"cidr": "10.73.0.0/24"}):
        fault(
            subnet_from(network_api, network_id, alice.token, **fields),
            400,
            "NetworkSubnetPoolAffinityError",
        )
    # Another IP version may come from elsewhere.
    allocated(network_api, network_id, alice.token, subnetpool_id=v6["id"], ip_version=6)
    plain = network_of(network_api, cleanup, alice.token)
    allocated(network_api, plain, alice.token, cidr="10.74.0.0/24")
    fault(
        subnet_from(network_api, plain, alice.token, subnetpool_id=first["id"]),
        400,
        "NetworkSubnetPoolAffinityError",
    )


def test_exhaustion_and_quota(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    pool = create_pool(
        network_api, cleanup, alice.token, prefixes=["10.80.0.0/24"], default_prefixlen=25
    )
    network_id = network_of(network_api, cleanup, alice.token)
    allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"])
    allocated(network_api, network_id, alice.token, subnetpool_id=pool["id"])
    message = fault(
        subnet_from(network_api, network_id, alice.token, subnetpool_id=pool["id"]),
        409,
        "SubnetAllocationError",
    )
    assert "/25" in message
    quota = create_pool(
        network_api,
        cleanup,
        alice.token,
        prefixes=["10.81.0.0/16"],
        default_prefixlen=24,
        default_quota=512,
    )
    other_network = network_of(network_api, cleanup, alice.token)
    allocated(network_api, other_network, alice.token, subnetpool_id=quota["id"])
    allocated(network_api, other_network, alice.token, subnetpool_id=quota["id"])
    fault(
        subnet_from(network_api, other_network, alice.token, subnetpool_id=quota["id"]),
        409,
        "SubnetPoolQuotaExceeded",
    )


def test_concurrent_allocations_never_collide(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: Any
) -> None:
    pool = create_pool(
        network_api, cleanup, prefixes=["10.90.0.0/21"], default_prefixlen=24, shared=True
    )
    networks = [
        (network_of(network_api, cleanup, alice.token), alice.token),
        (network_of(network_api, cleanup, bob.token), bob.token),
    ]

    def make(index: int) -> Any:
        network_id, token = networks[index % 2]
        return subnet_from(network_api, network_id, token, subnetpool_id=pool["id"])

    with ThreadPoolExecutor(max_workers=8) as executor:
        responses = list(executor.map(make, range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    cidrs = sorted(r.json()["subnet"]["cidr"] for r in responses)
    assert cidrs == [f"10.90.{i}.0/24" for i in range(8)]
    fault(make(0), 409, "SubnetAllocationError")


def test_default_pool(network_api: NetworkApi, alice: Persona, cleanup: Any) -> None:
    network_id = network_of(network_api, cleanup, alice.token)
    message = fault(
        subnet_from(network_api, network_id, alice.token, use_default_subnetpool=True), 400
    )
    assert "default subnetpool" in message
    pool = create_pool(
        network_api,
        cleanup,
        prefixes=["10.100.0.0/16"],
        default_prefixlen=26,
        is_default=True,
        shared=True,
    )
    assert pool["is_default"] is True
    body = {"subnetpool": {"prefixes": ["10.101.0.0/16"], "is_default": True}}
    fault(network_api.post("/v2.0/subnetpools", json=body), 400, "InvalidInput")
    subnet = allocated(network_api, network_id, alice.token, use_default_subnetpool=True)
    assert subnet["cidr"] == "10.100.0.0/26" and subnet["subnetpool_id"] == pool["id"]
    fault(
        subnet_from(
            network_api,
            network_id,
            alice.token,
            use_default_subnetpool=True,
            subnetpool_id=pool["id"],
        ),
        400,
    )
    # Only an admin changes the default; without one, use_default_subnetpool is refused.
    path = f"/v2.0/subnetpools/{pool['id']}"
    body = {"subnetpool": {"is_default": False}}
    fault(network_api.put(path, token=alice.token, json=body), 403)
    assert network_api.put(path, json=body).json()["subnetpool"]["is_default"] is False
    fault(subnet_from(network_api, network_id, alice.token, use_default_subnetpool=True), 400)
    network_api.delete(f"/v2.0/subnets/{subnet['id']}")


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/v2.0/subnetpools", b"not json"),
        ("POST", "/v2.0/subnetpools", b"[]"),
        ("POST", "/v2.0/subnetpools", b""),
        ("POST", "/v2.0/rbac-policies", b"{"),
        ("POST", "/v2.0/rbac-policies", b'{"rbac_policy": []}'),
    ],
)
def test_malformed_bodies_are_neutron_400s(
    network_api: NetworkApi, alice: Persona, method: str, path: str, content: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    response = network_api.request(
        method, path, token=alice.token, content=content, headers=headers
    )
    fault(response, 400)


def test_pool_updates_of_unknown_pools_are_404(network_api: NetworkApi, alice: Persona) -> None:
    body = {"subnetpool": {"name": "x"}}
    fault(network_api.put("/v2.0/subnetpools/nope", token=alice.token, json=body), 404)
    prefixes = {"prefixes": ["10.0.0.0/24"]}
    for action in ("add_prefixes", "remove_prefixes"):
        response = network_api.put(
            f"/v2.0/subnetpools/nope/{action}", token=alice.token, json=prefixes
        )
        fault(response, 404, "SubnetPoolNotFound")
    fault(network_api.delete("/v2.0/subnetpools/nope", token=alice.token), 404)
    body = {"subnetpool": {"project_id": alice.project_id}}
    fault(network_api.put("/v2.0/subnetpools/nope", token=alice.token, json=body), 400)


def test_pools_take_tags_under_their_update_rule(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: Any
) -> None:
    pool = create_pool(network_api, cleanup, alice.token, prefixes=["10.12.0.0/16"])
    path = f"/v2.0/subnetpools/{pool['id']}/tags"
    assert network_api.put(f"{path}/blue", token=alice.token).status_code == 201
    response = network_api.put(path, token=alice.token, json={"tags": ["red", "green"]})
    assert response.status_code == 200 and sorted(response.json()["tags"]) == ["green", "red"]
    shown = network_api.get(f"/v2.0/subnetpools/{pool['id']}", token=alice.token).json()
    assert sorted(shown["subnetpool"]["tags"]) == ["green", "red"]
    assert shown["subnetpool"]["revision_number"] == pool["revision_number"] + 2
    assert network_api.get(f"{path}/red", token=alice.token).status_code == 204
    assert network_api.get(f"{path}/blue", token=alice.token).status_code == 404
    # Another project's pool is not there for bob, tags included.
    assert network_api.put(f"{path}/x", token=bob.token).status_code == 404
    assert network_api.delete(path, token=alice.token).status_code == 204
    assert network_api.get(path, token=alice.token).json() == {"tags": []}
