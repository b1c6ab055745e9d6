"""Neutron ports through HTTP: IPAM (also under 50 concurrent creates), MACs, fixed IPs,
address pairs, bindings, and the network-in-use rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault
from vistack.network.db.repository import Unit

member = persona_fixture()


@pytest.fixture
def network(network_api: NetworkApi, member: Persona) -> Iterator[dict[str, Any]]:
    """A member's network with a /24 subnet; its ports are removed afterwards."""
    made = create_network(network_api, member.token)
    made["subnet"] = create_subnet(network_api, member.token, made["id"], "10.20.0.0/24")
    yield made
    for port in network_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]:
        network_api.delete(f"/v2.0/ports/{port['id']}")
    network_api.delete(f"/v2.0/networks/{made['id']}")


def create_port(api: NetworkApi, token: str, network_id: str, **fields: Any) -> Any:
    return api.post("/v2.0/ports", token=token, json={"port": {"network_id": network_id, **fields}})


def test_port_defaults(network_api: NetworkApi, member: Persona, network: dict[str, Any]) -> None:
    response = create_port(network_api, member.token, network["id"], name="p1")
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["fixed_ips"] == [{"subnet_id": network["subnet"]["id"], "ip_address": "10.20.0.2"}]
    assert port["port_security_enabled"] is True and port["allowed_address_pairs"] == []
    assert port["project_id"] == member.project_id
    assert "binding:vif_type" not in port  # binding details are the admin's
    shown = network_api.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert shown["binding:vif_type"] == "unbound" and shown["binding:vnic_type"] == "normal"


def test_fifty_concurrent_creates_never_share_an_address(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    def create(_: int) -> Any:
        return create_port(network_api, member.token, network["id"])

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(create, range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ]
    ports = [r.json()["port"] for r in responses]
    addresses = [p["fixed_ips"][0]["ip_address"] for p in ports]
    macs = [p["mac_address"] for p in ports]
    assert len(set(addresses)) == 50 and len(set(macs)) == 50
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.20.0.0/24") for a in addresses)
    assert "10.20.0.1" not in addresses  # the gateway


def test_a_create_that_loses_its_address_at_insert_retries_and_frees_its_claim(
    network_api: NetworkApi,
    member: Persona,
    network: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database, not the in-process claims, is what refuses a taken address: here the
    read misses a port another process committed (as a second controller's would), the
    insert hits the unique key, and the create retries on another address."""
    first = create_port(network_api, member.token, network["id"]).json()["port"]
    taken = first["fixed_ips"][0]["ip_address"]
    service = network_api.cloud.network.networks
    subnet_id = network["subnet"]["id"]
    service._next_address[subnet_id] = int(ipaddress.ip_address(taken))  # hint: before it
    blind = [True]
    real_taken_among = Unit.taken_among

    def taken_among_once_blind(unit: Unit, subnet: str, addresses: Any) -> set[str]:
        if blind.pop() if blind else False:
            return set()
        return real_taken_among(unit, subnet, addresses)

    monkeypatch.setattr(Unit, "taken_among", taken_among_once_blind)
    response = create_port(network_api, member.token, network["id"])
    assert response.status_code == 201, response.text
    second = response.json()["port"]["fixed_ips"][0]["ip_address"]
    assert second != taken and not blind
    assert service._claims.held(subnet_id) == set()


def test_fifty_concurrent_creates_of_fifty_projects_never_share_an_address(
    network_api: NetworkApi, network: dict[str, Any]
) -> None:
    """Creates of different projects are not serialised by a project lock: only the
    (subnet, address) key stands between them, and the losers retry."""
    network_api.put(f"/v2.0/networks/{network['id']}", json={"network": {"shared": True}})

    def create(number: int) -> Any:
        return create_port(
            network_api, network_api.admin_token, network["id"], project_id=f"p{number}"
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(create, range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ]
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in responses]
    assert len(set(addresses)) == 50


def test_explicit_fixed_ips(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    token, subnet_id = member.token, network["subnet"]["id"]
    wanted = [{"subnet_id": subnet_id, "ip_address": "10.20.0.77"}]
    port = create_port(network_api, token, network["id"], fixed_ips=wanted).json()["port"]
    assert port["fixed_ips"] == wanted
    fault(
        create_port(network_api, token, network["id"], fixed_ips=wanted),
        409,
        "IpAddressAlreadyAllocated",
    )
    fault(
        create_port(network_api, token, network["id"], fixed_ips=[{"ip_address": "10.99.0.5"}]),
        400,
        "InvalidIpForNetwork",
    )
    fault(
        create_port(
            network_api,
            token,
            network["id"],
            fixed_ips=[{"subnet_id": subnet_id, "ip_address": "10.21.0.5"}],
        ),
        400,
        "InvalidIpForSubnet",
    )
    fault(create_port(network_api, token, network["id"], fixed_ips=[{"subnet_id": "nope"}]), 400)
    by_subnet = create_port(
        network_api, token, network["id"], fixed_ips=[{"subnet_id": subnet_id}]
    ).json()["port"]
    assert by_subnet["fixed_ips"][0]["subnet_id"] == subnet_id
    listed = network_api.get("/v2.0/ports?fixed_ips=ip_address=10.20.0.77", token=token).json()[
        "ports"
    ]
    assert [p["id"] for p in listed] == [port["id"]]
    listed = network_api.get("/v2.0/ports?fixed_ips=ip_address_substr=0.0.77", token=token).json()[
        "ports"
    ]
    assert [p["id"] for p in listed] == [port["id"]]
    # Moving the port to another address frees the old one.
    moved = network_api.put(
        f"/v2.0/ports/{port['id']}",
        token=token,
        json={"port": {"fixed_ips": [{"subnet_id": subnet_id, "ip_address": "10.20.0.78"}]}},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["port"]["fixed_ips"][0]["ip_address"] == "10.20.0.78"
    again = create_port(network_api, token, network["id"], fixed_ips=wanted)
    assert again.status_code == 201, again.text


def test_macs(network_api: NetworkApi, member: Persona, network: dict[str, Any]) -> None:
    token = member.token
    port = create_port(network_api, token, network["id"], mac_address="fa:16:3e:00:00:01")
    assert port.json()["port"]["mac_address"] == "fa:16:3e:00:00:01"
    fault(
        create_port(network_api, token, network["id"], mac_address="fa:16:3e:00:00:01"),
        409,
        "MacAddressInUse",
    )
    fault(create_port(network_api, token, network["id"], mac_address="zz:16:3e:00:00:01"), 400)


def test_address_pairs_security_and_binding(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    token = member.token
    pairs = [
        {"ip_address": "10.20.0.200/32"},
        {"ip_address": "10.30.0.0/24", "mac_address": "fa:16:3e:aa:bb:cc"},
    ]
    port = create_port(network_api, token, network["id"], allowed_address_pairs=pairs).json()[
        "port"
    ]
    assert port["allowed_address_pairs"][0] == {
        "ip_address": "10.20.0.200/32",
        "mac_address": port["mac_address"],
    }
    fault(
        create_port(
            network_api,
            token,
            network["id"],
            port_security_enabled=False,
            allowed_address_pairs=pairs,
        ),
        409,
        "AddressPairAndPortSecurityRequired",
    )
    fault(create_port(network_api, token, network["id"], **{"binding:host_id": "esx1"}), 403)
    bound = network_api.put(
        f"/v2.0/ports/{port['id']}", json={"port": {"binding:host_id": "cluster1"}}
    ).json()["port"]
    assert bound["binding:vif_type"] == "dvs"
    assert bound["binding:vif_details"]["dvs_port_group_key"]
    fault(
        network_api.put(f"/v2.0/ports/{port['id']}", json={"port": {"binding:vnic_type": "weird"}}),
        400,
    )


def test_network_in_use_and_port_visibility(network_api: NetworkApi, member: Persona) -> None:
    token = member.token
    network = create_network(network_api, token)
    create_subnet(network_api, token, network["id"], "10.40.0.0/24")
    port = create_port(network_api, token, network["id"]).json()["port"]
    other = persona(network_api.identity)
    fault(network_api.get(f"/v2.0/ports/{port['id']}", token=other.token), 404, "PortNotFound")
    fault(create_port(network_api, other.token, network["id"]), 404, "NetworkNotFound")
    fault(network_api.delete(f"/v2.0/networks/{network['id']}", token=token), 409, "NetworkInUse")
    assert f"vistack-{network['id']}" in {
        pg.name for pg in network_api.fake.state.portgroups.values()
    }
    assert network_api.delete(f"/v2.0/ports/{port['id']}", token=token).status_code == 204
    fault(network_api.get(f"/v2.0/ports/{port['id']}", token=token), 404, "PortNotFound")
    assert network_api.delete(f"/v2.0/networks/{network['id']}", token=token).status_code == 204
    assert f"vistack-{network['id']}" not in {
        pg.name for pg in network_api.fake.state.portgroups.values()
    }


def test_shared_network_ports_of_other_projects(network_api: NetworkApi) -> None:
    shared = create_network(network_api, shared=True)
    create_subnet(network_api, network_api.admin_token, shared["id"], "10.50.0.0/24")
    tenant = persona(network_api.identity)
    port = create_port(network_api, tenant.token, shared["id"])
    assert port.status_code == 201, port.text
    fault(
        create_port(
            network_api, tenant.token, shared["id"], fixed_ips=[{"ip_address": "10.50.0.9"}]
        ),
        403,
    )
    fault(
        network_api.put(f"/v2.0/networks/{shared['id']}", json={"network": {"shared": False}}),
        409,
        "InvalidSharedSetting",
    )
    network_api.delete(f"/v2.0/ports/{port.json()['port']['id']}")
    assert network_api.delete(f"/v2.0/networks/{shared['id']}").status_code == 204


def test_port_quota(network_api: NetworkApi) -> None:
    holder = persona(network_api.identity)
    network = create_network(network_api, holder.token)
    network_api.put(f"/v2.0/quotas/{holder.project_id}", json={"quota": {"port": 2}})

    def create(_: int) -> Any:
        return create_port(network_api, holder.token, network["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(r.status_code for r in pool.map(create, range(8)))
    assert statuses == [201, 201] + [409] * 6
    for port in network_api.get(f"/v2.0/ports?network_id={network['id']}").json()["ports"]:
        network_api.delete(f"/v2.0/ports/{port['id']}")
    network_api.delete(f"/v2.0/networks/{network['id']}")


def test_a_delete_racing_port_creates_never_orphans_a_port(network_api: NetworkApi) -> None:
    """Either the delete sees a port (409) or every racing create sees no network (404)."""
    for _ in range(3):
        network = create_network(network_api)

        def act(number: int, network_id: str = network["id"]) -> Any:
            if number == 5:
                return network_api.delete(f"/v2.0/networks/{network_id}")
            return create_port(network_api, network_api.admin_token, network_id)

        with ThreadPoolExecutor(max_workers=11) as pool:
            responses = list(pool.map(act, range(11)))
        deleted = responses[5].status_code
        created = [r.status_code for i, r in enumerate(responses) if i != 5]
        assert deleted in {204, 409}, responses[5].text
        assert set(created) <= {201, 404}
        if deleted == 204:
            assert 201 not in created
        else:
            assert 201 in created
            for port in network_api.get(f"/v2.0/ports?network_id={network['id']}").json()["ports"]:
                network_api.delete(f"/v2.0/ports/{port['id']}")
            assert network_api.delete(f"/v2.0/networks/{network['id']}").status_code == 204
