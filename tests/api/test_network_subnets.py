"""Neutron subnets through HTTP: CIDR, gateway and pool rules, IPv6, updates and deletes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from tests.api.test_networks import create_network, fault

member = persona_fixture()


@pytest.fixture
def network(network_api: NetworkApi, member: Persona) -> Iterator[dict[str, Any]]:
    made = create_network(network_api, member.token)
    yield made
    network_api.delete(f"/v2.0/networks/{made['id']}")


def subnet_body(network_id: str, cidr: str, version: int = 4, **fields: Any) -> dict[str, Any]:
    return {
        "subnet": {
            "network_id": network_id,
            "cidr": cidr,
            "ip_version": version,
            "name": unique("sub"),
            **fields,
        }
    }


def create_subnet(
    api: NetworkApi, token: str, network_id: str, cidr: str, version: int = 4, **fields: Any
) -> dict[str, Any]:
    response = api.post(
        "/v2.0/subnets", token=token, json=subnet_body(network_id, cidr, version, **fields)
    )
    assert response.status_code == 201, response.text
    subnet: dict[str, Any] = response.json()["subnet"]
    return subnet


def test_ipv4_defaults(network_api: NetworkApi, member: Persona, network: dict[str, Any]) -> None:
    subnet = create_subnet(network_api, member.token, network["id"], "10.1.0.0/24")
    assert subnet["gateway_ip"] == "10.1.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["ip_version"] == 4
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
    assert subnet["project_id"] == member.project_id
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=member.token)
    assert shown.json()["network"]["subnets"] == [subnet["id"]]


def test_ipv6_defaults(network_api: NetworkApi, member: Persona, network: dict[str, Any]) -> None:
    subnet = create_subnet(network_api, member.token, network["id"], "2001:db8:1::/64", 6)
    assert subnet["gateway_ip"] == "2001:db8:1::1"
    assert subnet["allocation_pools"] == [
        {"start": "2001:db8:1::2", "end": "2001:db8:1:0:ffff:ffff:ffff:ffff"}
    ]


def test_explicit_gateway_pools_dns_and_routes(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    subnet = create_subnet(
        network_api,
        member.token,
        network["id"],
        "10.2.0.0/24",
        gateway_ip="10.2.0.254",
        allocation_pools=[{"start": "10.2.0.10", "end": "10.2.0.20"}],
        dns_nameservers=["8.8.8.8", "1.1.1.1"],
        host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.2.0.254"}],
    )
    assert subnet["gateway_ip"] == "10.2.0.254"
    assert subnet["allocation_pools"] == [{"start": "10.2.0.10", "end": "10.2.0.20"}]
    assert subnet["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]
    no_gateway = create_subnet(
        network_api, member.token, network["id"], "10.3.0.0/29", gateway_ip=None
    )
    assert no_gateway["gateway_ip"] is None
    assert no_gateway["allocation_pools"] == [{"start": "10.3.0.1", "end": "10.3.0.6"}]


@pytest.mark.parametrize(
    ("fields", "status", "kind"),
    [
        ({"cidr": "10.9.0.0/24", "gateway_ip": "10.8.0.1"}, 400, None),
        ({"cidr": "10.9.0.0/24", "gateway_ip": "10.9.0.255"}, 400, None),
        ({"cidr": "10.9.0.5/24"}, 400, None),
        ({"cidr": "not-a-cidr"}, 400, None),
        ({"cidr": "2001:db8::/64"}, 400, None),
        ({"cidr": "10.9.0.0/24", "ip_version": 5}, 400, None),
        (
            {"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.1.1", "end": "10.9.1.5"}]},
            400,
            "OutOfBoundsAllocationPool",
        ),
        (
            {"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.9", "end": "10.9.0.5"}]},
            400,
            None,
        ),
        (
            {
                "cidr": "10.9.0.0/24",
                "allocation_pools": [
                    {"start": "10.9.0.5", "end": "10.9.0.9"},
                    {"start": "10.9.0.8", "end": "10.9.0.12"},
                ],
            },
            400,
            "OverlappingAllocationPools",
        ),
        (
            {
                "cidr": "10.9.0.0/24",
                "gateway_ip": "10.9.0.6",
                "allocation_pools": [{"start": "10.9.0.5", "end": "10.9.0.9"}],
            },
            409,
            "GatewayConflictWithAllocationPools",
        ),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["8.8.8.8", "8.8.8.8"]}, 400, None),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["dns.example"]}, 400, None),
        (
            {"cidr": "10.9.0.0/24", "host_routes": [{"destination": "x", "nexthop": "1.1.1.1"}]},
            400,
            None,
        ),
        ({"cidr": "10.9.0.0/24", "ipv6_address_mode": "slaac"}, 400, None),
        ({"cidr": "10.9.0.0/24", "colour": "red"}, 400, None),
    ],
)
def test_invalid_subnets_are_refused(
    network_api: NetworkApi,
    member: Persona,
    network: dict[str, Any],
    fields: dict[str, Any],
    status: int,
    kind: str | None,
) -> None:
    fields = dict(fields)  # parameters are shared by the three backends' runs
    body = subnet_body(network["id"], fields.pop("cidr"), **fields)
    fault(network_api.post("/v2.0/subnets", token=member.token, json=body), status, kind)
    assert network_api.get(f"/v2.0/networks/{network['id']}").json()["network"]["subnets"] == []


def test_missing_attributes_overlaps_and_unknown_network(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    token = member.token
    fault(
        network_api.post(
            "/v2.0/subnets", token=token, json={"subnet": {"network_id": network["id"]}}
        ),
        400,
    )
    create_subnet(network_api, token, network["id"], "10.4.0.0/16")
    message = fault(
        network_api.post(
            "/v2.0/subnets", token=token, json=subnet_body(network["id"], "10.4.5.0/24")
        ),
        400,
    )
    assert "overlaps" in message
    fault(
        network_api.post("/v2.0/subnets", token=token, json=subnet_body("nope", "10.5.0.0/24")),
        404,
        "NetworkNotFound",
    )


def test_subnets_of_other_projects(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    other = persona(network_api.identity)
    subnet = create_subnet(network_api, member.token, network["id"], "10.6.0.0/24")
    fault(
        network_api.get(f"/v2.0/subnets/{subnet['id']}", token=other.token), 404, "SubnetNotFound"
    )
    fault(
        network_api.post(
            "/v2.0/subnets", token=other.token, json=subnet_body(network["id"], "10.7.0.0/24")
        ),
        404,
    )
    listed = network_api.get("/v2.0/subnets", token=other.token).json()["subnets"]
    assert subnet["id"] not in {s["id"] for s in listed}


def test_update_and_delete(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    token = member.token
    subnet = create_subnet(network_api, token, network["id"], "10.8.0.0/24")
    path = f"/v2.0/subnets/{subnet['id']}"
    updated = network_api.put(
        path,
        token=token,
        json={
            "subnet": {
                "name": "renamed",
                "dns_nameservers": ["9.9.9.9"],
                "allocation_pools": [{"start": "10.8.0.100", "end": "10.8.0.200"}],
                "enable_dhcp": False,
            }
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()["subnet"]
    assert body["name"] == "renamed" and body["dns_nameservers"] == ["9.9.9.9"]
    assert body["allocation_pools"] == [{"start": "10.8.0.100", "end": "10.8.0.200"}]
    assert body["enable_dhcp"] is False and body["revision_number"] == 1
    fault(network_api.put(path, token=token, json={"subnet": {"cidr": "10.9.0.0/24"}}), 400)
    fault(network_api.put(path, token=token, json={"subnet": {"gateway_ip": "10.8.0.150"}}), 409)
    port = network_api.post(
        "/v2.0/ports", token=token, json={"port": {"network_id": network["id"]}}
    ).json()["port"]
    assert port["fixed_ips"][0]["ip_address"] == "10.8.0.100"
    fault(network_api.delete(path, token=token), 409, "SubnetInUse")
    assert network_api.delete(f"/v2.0/ports/{port['id']}", token=token).status_code == 204
    assert network_api.delete(path, token=token).status_code == 204
    fault(network_api.get(path, token=token), 404, "SubnetNotFound")
