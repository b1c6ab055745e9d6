"""Neutron's one internal read of a server's ports for Nova (`NetworkService.instance_ports`):
it must say what the API's port, network, subnet and DHCP port views say, for every port asked
that still exists, in the order asked; floating addresses come from edge mode only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona
from tests.api.test_network_ports import create_port
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network
from vistack.common.clock import utcnow
from vistack.network.dataplane.dhcp_ports import DhcpPorts
from vistack.network.db.l3_tables import FloatingIpRow
from vistack.network.domain import instance_ports
from vistack.network.domain.service import NetworkService

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)


@pytest.fixture(scope="module")
def service(network_api: NetworkApi) -> Iterator[NetworkService]:
    """The cloud's service with edge mode's DHCP port hook on, so subnets get DHCP ports."""
    networks = network_api.cloud.network.networks
    networks.dhcp_port_sync = DhcpPorts(networks).reconcile
    yield networks
    networks.dhcp_port_sync = None


@pytest.fixture(scope="module")
def member(network_api: NetworkApi) -> Persona:
    return persona(network_api.identity)


def _dhcp_address(api: NetworkApi, network_id: str, subnet_id: str) -> str:
    ports = api.get(f"/v2.0/ports?network_id={network_id}&device_owner=network:dhcp").json()
    (port,) = ports["ports"]
    return str(next(f["ip_address"] for f in port["fixed_ips"] if f["subnet_id"] == subnet_id))


def test_the_read_says_what_the_api_views_say(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    first = create_network(network_api, member.token)
    served = create_subnet(
        network_api,
        member.token,
        first["id"],
        "10.61.0.0/24",
        dns_nameservers=["10.61.0.53"],
        host_routes=[{"destination": "172.20.0.0/16", "nexthop": "10.61.0.9"}],
    )
    unserved = create_subnet(
        network_api, member.token, first["id"], "10.62.0.0/24", enable_dhcp=False
    )
    second = create_network(network_api, member.token, mtu=1400)
    other = create_subnet(network_api, member.token, second["id"], "10.63.0.0/24")
    two_addresses = create_port(
        network_api,
        member.token,
        first["id"],
        fixed_ips=[{"subnet_id": unserved["id"]}, {"subnet_id": served["id"]}],
    ).json()["port"]
    plain = create_port(network_api, member.token, second["id"]).json()["port"]
    gone = str(uuid.uuid4())

    ports, floating = service.instance_ports([plain["id"], gone, two_addresses["id"]])

    assert floating == []  # dvs mode has no floating IPs
    assert [p["id"] for p in ports] == [plain["id"], two_addresses["id"]]
    by_id = {p["id"]: p for p in ports}
    for asked, network in ((plain, second), (two_addresses, first)):
        read = by_id[asked["id"]]
        shown = network_api.get(f"/v2.0/ports/{asked['id']}").json()["port"]
        assert read["mac_address"] == shown["mac_address"]
        assert read["network_id"] == network["id"]
        assert read["mtu"] == network["mtu"]
        assert read["binding:vif_type"] == shown["binding:vif_type"]
        assert [(f["ip_address"], f["subnet"]["id"]) for f in read["fixed_ips"]] == [
            (f["ip_address"], f["subnet_id"]) for f in shown["fixed_ips"]
        ]
    subnets = {f["subnet"]["id"]: f["subnet"] for f in by_id[two_addresses["id"]]["fixed_ips"]}
    assert subnets[served["id"]] == {
        "id": served["id"],
        "cidr": "10.61.0.0/24",
        "ip_version": 4,
        "gateway_ip": served["gateway_ip"],
        "dns_nameservers": ["10.61.0.53"],
        "host_routes": [{"destination": "172.20.0.0/16", "nexthop": "10.61.0.9"}],
        "dhcp_server": _dhcp_address(network_api, first["id"], served["id"]),
    }
    assert subnets[unserved["id"]]["dhcp_server"] is None  # DHCP off: a static configuration
    (plain_fixed,) = by_id[plain["id"]]["fixed_ips"]
    assert plain_fixed["subnet"]["dhcp_server"] == _dhcp_address(
        network_api, second["id"], other["id"]
    )


def test_nothing_asked_or_nothing_left_is_an_empty_answer(service: NetworkService) -> None:
    assert service.instance_ports([]) == ([], [])
    assert service.instance_ports([str(uuid.uuid4())]) == ([], [])


def test_floating_addresses_are_those_on_the_ports_asked(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    ext = create_network(network_api, None, **{"router:external": True})
    create_subnet(
        network_api, network_api.admin_token, ext["id"], "198.51.101.0/24", enable_dhcp=False
    )
    net = create_network(network_api, member.token)
    create_subnet(network_api, member.token, net["id"], "10.64.0.0/24")
    vm = create_port(network_api, member.token, net["id"]).json()["port"]
    bystander = create_port(network_api, member.token, net["id"]).json()["port"]
    fip_id = str(uuid.uuid4())
    fip_port = create_port(
        network_api,
        network_api.admin_token,
        ext["id"],
        device_owner="network:floatingip",
        device_id=fip_id,
    ).json()["port"]
    address = fip_port["fixed_ips"][0]["ip_address"]
    now = utcnow()
    with service._store.transaction() as unit:
        unit.add(_floating_row(fip_id, member.project_id, ext, fip_port, vm, address, now))
    with service._store.transaction() as unit:
        assert instance_ports.floating_addresses(unit, [vm["id"]]) == [address]
        assert instance_ports.floating_addresses(unit, [bystander["id"]]) == []
        assert instance_ports.floating_addresses(unit, []) == []


def _floating_row(
    fip_id: str,
    project_id: str,
    ext: dict[str, Any],
    fip_port: dict[str, Any],
    vm: dict[str, Any],
    address: str,
    now: Any,
) -> FloatingIpRow:
    return FloatingIpRow(
        id=fip_id,
        project_id=project_id,
        floating_network_id=ext["id"],
        floating_port_id=fip_port["id"],
        floating_ip_address=address,
        port_id=vm["id"],
        fixed_ip_address=vm["fixed_ips"][0]["ip_address"],
        router_id=None,
        status="ACTIVE",
        description="",
        tags=[],
        created_at=now,
        updated_at=now,
        revision_number=0,
    )
