"""Neutron routers through HTTP (edge backend): gateways on external networks, interfaces by
subnet and by port, extra routes (also atomically), the in-use rules, quotas, policy and
lists. Every test removes what it makes: the cloud's tenant VLAN range is 100..119.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault

EXT_CIDR = "172.24.4.0/24"


member = persona_fixture("edge_api")
other = persona_fixture("edge_api")


@pytest.fixture(scope="module")
def external(edge_api: NetworkApi) -> Iterator[dict[str, Any]]:
    """The admin's external network with one IPv4 subnet (the module's 'public')."""
    made = create_network(edge_api, None, **{"router:external": True})
    made["subnet"] = create_subnet(edge_api, edge_api.admin_token, made["id"], EXT_CIDR)
    yield made
    edge_api.delete(f"/v2.0/networks/{made['id']}")


class Cleanup:
    """What a test made, removed afterwards (as admin) in an order that always works."""

    def __init__(self, api: NetworkApi) -> None:
        self.api = api
        self.routers: list[str] = []
        self.networks: list[str] = []

    def router(self, router: dict[str, Any]) -> dict[str, Any]:
        self.routers.append(router["id"])
        return router

    def network(self, network: dict[str, Any]) -> dict[str, Any]:
        self.networks.append(network["id"])
        return network

    def run(self) -> None:
        for floating in self.api.get("/v2.0/floatingips").json()["floatingips"]:
            if floating["router_id"] in self.routers:
                self.api.delete(f"/v2.0/floatingips/{floating['id']}")
        for router_id in self.routers:
            ports = self.api.get(f"/v2.0/ports?device_id={router_id}").json()["ports"]
            for port in ports:
                if port["device_owner"] == "network:router_interface":
                    self.api.put(
                        f"/v2.0/routers/{router_id}/remove_router_interface",
                        json={"port_id": port["id"]},
                    )
            self.api.delete(f"/v2.0/routers/{router_id}")
        for network_id in self.networks:
            for port in self.api.get(f"/v2.0/ports?network_id={network_id}").json()["ports"]:
                self.api.delete(f"/v2.0/ports/{port['id']}")
            self.api.delete(f"/v2.0/networks/{network_id}")


@pytest.fixture
def cleanup(edge_api: NetworkApi) -> Iterator[Cleanup]:
    made = Cleanup(edge_api)
    yield made
    made.run()


def create_router(api: NetworkApi, token: str | None = None, **fields: Any) -> Any:
    body = {"name": unique("router"), **fields}
    return api.post("/v2.0/routers", token=token, json={"router": body})


def make_router(
    api: NetworkApi, cleanup: Cleanup, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    response = create_router(api, token, **fields)
    assert response.status_code == 201, response.text
    return cleanup.router(response.json()["router"])


def private_network(
    api: NetworkApi, cleanup: Cleanup, token: str, cidr: str, **subnet_fields: Any
) -> dict[str, Any]:
    network = cleanup.network(create_network(api, token))
    network["subnet"] = create_subnet(api, token, network["id"], cidr, **subnet_fields)
    return network


def add_interface(api: NetworkApi, router_id: str, token: str | None = None, **body: Any) -> Any:
    return api.put(f"/v2.0/routers/{router_id}/add_router_interface", token=token, json=body)


def remove_interface(api: NetworkApi, router_id: str, token: str | None = None, **body: Any) -> Any:
    return api.put(f"/v2.0/routers/{router_id}/remove_router_interface", token=token, json=body)


def router_ports(api: NetworkApi, router_id: str) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = api.get(f"/v2.0/ports?device_id={router_id}").json()["ports"]
    return ports


def test_extensions_list_l3_in_edge_mode(edge_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in edge_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic"} <= aliases
    assert "fip-port-details" in aliases and "provider" in aliases
    assert edge_api.get("/v2.0/extensions/router").json()["extension"]["alias"] == "router"


def test_router_lifecycle_with_gateway(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> None:
    router = make_router(
        edge_api,
        cleanup,
        member.token,
        admin_state_up=False,
        description="edge",
        external_gateway_info={"network_id": external["id"]},
    )
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is False
    assert router["project_id"] == router["tenant_id"] == member.project_id
    assert router["routes"] == [] and router["description"] == "edge"
    info = router["external_gateway_info"]
    assert info["network_id"] == external["id"] and info["enable_snat"] is True
    [fixed] = info["external_fixed_ips"]
    assert fixed["subnet_id"] == external["subnet"]["id"]
    assert fixed["ip_address"].startswith("172.24.4.")
    # The gateway port is nobody's (no port quota) and only the administrator sees it.
    [gateway] = router_ports(edge_api, router["id"])
    assert gateway["device_owner"] == "network:router_gateway" and gateway["project_id"] == ""
    assert gateway["fixed_ips"] == [fixed] and gateway["network_id"] == external["id"]
    assert not edge_api.get(f"/v2.0/ports?device_id={router['id']}", token=member.token).json()[
        "ports"
    ]
    shown = edge_api.get(f"/v2.0/routers/{router['id']}", token=member.token).json()["router"]
    # Only its zones may have changed meanwhile: the scheduler hosts it on an L3 agent.
    assert {**shown, "availability_zones": []} == {**router, "availability_zones": []}
    listed = edge_api.get("/v2.0/routers", token=member.token).json()["routers"]
    assert [r["id"] for r in listed] == [router["id"]]
    updated = edge_api.put(
        f"/v2.0/routers/{router['id']}",
        token=member.token,
        json={"router": {"name": "renamed", "admin_state_up": True}},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()["router"]
    assert body["name"] == "renamed" and body["admin_state_up"] is True
    assert body["revision_number"] > router["revision_number"]
    assert body["external_gateway_info"] == info
    assert edge_api.delete(f"/v2.0/routers/{router['id']}", token=member.token).status_code == 204
    fault(edge_api.get(f"/v2.0/routers/{router['id']}"), 404, "RouterNotFound")
    assert router_ports(edge_api, router["id"]) == []
    fault(edge_api.delete(f"/v2.0/routers/{router['id']}"), 404, "RouterNotFound")
    fault(edge_api.put("/v2.0/routers/nope", json={"router": {"name": "x"}}), 404, "RouterNotFound")


def test_gateway_network_must_exist_and_be_external(
    edge_api: NetworkApi, member: Persona, cleanup: Cleanup
) -> None:
    private = private_network(edge_api, cleanup, member.token, "10.50.0.0/24")
    fault(
        create_router(edge_api, member.token, external_gateway_info={"network_id": private["id"]}),
        400,
        "BadRequest",
    )
    router = make_router(edge_api, cleanup, member.token)
    assert router["external_gateway_info"] is None
    path = f"/v2.0/routers/{router['id']}"
    message = fault(
        edge_api.put(
            path,
            token=member.token,
            json={"router": {"external_gateway_info": {"network_id": private["id"]}}},
        ),
        400,
    )
    assert "not an external network" in message
    fault(
        edge_api.put(
            path,
            token=member.token,
            json={"router": {"external_gateway_info": {"network_id": router["id"]}}},
        ),
        404,
        "NetworkNotFound",
    )
    fault(edge_api.post("/v2.0/routers", json={"router": {"routes": []}}), 400)
    fault(edge_api.post("/v2.0/routers", json={"router": {"colour": "red"}}), 400)
    assert router_ports(edge_api, router["id"]) == []
    names = [r["name"] for r in edge_api.get("/v2.0/routers").json()["routers"]]
    assert names == [router["name"]]  # the refused creates left nothing


def test_gateway_set_change_and_clear(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> None:
    router = make_router(edge_api, cleanup, member.token)
    path = f"/v2.0/routers/{router['id']}"
    gateway = {"network_id": external["id"]}
    body = edge_api.put(
        path, token=member.token, json={"router": {"external_gateway_info": gateway}}
    ).json()["router"]
    first = body["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    # SNAT off and chosen addresses are the administrator's.
    fault(
        edge_api.put(
            path,
            token=member.token,
            json={"router": {"external_gateway_info": {**gateway, "enable_snat": False}}},
        ),
        403,
    )
    chosen = {"subnet_id": external["subnet"]["id"], "ip_address": "172.24.4.200"}
    fault(
        edge_api.put(
            path,
            token=member.token,
            json={"router": {"external_gateway_info": {**gateway, "external_fixed_ips": [chosen]}}},
        ),
        403,
    )
    response = edge_api.put(
        path,
        json={
            "router": {
                "external_gateway_info": {
                    **gateway,
                    "enable_snat": False,
                    "external_fixed_ips": [chosen],
                }
            }
        },
    )
    assert response.status_code == 200, response.text
    info = response.json()["router"]["external_gateway_info"]
    assert info["enable_snat"] is False and info["external_fixed_ips"] == [chosen]
    [port] = router_ports(edge_api, router["id"])
    assert port["fixed_ips"] == [chosen]
    # The old address went back to the pool; the chosen one is now taken.
    other = make_router(edge_api, cleanup, edge_api.admin_token)
    fault(
        edge_api.put(
            f"/v2.0/routers/{other['id']}",
            json={"router": {"external_gateway_info": {**gateway, "external_fixed_ips": [chosen]}}},
        ),
        409,
        "IpAddressAlreadyAllocated",
    )
    assert router_ports(edge_api, other["id"]) == []
    reuse = {"subnet_id": external["subnet"]["id"], "ip_address": first}
    response = edge_api.put(
        f"/v2.0/routers/{other['id']}",
        json={"router": {"external_gateway_info": {**gateway, "external_fixed_ips": [reuse]}}},
    )
    assert response.status_code == 200, response.text
    cleared = edge_api.put(
        path, token=member.token, json={"router": {"external_gateway_info": {}}}
    ).json()["router"]
    assert cleared["external_gateway_info"] is None
    assert router_ports(edge_api, router["id"]) == []


def test_interfaces_by_subnet(edge_api: NetworkApi, member: Persona, cleanup: Cleanup) -> None:
    router = make_router(edge_api, cleanup, member.token)
    net = private_network(edge_api, cleanup, member.token, "10.60.0.0/24")
    subnet = net["subnet"]
    response = add_interface(edge_api, router["id"], member.token, subnet_id=subnet["id"])
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) == {
        "id",
        "tenant_id",
        "project_id",
        "port_id",
        "network_id",
        "subnet_id",
        "subnet_ids",
        "tags",
    }
    assert info["id"] == router["id"] and info["subnet_id"] == subnet["id"]
    assert info["subnet_ids"] == [subnet["id"]] and info["network_id"] == net["id"]
    port = edge_api.get(f"/v2.0/ports/{info['port_id']}", token=member.token).json()["port"]
    assert port["device_id"] == router["id"]
    assert port["device_owner"] == "network:router_interface"
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.60.0.1"}]
    assert port["project_id"] == member.project_id and port["security_groups"] == []
    # Once per subnet, no overlapping cidrs, and only subnets with a gateway.
    message = fault(add_interface(edge_api, router["id"], subnet_id=subnet["id"]), 400)
    assert "already has a port on subnet" in message
    overlap = private_network(edge_api, cleanup, member.token, "10.60.0.0/25")
    message = fault(add_interface(edge_api, router["id"], subnet_id=overlap["subnet"]["id"]), 400)
    assert "overlaps with cidr" in message
    gatewayless = private_network(edge_api, cleanup, member.token, "10.61.0.0/24", gateway_ip=None)
    message = fault(
        add_interface(edge_api, router["id"], subnet_id=gatewayless["subnet"]["id"]), 400
    )
    assert "must have a gateway IP" in message
    fault(add_interface(edge_api, router["id"], subnet_id="nope"), 404, "SubnetNotFound")
    assert len(router_ports(edge_api, router["id"])) == 1  # the refusals made no port
    # The interface keeps its router, network and subnet in place.
    fault(edge_api.delete(f"/v2.0/routers/{router['id']}"), 409, "RouterInUse")
    message = fault(edge_api.delete(f"/v2.0/ports/{info['port_id']}"), 409, "ServicePortInUse")
    assert message == (
        f"Port {info['port_id']} cannot be deleted directly via the port API: has device "
        "owner network:router_interface."
    )
    fault(edge_api.delete(f"/v2.0/subnets/{subnet['id']}"), 409, "SubnetInUse")
    fault(edge_api.delete(f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    removed = remove_interface(edge_api, router["id"], member.token, subnet_id=subnet["id"])
    assert removed.status_code == 200, removed.text
    assert removed.json() == info
    fault(edge_api.get(f"/v2.0/ports/{info['port_id']}"), 404)
    fault(
        remove_interface(edge_api, router["id"], subnet_id=subnet["id"]),
        404,
        "RouterInterfaceNotFoundForSubnet",
    )
    fault(add_interface(edge_api, router["id"]), 400)
    fault(add_interface(edge_api, router["id"], subnet_id=subnet["id"], port_id="x"), 400)


def test_interfaces_by_port(
    edge_api: NetworkApi, member: Persona, other: Persona, cleanup: Cleanup
) -> None:
    router = make_router(edge_api, cleanup, member.token)
    net = private_network(edge_api, cleanup, member.token, "10.62.0.0/24")
    made = edge_api.post(
        "/v2.0/ports", token=member.token, json={"port": {"network_id": net["id"]}}
    ).json()["port"]
    response = add_interface(edge_api, router["id"], member.token, port_id=made["id"])
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["port_id"] == made["id"] and info["subnet_id"] == net["subnet"]["id"]
    port = edge_api.get(f"/v2.0/ports/{made['id']}", token=member.token).json()["port"]
    assert port["device_id"] == router["id"]
    assert port["device_owner"] == "network:router_interface"
    assert port["fixed_ips"] == made["fixed_ips"]
    # A port already in use cannot become another router's interface.
    second = make_router(edge_api, cleanup, member.token)
    fault(add_interface(edge_api, second["id"], port_id=made["id"]), 409, "PortInUse")
    fault(
        remove_interface(edge_api, second["id"], port_id=made["id"]),
        404,
        "RouterInterfaceNotFound",
    )
    # The subnet's router interface may be updated (Tempest: keeps its address).
    kept = edge_api.put(
        f"/v2.0/ports/{made['id']}",
        token=member.token,
        json={"port": {"fixed_ips": [{"subnet_id": net["subnet"]["id"]}]}},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["port"]["fixed_ips"] == made["fixed_ips"]
    # Another project's router cannot be seen, let alone changed.
    fault(add_interface(edge_api, router["id"], other.token, port_id=made["id"]), 404)
    removed = remove_interface(edge_api, router["id"], member.token, port_id=made["id"])
    assert removed.status_code == 200, removed.text
    assert removed.json()["port_id"] == made["id"]
    fault(edge_api.get(f"/v2.0/ports/{made['id']}"), 404)  # Neutron deletes it
    fault(remove_interface(edge_api, router["id"]), 400)


def test_extra_routes(edge_api: NetworkApi, member: Persona, cleanup: Cleanup) -> None:
    router = make_router(edge_api, cleanup, member.token)
    path = f"/v2.0/routers/{router['id']}"
    net = private_network(edge_api, cleanup, member.token, "10.63.0.0/24")
    assert add_interface(edge_api, router["id"], subnet_id=net["subnet"]["id"]).status_code == 200
    route = {"destination": "192.168.10.0/24", "nexthop": "10.63.0.5"}

    def update(routes: Any) -> Any:
        return edge_api.put(path, token=member.token, json={"router": {"routes": routes}})

    message = fault(
        update([{"destination": "192.168.10.0/24", "nexthop": "10.99.0.5"}]),
        400,
        "InvalidRoutes",
    )
    assert "the nexthop is not connected with router" in message
    message = fault(
        update([{"destination": "192.168.10.0/24", "nexthop": "10.63.0.1"}]),
        400,
        "InvalidRoutes",
    )
    assert "the nexthop is used by router" in message
    fault(update([{"destination": "nonsense", "nexthop": "10.63.0.5"}]), 400)
    response = update([route])
    assert response.status_code == 200, response.text
    assert response.json()["router"]["routes"] == [route]
    # The interface a nexthop is behind stays while the route does.
    fault(
        remove_interface(edge_api, router["id"], subnet_id=net["subnet"]["id"]),
        409,
        "RouterInterfaceInUseByRoute",
    )
    # extraroute-atomic: add and remove relative to the current set.
    more = {"destination": "192.168.20.0/24", "nexthop": "10.63.0.6"}
    added = edge_api.put(
        f"{path}/add_extraroutes", token=member.token, json={"router": {"routes": [more, route]}}
    )
    assert added.status_code == 200, added.text
    assert added.json()["router"]["routes"] == [route, more]
    bad = {"destination": "192.168.30.0/24", "nexthop": "10.1.1.1"}
    fault(
        edge_api.put(f"{path}/add_extraroutes", json={"router": {"routes": [bad]}}),
        400,
        "InvalidRoutes",
    )
    fault(edge_api.put(f"{path}/add_extraroutes", json={"routes": [more]}), 400)
    removed = edge_api.put(f"{path}/remove_extraroutes", json={"router": {"routes": [route]}})
    assert removed.status_code == 200, removed.text
    assert removed.json()["router"]["routes"] == [more]
    assert update(None).json()["router"]["routes"] == []
    assert (
        remove_interface(edge_api, router["id"], subnet_id=net["subnet"]["id"]).status_code == 200
    )


def test_router_quota_and_visibility(
    edge_api: NetworkApi, other: Persona, cleanup: Cleanup
) -> None:
    limited = persona(edge_api.identity)
    quota = {"quota": {"router": 1}}
    assert edge_api.put(f"/v2.0/quotas/{limited.project_id}", json=quota).status_code == 200
    router = make_router(edge_api, cleanup, limited.token)
    fault(create_router(edge_api, limited.token), 409, "OverQuota")
    details = edge_api.get(f"/v2.0/quotas/{limited.project_id}/details").json()["quota"]
    assert details["router"] == {"limit": 1, "used": 1, "reserved": 0}
    fault(edge_api.get(f"/v2.0/routers/{router['id']}", token=other.token), 404)
    fault(
        edge_api.put(
            f"/v2.0/routers/{router['id']}", token=other.token, json={"router": {"name": "x"}}
        ),
        404,
    )
    fault(edge_api.delete(f"/v2.0/routers/{router['id']}", token=other.token), 404)
    assert edge_api.get("/v2.0/routers", token=other.token).json()["routers"] == []
    assert router["id"] in {r["id"] for r in edge_api.get("/v2.0/routers").json()["routers"]}


def test_router_lists_tags_and_revisions(
    edge_api: NetworkApi, member: Persona, cleanup: Cleanup
) -> None:
    made = [make_router(edge_api, cleanup, member.token, name=f"r{i}") for i in range(3)]
    path = f"/v2.0/routers/{made[0]['id']}"
    assert edge_api.put(f"{path}/tags/blue", token=member.token).status_code == 201
    assert edge_api.get(f"{path}/tags", token=member.token).json() == {"tags": ["blue"]}
    assert edge_api.get(f"{path}/tags/blue", token=member.token).status_code == 204
    fault(edge_api.get(f"{path}/tags/red", token=member.token), 404, "TagNotFound")
    tagged = edge_api.get("/v2.0/routers?tags=blue", token=member.token).json()["routers"]
    assert [r["id"] for r in tagged] == [made[0]["id"]]
    page = edge_api.get(
        "/v2.0/routers?sort_key=name&sort_dir=desc&limit=2&fields=name&fields=id",
        token=member.token,
    ).json()
    assert [r["name"] for r in page["routers"]] == ["r2", "r1"]
    assert set(page["routers"][0]) == {"name", "id"}
    assert page["routers_links"][0]["rel"] == "next"
    shown = edge_api.get(f"{path}?fields=name", token=member.token).json()["router"]
    assert shown == {"name": "r0"}
    revision = edge_api.get(path).json()["router"]["revision_number"]
    stale = edge_api.put(
        path,
        json={"router": {"name": "x"}},
        headers={"If-Match": f"revision_number={revision - 1}"},
    )
    fault(stale, 412, "RevisionNumberConstraintFailed")
    assert edge_api.delete(f"{path}/tags", token=member.token).status_code == 204
    assert edge_api.get(path).json()["router"]["tags"] == []


def test_concurrent_overlapping_interfaces_attach_once(
    edge_api: NetworkApi, member: Persona, cleanup: Cleanup
) -> None:
    """The router's lock serialises interface changes: of five subnets with one cidr racing
    onto a router, exactly one becomes an interface, and the others leave no port behind."""
    router = make_router(edge_api, cleanup, member.token)
    subnets = [
        private_network(edge_api, cleanup, member.token, "10.64.0.0/24")["subnet"] for _ in range(5)
    ]

    def attach(subnet: dict[str, Any]) -> Any:
        return add_interface(edge_api, router["id"], member.token, subnet_id=subnet["id"])

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(attach, subnets))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400], [
        r.text for r in responses
    ]
    [port] = router_ports(edge_api, router["id"])
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert port["id"] == winner["port_id"]


def test_legs_never_overlap_the_gateway(
    edge_api: NetworkApi, member: Persona, external: dict[str, Any], cleanup: Cleanup
) -> None:
    router = make_router(edge_api, cleanup, member.token)
    inside = private_network(edge_api, cleanup, member.token, "172.24.4.0/25")
    assert (
        add_interface(edge_api, router["id"], subnet_id=inside["subnet"]["id"]).status_code == 200
    )
    # A gateway whose subnet overlaps an interface's is refused, and leaves no port.
    message = fault(
        edge_api.put(
            f"/v2.0/routers/{router['id']}",
            json={"router": {"external_gateway_info": {"network_id": external["id"]}}},
        ),
        400,
    )
    assert "overlaps with cidr" in message
    assert len(router_ports(edge_api, router["id"])) == 1
    assert (
        edge_api.get(f"/v2.0/routers/{router['id']}").json()["router"]["external_gateway_info"]
        is None
    )
    # And the other way round; nor is an external subnet an interface.
    second = make_router(
        edge_api, cleanup, member.token, external_gateway_info={"network_id": external["id"]}
    )
    message = fault(add_interface(edge_api, second["id"], subnet_id=inside["subnet"]["id"]), 400)
    assert "overlaps with cidr" in message
    message = fault(add_interface(edge_api, second["id"], subnet_id=external["subnet"]["id"]), 400)
    assert "external network" in message
    assert len(router_ports(edge_api, second["id"])) == 1


def test_availability_zone_hints(edge_api: NetworkApi, member: Persona, cleanup: Cleanup) -> None:
    """Hints name zones an L3 agent reports (zones.py); an unknown one creates nothing."""
    zones = edge_api.get("/v2.0/availability_zones?resource=router").json()["availability_zones"]
    known = [z["name"] for z in zones]
    assert known, zones
    router = make_router(edge_api, cleanup, member.token, availability_zone_hints=known[:1])
    assert router["availability_zone_hints"] == known[:1]
    assert isinstance(router["availability_zones"], list)
    before = edge_api.get("/v2.0/routers").json()["routers"]
    fault(
        create_router(edge_api, member.token, availability_zone_hints=["atlantis"]),
        404,
        "AvailabilityZoneNotFound",
    )
    assert edge_api.get("/v2.0/routers").json()["routers"] == before
    plain = make_router(edge_api, cleanup, member.token)
    assert plain["availability_zone_hints"] == []
