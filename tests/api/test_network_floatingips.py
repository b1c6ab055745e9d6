"""Neutron floating IPs through HTTP (edge backend): addresses from the external network's
IPAM (also under 50 concurrent creates), association through a router, fip-port-details,
the in-use rules they add to routers and ports, quotas, policy and lists.
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api import test_network_routers
from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture
from tests.api.test_network_routers import (
    EXT_CIDR,
    Cleanup,
    add_interface,
    make_router,
    private_network,
    remove_interface,
)
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault

member = persona_fixture("edge_api")
other = persona_fixture("edge_api")


# The routers tests' network `public` and clean-up, on this module's own cloud.
external = test_network_routers.external
cleanup = test_network_routers.cleanup


@pytest.fixture
def routed(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> dict[str, Any]:
    """A member's network behind a router with its gateway on `external`, and two ports."""
    router = make_router(
        edge_api, cleanup, member.token, external_gateway_info={"network_id": external["id"]}
    )
    net = private_network(edge_api, cleanup, member.token, "10.70.0.0/24")
    assert add_interface(edge_api, router["id"], subnet_id=net["subnet"]["id"]).status_code == 200
    ports = [
        edge_api.post(
            "/v2.0/ports", token=member.token, json={"port": {"network_id": net["id"]}}
        ).json()["port"]
        for _ in range(2)
    ]
    return {"router": router, "network": net, "ports": ports}


def create_fip(api: NetworkApi, token: str | None = None, **fields: Any) -> Any:
    return api.post("/v2.0/floatingips", token=token, json={"floatingip": fields})


def made_fip(api: NetworkApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    response = create_fip(api, token, **fields)
    assert response.status_code == 201, response.text
    floating: dict[str, Any] = response.json()["floatingip"]
    return floating


def external_ports(api: NetworkApi, external: dict[str, Any]) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = api.get(f"/v2.0/ports?network_id={external['id']}").json()[
        "ports"
    ]
    return ports


def test_create_associate_move_disassociate_delete(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    first, second = routed["ports"]
    floating = made_fip(
        edge_api,
        member.token,
        floating_network_id=external["id"],
        port_id=first["id"],
        description="web",
    )
    assert floating["project_id"] == floating["tenant_id"] == member.project_id
    assert ipaddress.ip_address(floating["floating_ip_address"]) in ipaddress.ip_network(EXT_CIDR)
    assert floating["port_id"] == first["id"] and floating["status"] == "ACTIVE"
    assert floating["fixed_ip_address"] == first["fixed_ips"][0]["ip_address"]
    assert floating["router_id"] == routed["router"]["id"]
    assert floating["floating_network_id"] == external["id"]
    assert floating["description"] == "web"
    assert floating["port_details"] == {
        "name": first["name"],
        "network_id": routed["network"]["id"],
        "mac_address": first["mac_address"],
        "admin_state_up": True,
        "status": first["status"],
        "device_id": first["device_id"],
        "device_owner": first["device_owner"],
    }
    # Its address is an allocation of a port nobody owns on the external network.
    [port] = [p for p in external_ports(edge_api, external) if p["device_id"] == floating["id"]]
    assert port["device_owner"] == "network:floatingip" and port["project_id"] == ""
    assert port["fixed_ips"][0]["ip_address"] == floating["floating_ip_address"]
    path = f"/v2.0/floatingips/{floating['id']}"
    assert edge_api.get(path, token=member.token).json()["floatingip"] == floating
    moved = edge_api.put(
        path, token=member.token, json={"floatingip": {"port_id": second["id"]}}
    ).json()["floatingip"]
    assert moved["port_id"] == second["id"] and moved["router_id"] == routed["router"]["id"]
    assert moved["fixed_ip_address"] == second["fixed_ips"][0]["ip_address"]
    assert moved["revision_number"] > floating["revision_number"]
    freed = edge_api.put(path, token=member.token, json={"floatingip": {"port_id": None}}).json()[
        "floatingip"
    ]
    assert freed["port_id"] is None and freed["fixed_ip_address"] is None
    assert freed["router_id"] is None and freed["status"] == "DOWN"
    assert freed["port_details"] is None
    assert freed["floating_ip_address"] == floating["floating_ip_address"]
    fault(edge_api.put(path, json={"floatingip": {"floating_network_id": external["id"]}}), 400)
    assert edge_api.delete(path, token=member.token).status_code == 204
    fault(edge_api.get(path), 404, "FloatingIPNotFound")
    assert not [p for p in external_ports(edge_api, external) if p["device_id"] == floating["id"]]


def test_floating_network_must_exist_and_be_external(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    before = external_ports(edge_api, external)
    message = fault(
        create_fip(edge_api, member.token, floating_network_id=routed["network"]["id"]), 400
    )
    assert "not a valid external network" in message
    fault(create_fip(edge_api, member.token, floating_network_id="nope"), 404, "NetworkNotFound")
    fault(create_fip(edge_api, member.token), 400)
    fault(
        create_fip(
            edge_api,
            member.token,
            floating_network_id=external["id"],
            fixed_ip_address="10.70.0.9",
        ),
        400,
    )
    fault(
        create_fip(
            edge_api, member.token, floating_network_id=external["id"], port_id="no-such-port"
        ),
        404,
        "PortNotFound",
    )
    assert external_ports(edge_api, external) == before  # nothing half-written
    assert edge_api.get("/v2.0/floatingips", token=member.token).json()["floatingips"] == []


def test_port_must_be_reachable_from_the_floating_network(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> None:
    """Tempest's negative cases: the port's subnet is on a router without a gateway."""
    router = make_router(edge_api, cleanup, member.token)
    net = private_network(edge_api, cleanup, member.token, "10.71.0.0/24")
    assert add_interface(edge_api, router["id"], subnet_id=net["subnet"]["id"]).status_code == 200
    port = edge_api.post(
        "/v2.0/ports", token=member.token, json={"port": {"network_id": net["id"]}}
    ).json()["port"]
    fixed = port["fixed_ips"][0]["ip_address"]
    before = external_ports(edge_api, external)
    fault(
        create_fip(
            edge_api,
            member.token,
            floating_network_id=external["id"],
            port_id=port["id"],
            fixed_ip_address=fixed,
        ),
        404,
        "ExternalGatewayForFloatingIPNotFound",
    )
    assert external_ports(edge_api, external) == before
    floating = made_fip(edge_api, member.token, floating_network_id=external["id"])
    assert floating["status"] == "DOWN" and floating["port_id"] is None
    fault(
        edge_api.put(
            f"/v2.0/floatingips/{floating['id']}",
            token=member.token,
            json={"floatingip": {"port_id": port["id"], "fixed_ip_address": fixed}},
        ),
        404,
        "ExternalGatewayForFloatingIPNotFound",
    )
    assert edge_api.get(f"/v2.0/floatingips/{floating['id']}").json()["floatingip"] == floating
    assert edge_api.delete(f"/v2.0/floatingips/{floating['id']}").status_code == 204


def test_several_ipv4_addresses_need_a_fixed_ip(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    subnet_id = routed["network"]["subnet"]["id"]
    port = edge_api.post(
        "/v2.0/ports",
        token=member.token,
        json={
            "port": {
                "network_id": routed["network"]["id"],
                "fixed_ips": [
                    {"subnet_id": subnet_id, "ip_address": "10.70.0.50"},
                    {"subnet_id": subnet_id, "ip_address": "10.70.0.51"},
                ],
            }
        },
    ).json()["port"]
    message = fault(
        create_fip(edge_api, member.token, floating_network_id=external["id"], port_id=port["id"]),
        400,
    )
    assert "multiple fixed IPv4 addresses" in message
    fault(
        create_fip(
            edge_api,
            member.token,
            floating_network_id=external["id"],
            port_id=port["id"],
            fixed_ip_address="10.70.0.99",
        ),
        400,
    )
    floating = made_fip(
        edge_api,
        member.token,
        floating_network_id=external["id"],
        port_id=port["id"],
        fixed_ip_address="10.70.0.50",
    )
    assert floating["fixed_ip_address"] == "10.70.0.50"
    path = f"/v2.0/floatingips/{floating['id']}"
    moved = edge_api.put(
        path,
        token=member.token,
        json={"floatingip": {"port_id": port["id"], "fixed_ip_address": "10.70.0.51"}},
    ).json()["floatingip"]
    assert moved["fixed_ip_address"] == "10.70.0.51"
    # One fixed address, one floating IP.
    message = fault(
        create_fip(
            edge_api,
            member.token,
            floating_network_id=external["id"],
            port_id=port["id"],
            fixed_ip_address="10.70.0.51",
        ),
        409,
        "FloatingIPPortAlreadyAssociated",
    )
    assert floating["floating_ip_address"] in message
    second = made_fip(
        edge_api,
        member.token,
        floating_network_id=external["id"],
        port_id=port["id"],
        fixed_ip_address="10.70.0.50",
    )
    assert edge_api.delete(f"/v2.0/floatingips/{second['id']}").status_code == 204
    assert edge_api.delete(path).status_code == 204


def test_deleting_the_port_disassociates(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    port = routed["ports"][0]
    floating = made_fip(
        edge_api, member.token, floating_network_id=external["id"], port_id=port["id"]
    )
    assert edge_api.delete(f"/v2.0/ports/{port['id']}", token=member.token).status_code == 204
    shown = edge_api.get(f"/v2.0/floatingips/{floating['id']}").json()["floatingip"]
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None
    assert shown["router_id"] is None and shown["status"] == "DOWN"
    # Its own port goes only with it.
    [own] = [p for p in external_ports(edge_api, external) if p["device_id"] == floating["id"]]
    message = fault(edge_api.delete(f"/v2.0/ports/{own['id']}"), 409, "ServicePortInUse")
    assert "has device owner network:floatingip" in message
    assert edge_api.delete(f"/v2.0/floatingips/{floating['id']}").status_code == 204


def test_router_legs_stay_while_a_floating_ip_needs_them(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    router_id = routed["router"]["id"]
    floating = made_fip(
        edge_api, member.token, floating_network_id=external["id"], port_id=routed["ports"][0]["id"]
    )
    fault(
        remove_interface(edge_api, router_id, subnet_id=routed["network"]["subnet"]["id"]),
        409,
        "RouterInterfaceInUseByFloatingIP",
    )
    fault(
        edge_api.put(
            f"/v2.0/routers/{router_id}", json={"router": {"external_gateway_info": None}}
        ),
        409,
        "RouterExternalGatewayInUseByFloatingIp",
    )
    fault(edge_api.delete(f"/v2.0/routers/{router_id}"), 409, "RouterInUse")
    router = edge_api.get(f"/v2.0/routers/{router_id}").json()["router"]
    assert router["external_gateway_info"]["network_id"] == external["id"]
    path = f"/v2.0/floatingips/{floating['id']}"
    assert edge_api.put(path, json={"floatingip": {"port_id": None}}).status_code == 200
    cleared = edge_api.put(
        f"/v2.0/routers/{router_id}", json={"router": {"external_gateway_info": None}}
    )
    assert cleared.status_code == 200, cleared.text
    assert edge_api.delete(path).status_code == 204


def test_chosen_addresses_are_the_administrators(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any]
) -> None:
    fault(
        create_fip(
            edge_api,
            member.token,
            floating_network_id=external["id"],
            floating_ip_address="172.24.4.77",
        ),
        403,
    )
    floating = made_fip(
        edge_api,
        floating_network_id=external["id"],
        floating_ip_address="172.24.4.77",
        project_id=member.project_id,
    )
    assert floating["floating_ip_address"] == "172.24.4.77"
    assert floating["project_id"] == member.project_id
    before = external_ports(edge_api, external)
    message = fault(
        create_fip(edge_api, floating_network_id=external["id"], floating_ip_address="172.24.4.77"),
        409,
        "IpAddressAlreadyAllocated",
    )
    assert "172.24.4.77" in message
    fault(
        create_fip(edge_api, floating_network_id=external["id"], floating_ip_address="10.9.9.9"),
        400,
    )
    fault(
        create_fip(edge_api, floating_network_id=external["id"], subnet_id="no-such-subnet"),
        400,
    )
    assert external_ports(edge_api, external) == before
    from_subnet = made_fip(
        edge_api, floating_network_id=external["id"], subnet_id=external["subnet"]["id"]
    )
    assert ipaddress.ip_address(from_subnet["floating_ip_address"]) in ipaddress.ip_network(
        EXT_CIDR
    )
    assert edge_api.delete(f"/v2.0/floatingips/{from_subnet['id']}").status_code == 204
    shown = edge_api.get(f"/v2.0/floatingips/{floating['id']}", token=member.token)
    assert shown.status_code == 200
    assert (
        edge_api.delete(f"/v2.0/floatingips/{floating['id']}", token=member.token).status_code
        == 204
    )


def test_quota_visibility_and_lists(
    edge_api: NetworkApi, other: Persona, external: dict[str, Any]
) -> None:
    limited = persona(edge_api.identity)
    quota = {"quota": {"floatingip": 2, "port": 0}}
    assert edge_api.put(f"/v2.0/quotas/{limited.project_id}", json=quota).status_code == 200
    # Floating IP ports are nobody's: a port quota of 0 does not stop them.
    made = [
        made_fip(edge_api, limited.token, floating_network_id=external["id"], description=f"d{i}")
        for i in range(2)
    ]
    fault(create_fip(edge_api, limited.token, floating_network_id=external["id"]), 409, "OverQuota")
    details = edge_api.get(f"/v2.0/quotas/{limited.project_id}/details").json()["quota"]
    assert details["floatingip"]["used"] == 2 and details["port"]["used"] == 0
    fault(edge_api.get(f"/v2.0/floatingips/{made[0]['id']}", token=other.token), 404)
    fault(edge_api.delete(f"/v2.0/floatingips/{made[0]['id']}", token=other.token), 404)
    assert edge_api.get("/v2.0/floatingips", token=other.token).json()["floatingips"] == []
    listed = edge_api.get(
        "/v2.0/floatingips?sort_key=description&sort_dir=desc&fields=id&fields=description",
        token=limited.token,
    ).json()["floatingips"]
    assert listed == [{"id": f["id"], "description": f["description"]} for f in made[::-1]]
    by_address = edge_api.get(
        f"/v2.0/floatingips?floating_ip_address={made[1]['floating_ip_address']}",
        token=limited.token,
    ).json()["floatingips"]
    assert [f["id"] for f in by_address] == [made[1]["id"]]
    tagged = edge_api.put(f"/v2.0/floatingips/{made[0]['id']}/tags/web", token=limited.token)
    assert tagged.status_code == 201
    assert [
        f["id"]
        for f in edge_api.get("/v2.0/floatingips?tags=web", token=limited.token).json()[
            "floatingips"
        ]
    ] == [made[0]["id"]]
    for floating in made:
        assert edge_api.delete(f"/v2.0/floatingips/{floating['id']}").status_code == 204


def test_fifty_concurrent_creates_never_share_an_address(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any]
) -> None:
    quota = {"quota": {"floatingip": 100}}
    assert edge_api.put(f"/v2.0/quotas/{member.project_id}", json=quota).status_code == 200

    def create(_: int) -> Any:
        return create_fip(edge_api, member.token, floating_network_id=external["id"])

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(create, range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ]
    made = [r.json()["floatingip"] for r in responses]
    addresses = {f["floating_ip_address"] for f in made}
    assert len(addresses) == 50
    assert external["subnet"]["gateway_ip"] not in addresses
    ports = [
        p for p in external_ports(edge_api, external) if p["device_owner"] == "network:floatingip"
    ]
    assert sorted(p["fixed_ips"][0]["ip_address"] for p in ports) == sorted(addresses)
    for floating in made:
        assert edge_api.delete(f"/v2.0/floatingips/{floating['id']}").status_code == 204


def test_deleting_an_external_network_takes_its_floating_ips(edge_api: NetworkApi) -> None:
    """Tempest's admin case: unassociated floating IPs do not keep a network."""
    network = create_network(edge_api, None, **{"router:external": True})
    subnet = create_subnet(edge_api, edge_api.admin_token, network["id"], "172.30.0.0/24")
    floating = made_fip(edge_api, floating_network_id=network["id"])
    listed = edge_api.get(f"/v2.0/floatingips?floating_network_id={network['id']}").json()
    assert [f["id"] for f in listed["floatingips"]] == [floating["id"]]
    assert edge_api.delete(f"/v2.0/networks/{network['id']}").status_code == 204
    fault(edge_api.get(f"/v2.0/floatingips/{floating['id']}"), 404)
    fault(edge_api.get(f"/v2.0/subnets/{subnet['id']}"), 404)


def test_a_router_gateway_keeps_its_external_network(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> None:
    router = make_router(
        edge_api, cleanup, member.token, external_gateway_info={"network_id": external["id"]}
    )
    fault(edge_api.delete(f"/v2.0/networks/{external['id']}"), 409, "NetworkInUse")
    fault(edge_api.delete(f"/v2.0/subnets/{external['subnet']['id']}"), 409, "SubnetInUse")
    assert edge_api.get(f"/v2.0/routers/{router['id']}").status_code == 200


def test_concurrent_associations_of_one_fixed_ip_leave_one(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], routed: dict[str, Any]
) -> None:
    """Ten floating IPs racing for one fixed address: one wins, nine are 409s that leave
    neither a floating IP nor a port on the external network behind."""
    port = routed["ports"][0]
    before = external_ports(edge_api, external)

    def create(_: int) -> Any:
        return create_fip(
            edge_api, member.token, floating_network_id=external["id"], port_id=port["id"]
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(create, range(10)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9, [
        r.text for r in responses
    ]
    [winner] = [r.json()["floatingip"] for r in responses if r.status_code == 201]
    listed = edge_api.get("/v2.0/floatingips", token=member.token).json()["floatingips"]
    assert [f["id"] for f in listed] == [winner["id"]]
    assert len(external_ports(edge_api, external)) == len(before) + 1
    assert edge_api.delete(f"/v2.0/floatingips/{winner['id']}").status_code == 204


def test_admin_creates_for_a_project_and_others_cannot_use_its_ports(
    edge_api: NetworkApi,
    member: Persona,
    other: Persona,
    external: dict[str, Any],
    routed: dict[str, Any],
) -> None:
    """Tempest's admin case (a floating IP made for the port's project), and a stranger's
    request for the same port (it cannot see it)."""
    port = routed["ports"][1]
    floating = made_fip(
        edge_api,
        floating_network_id=external["id"],
        project_id=member.project_id,
        port_id=port["id"],
    )
    assert floating["project_id"] == member.project_id and floating["port_id"] == port["id"]
    listed = edge_api.get("/v2.0/floatingips", token=member.token).json()["floatingips"]
    assert floating["id"] in {f["id"] for f in listed}
    fault(
        create_fip(edge_api, other.token, floating_network_id=external["id"], port_id=port["id"]),
        404,
        "PortNotFound",
    )
    # The administrator's own floating IP may take another project's port; a member's not.
    mine = made_fip(edge_api, floating_network_id=external["id"])
    moved = edge_api.put(
        f"/v2.0/floatingips/{mine['id']}",
        json={"floatingip": {"port_id": routed["ports"][0]["id"]}},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["floatingip"]["router_id"] == routed["router"]["id"]
    strangers = made_fip(edge_api, other.token, floating_network_id=external["id"])
    fault(
        edge_api.put(
            f"/v2.0/floatingips/{strangers['id']}",
            token=other.token,
            json={"floatingip": {"port_id": routed["ports"][0]["id"]}},
        ),
        404,
        "PortNotFound",
    )
    assert edge_api.delete(f"/v2.0/floatingips/{strangers['id']}").status_code == 204
    assert edge_api.delete(f"/v2.0/floatingips/{mine['id']}").status_code == 204
    assert (
        edge_api.delete(f"/v2.0/floatingips/{floating['id']}", token=member.token).status_code
        == 204
    )
