"""Neutron networks through HTTP: port groups in the fake vCenter, VLANs, policy, lists, tags,
quotas, extensions and the L3 refusal of the dvs backend.

Every test removes the networks it makes: the cloud's tenant VLAN range is 100..119.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from vistack.drivers.errors import InvalidStateError, TransientError


def fault(response: Any, status: int, kind: str | None = None) -> str:
    """The response is a NeutronError with this status (and type); returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["NeutronError"], body
    error = body["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    if kind is not None:
        assert error["type"] == kind, error
    message: str = error["message"]
    assert message
    return message


def create_network(api: NetworkApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("net"), **fields}
    response = api.post("/v2.0/networks", token=token, json={"network": body})
    assert response.status_code == 201, response.text
    network: dict[str, Any] = response.json()["network"]
    return network


def portgroups(api: NetworkApi) -> dict[str, int]:
    """The fake vCenter's vistack port groups: name → VLAN."""
    return {
        pg.name: pg.vlan_id
        for pg in api.fake.state.portgroups.values()
        if pg.name.startswith("vistack-")
    }


member = persona_fixture()
other = persona_fixture()


@pytest.fixture
def cleanup(network_api: NetworkApi) -> Iterator[list[str]]:
    """Network ids to delete (as admin) after the test, with whatever ports it left on them."""
    ids: list[str] = []
    yield ids
    for network_id in ids:
        for port in network_api.get(f"/v2.0/ports?network_id={network_id}").json()["ports"]:
            network_api.delete(f"/v2.0/ports/{port['id']}")
        network_api.delete(f"/v2.0/networks/{network_id}")


def test_version_discovery_needs_no_token(network_api: NetworkApi) -> None:
    versions = network_api.client.get("/network/").json()["versions"]
    assert versions[0]["id"] == "v2.0" and versions[0]["status"] == "CURRENT"
    assert versions[0]["links"][0]["href"] == "http://vistack.test/network/v2.0/"
    resources = network_api.client.get("/network/v2.0").json()["resources"]
    assert {r["collection"] for r in resources} == {"networks", "subnets", "ports"}


def test_catalog_lists_the_network_service(network_api: NetworkApi) -> None:
    service = network_api.identity.get("/services?type=network").json()["services"]
    assert [s["name"] for s in service] == ["neutron"]


def test_authentication_is_required(network_api: NetworkApi) -> None:
    response = network_api.client.get("/network/v2.0/networks")
    fault(response, 401)


def test_create_makes_a_vlan_port_group_and_delete_removes_it(
    network_api: NetworkApi, member: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, member.token, description="web tier")
    cleanup.append(network["id"])
    assert network["status"] == "ACTIVE"
    assert network["project_id"] == network["tenant_id"] == member.project_id
    assert network["shared"] is False and network["router:external"] is False
    assert network["mtu"] == 1500 and network["port_security_enabled"] is True
    assert network["subnets"] == [] and network["tags"] == []
    assert network["description"] == "web tier" and network["revision_number"] == 0
    assert network["created_at"].endswith("Z")
    # Provider attributes are admin-only: hidden from the member, shown to the admin.
    assert "provider:segmentation_id" not in network
    shown = network_api.get(f"/v2.0/networks/{network['id']}").json()["network"]
    assert shown["provider:network_type"] == "vlan"
    assert shown["provider:physical_network"] == "physnet1"
    vlan = shown["provider:segmentation_id"]
    assert 100 <= vlan <= 119
    assert portgroups(network_api)[f"vistack-{network['id']}"] == vlan

    assert (
        network_api.delete(f"/v2.0/networks/{network['id']}", token=member.token).status_code == 204
    )
    assert f"vistack-{network['id']}" not in portgroups(network_api)
    fault(network_api.get(f"/v2.0/networks/{network['id']}"), 404, "NetworkNotFound")


def test_tenant_networks_get_distinct_vlans_until_the_range_is_exhausted(
    network_api: NetworkApi, cleanup: list[str]
) -> None:
    vlans: set[int] = set()
    for _ in range(20):
        response = network_api.post("/v2.0/networks", json={"network": {"name": unique("n")}})
        if response.status_code != 201:
            break
        network = response.json()["network"]
        cleanup.append(network["id"])
        vlans.add(network["provider:segmentation_id"])
    assert len(vlans) == len(cleanup)
    assert vlans <= set(range(100, 120))
    before = set(portgroups(network_api))
    message = fault(
        network_api.post("/v2.0/networks", json={"network": {"name": "one-too-many"}}),
        503,
        "NoNetworkAvailable",
    )
    assert "No tenant network is available" in message
    assert set(portgroups(network_api)) == before  # nothing was created in vCenter
    # A freed VLAN is handed out again.
    freed = cleanup.pop()
    freed_vlan = network_api.get(f"/v2.0/networks/{freed}").json()["network"][
        "provider:segmentation_id"
    ]
    assert network_api.delete(f"/v2.0/networks/{freed}").status_code == 204
    again = create_network(network_api)
    cleanup.append(again["id"])
    assert again["provider:segmentation_id"] == freed_vlan


def test_provider_networks_are_admin_only_and_unique(
    network_api: NetworkApi, member: Persona, cleanup: list[str]
) -> None:
    provider: dict[str, Any] = {"provider:network_type": "vlan", "provider:segmentation_id": 3000}
    fault(
        network_api.post(
            "/v2.0/networks", token=member.token, json={"network": {"name": "p", **provider}}
        ),
        403,
        "PolicyNotAuthorized",
    )
    network = create_network(network_api, **provider)
    cleanup.append(network["id"])
    assert network["provider:segmentation_id"] == 3000
    assert portgroups(network_api)[f"vistack-{network['id']}"] == 3000
    fault(
        network_api.post("/v2.0/networks", json={"network": {"name": "dup", **provider}}),
        409,
        "VlanIdInUse",
    )
    flat = create_network(network_api, **{"provider:network_type": "flat"})
    cleanup.append(flat["id"])
    assert flat["provider:segmentation_id"] is None
    assert portgroups(network_api)[f"vistack-{flat['id']}"] == 0
    fault(
        network_api.post("/v2.0/networks", json={"network": {"provider:network_type": "flat"}}),
        409,
        "FlatNetworkInUse",
    )
    for bad in (
        {"provider:network_type": "vxlan"},
        {"provider:network_type": "vlan", "provider:segmentation_id": 5000},
        {"provider:network_type": "vlan", "provider:physical_network": "nowhere"},
        {"provider:network_type": "flat", "provider:segmentation_id": 5},
    ):
        fault(network_api.post("/v2.0/networks", json={"network": bad}), 400)
    fault(
        network_api.put(
            f"/v2.0/networks/{network['id']}",
            json={"network": {"provider:segmentation_id": 3001}},
        ),
        400,
    )


def test_a_driver_failure_leaves_no_network(network_api: NetworkApi) -> None:
    network_api.fake.fail_next("create_portgroup", TransientError("vCenter restarting"))
    before = network_api.get("/v2.0/networks").json()["networks"]
    message = fault(network_api.post("/v2.0/networks", json={"network": {"name": "doomed"}}), 503)
    assert "vCenter restarting" in message
    assert network_api.get("/v2.0/networks").json()["networks"] == before


def test_bad_bodies(network_api: NetworkApi) -> None:
    fault(network_api.post("/v2.0/networks", json={"network": {"colour": "red"}}), 400)
    fault(network_api.post("/v2.0/networks", json={"net": {}}), 400)
    fault(network_api.post("/v2.0/networks", json={"network": {"admin_state_up": "maybe"}}), 400)
    fault(network_api.post("/v2.0/networks", json={"network": {"mtu": 9000}}), 400)
    fault(
        network_api.post(
            "/v2.0/networks", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        400,
    )


def test_the_dvs_backend_has_no_default_external_network(
    network_api: NetworkApi, cleanup: list[str]
) -> None:
    """`is_default` belongs to auto-allocated topologies, which need routers: the dvs backend
    neither shows it nor takes it (false, the default value, is accepted as Neutron does)."""
    body = {"network": {"name": unique("ext"), "router:external": True, "is_default": True}}
    message = fault(network_api.post("/v2.0/networks", json=body), 400)
    assert "is_default is not supported by the dvs network backend" in message
    fields: dict[str, Any] = {"router:external": True, "is_default": False}
    plain = create_network(network_api, None, **fields)
    cleanup.append(plain["id"])
    assert "is_default" not in plain
    shown = network_api.get(f"/v2.0/networks/{plain['id']}").json()["network"]
    assert "is_default" not in shown


def test_visibility_sharing_and_ownership(
    network_api: NetworkApi, member: Persona, other: Persona, cleanup: list[str]
) -> None:
    # Giving an admin-only attribute its default value is not setting it (clients do).
    private = create_network(network_api, member.token, shared=False, **{"router:external": False})
    shared = create_network(network_api, shared=True)
    cleanup += [private["id"], shared["id"]]
    fault(
        network_api.post("/v2.0/networks", token=member.token, json={"network": {"shared": True}}),
        403,
    )
    seen = {
        n["id"] for n in network_api.get("/v2.0/networks", token=other.token).json()["networks"]
    }
    assert shared["id"] in seen and private["id"] not in seen
    fault(
        network_api.get(f"/v2.0/networks/{private['id']}", token=other.token),
        404,
        "NetworkNotFound",
    )
    fault(network_api.delete(f"/v2.0/networks/{private['id']}", token=other.token), 404)
    # A shared network is readable by all but only its owner (or an admin) changes it.
    fault(
        network_api.put(
            f"/v2.0/networks/{shared['id']}", token=other.token, json={"network": {"name": "x"}}
        ),
        403,
    )
    fault(network_api.delete(f"/v2.0/networks/{shared['id']}", token=other.token), 403)
    updated = network_api.put(
        f"/v2.0/networks/{private['id']}",
        token=member.token,
        json={"network": {"name": "renamed", "admin_state_up": False}},
    ).json()["network"]
    assert updated["name"] == "renamed" and updated["admin_state_up"] is False
    assert updated["revision_number"] == 1


def test_filters_fields_sorting_and_pages(
    network_api: NetworkApi, member: Persona, cleanup: list[str]
) -> None:
    prefix = unique("page")
    made = [create_network(network_api, member.token, name=f"{prefix}-{i}") for i in range(5)]
    cleanup += [n["id"] for n in made]
    token = member.token

    def names(query: str) -> list[str]:
        response = network_api.get(f"/v2.0/networks?{query}", token=token)
        assert response.status_code == 200, response.text
        return [n["name"] for n in response.json()["networks"]]

    assert names(f"name={prefix}-1") == [f"{prefix}-1"]
    assert sorted(names(f"name={prefix}-1&name={prefix}-3")) == [f"{prefix}-1", f"{prefix}-3"]
    assert names(f"name={prefix}-1&admin_state_up=false") == []
    assert names(f"name={prefix}-1&admin_state_up=True") == [f"{prefix}-1"]
    ordered = names("sort_key=name&sort_dir=desc")
    assert ordered == sorted(ordered, reverse=True)
    fields = network_api.get("/v2.0/networks?fields=id&fields=name", token=token).json()
    assert all(set(n) == {"id", "name"} for n in fields["networks"])
    fault(network_api.get("/v2.0/networks?sort_key=nope", token=token), 400)
    fault(network_api.get("/v2.0/networks?limit=-1", token=token), 400)

    # Pages of two, following `networks_links`, visit every network once, in order.
    seen: list[str] = []
    url = "/v2.0/networks?limit=2&sort_key=name&sort_dir=asc"
    for _ in range(10):
        body = network_api.get(url, token=token).json()
        seen += [n["name"] for n in body["networks"]]
        nexts = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
        if not nexts:
            break
        assert nexts[0].startswith("http://vistack.test/network/v2.0/networks?")
        url = nexts[0].removeprefix("http://vistack.test/network")
    assert seen == sorted(names("")) and len(seen) == len(set(seen))
    assert {f"{prefix}-{i}" for i in range(5)} <= set(seen)


def test_tags(network_api: NetworkApi, member: Persona, cleanup: list[str]) -> None:
    network = create_network(network_api, member.token)
    cleanup.append(network["id"])
    base = f"/v2.0/networks/{network['id']}/tags"
    token = member.token
    assert network_api.put(f"{base}/red", token=token).status_code == 201
    assert network_api.put(base, token=token, json={"tags": ["blue", "green"]}).json() == {
        "tags": ["blue", "green"]
    }
    assert network_api.get(f"{base}/blue", token=token).status_code == 204
    fault(network_api.get(f"{base}/red", token=token), 404, "TagNotFound")
    assert network_api.delete(f"{base}/blue", token=token).status_code == 204
    assert network_api.get(base, token=token).json() == {"tags": ["green"]}
    listed = network_api.get("/v2.0/networks?tags=green", token=token).json()["networks"]
    assert [n["id"] for n in listed] == [network["id"]]
    assert network_api.get("/v2.0/networks?not-tags=green", token=token).json()["networks"] == [
        n
        for n in network_api.get("/v2.0/networks?not-tags=green", token=token).json()["networks"]
        if n["id"] != network["id"]
    ]
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=token).json()["network"]
    assert shown["tags"] == ["green"] and shown["revision_number"] == 3
    assert network_api.delete(base, token=token).status_code == 204
    assert network_api.get(base, token=token).json() == {"tags": []}


def test_quotas(network_api: NetworkApi, cleanup: list[str]) -> None:
    quota_holder = persona(network_api.identity)
    project = quota_holder.project_id
    assert network_api.get(f"/v2.0/quotas/{project}").json()["quota"] == {
        "network": 100,
        "subnet": 100,
        "port": 500,
        "security_group": 10,
        "security_group_rule": 100,
    }
    fault(
        network_api.put(
            f"/v2.0/quotas/{project}", token=quota_holder.token, json={"quota": {"network": 5}}
        ),
        403,
    )
    assert (
        network_api.put(f"/v2.0/quotas/{project}", json={"quota": {"network": 1}}).json()["quota"][
            "network"
        ]
        == 1
    )
    fault(network_api.put(f"/v2.0/quotas/{project}", json={"quota": {"router": 1}}), 400)
    network = create_network(network_api, quota_holder.token)
    cleanup.append(network["id"])
    fault(
        network_api.post("/v2.0/networks", token=quota_holder.token, json={"network": {}}),
        409,
        "OverQuota",
    )
    details = network_api.get(f"/v2.0/quotas/{project}/details", token=quota_holder.token)
    assert details.json()["quota"]["network"] == {"limit": 1, "used": 1, "reserved": 0}
    listed = network_api.get("/v2.0/quotas").json()["quotas"]
    assert {
        "project_id": project,
        "tenant_id": project,
        "network": 1,
        "subnet": 100,
        "port": 500,
        "security_group": 10,
        "security_group_rule": 100,
    } in listed
    assert network_api.delete(f"/v2.0/quotas/{project}").status_code == 204
    assert network_api.get(f"/v2.0/quotas/{project}").json()["quota"]["network"] == 100


def test_extensions_list_only_what_works(network_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"provider", "external-net", "quotas", "binding", "port-security"} <= aliases
    assert "router" not in aliases and "security-group" in aliases
    assert network_api.get("/v2.0/extensions/provider").json()["extension"]["alias"] == "provider"
    fault(network_api.get("/v2.0/extensions/router"), 404)


@pytest.mark.parametrize("path", ["/v2.0/routers", "/v2.0/floatingips"])
def test_l3_is_refused_and_nothing_is_created(network_api: NetworkApi, path: str) -> None:
    message = fault(network_api.post(path, json={"router": {"name": "r"}}), 404)
    assert "dvs network backend has no L3" in message
    fault(network_api.get(path), 404)
    fault(network_api.get(f"{path}/some-id"), 404)


def test_bulk_create_is_all_or_nothing(network_api: NetworkApi, cleanup: list[str]) -> None:
    names = [unique("bulk"), unique("bulk")]
    response = network_api.post(
        "/v2.0/networks", json={"networks": [{"name": names[0]}, {"name": names[1]}]}
    )
    assert response.status_code == 201, response.text
    made = response.json()["networks"]
    cleanup += [n["id"] for n in made]
    assert [n["name"] for n in made] == names
    before = set(portgroups(network_api))
    failed = network_api.post(
        "/v2.0/networks", json={"networks": [{"name": unique("ok")}, {"colour": "red"}]}
    )
    fault(failed, 400)
    assert set(portgroups(network_api)) == before
    assert not [
        n
        for n in network_api.get("/v2.0/networks").json()["networks"]
        if n["name"].startswith("ok-")
    ]


def test_a_refused_port_group_delete_keeps_the_network(
    network_api: NetworkApi, cleanup: list[str]
) -> None:
    network = create_network(network_api)
    cleanup.append(network["id"])
    path = f"/v2.0/networks/{network['id']}"
    network_api.fake.fail_next("delete_portgroup", TransientError("vCenter restarting"))
    fault(network_api.delete(path), 503)
    network_api.fake.fail_next("delete_portgroup", InvalidStateError("NICs use it"))
    fault(network_api.delete(path), 409, "NetworkInUse")
    shown = network_api.get(path).json()["network"]
    assert shown["status"] == "ACTIVE"
    assert f"vistack-{network['id']}" in portgroups(network_api)
    assert network_api.delete(path).status_code == 204


def test_concurrent_creates_of_many_projects_get_distinct_vlans(
    network_api: NetworkApi, cleanup: list[str]
) -> None:
    """Only the (physical network, VLAN) key separates them: losers retry another VLAN."""

    def create(number: int) -> Any:
        body = {"network": {"name": unique("race"), "project_id": f"vlan-race-{number}"}}
        return network_api.post("/v2.0/networks", json=body)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(create, range(10)))
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    networks = [r.json()["network"] for r in responses]
    cleanup += [n["id"] for n in networks]
    vlans = [n["provider:segmentation_id"] for n in networks]
    assert len(set(vlans)) == 10
    made = portgroups(network_api)
    assert sorted(made[f"vistack-{n['id']}"] for n in networks) == sorted(vlans)
    # The losers' port groups were removed: every port group belongs to a network.
    existing = {n["id"] for n in network_api.get("/v2.0/networks").json()["networks"]}
    assert {name.removeprefix("vistack-") for name in made} <= existing
