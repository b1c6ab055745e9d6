"""Availability zones through HTTP (edge backend): the zones the agents report and their state,
networks' `availability_zone_hints` (validated, nothing made on a bad one: an unknown zone is
Neutron's 404) and `availability_zones` (where their DHCP agent is), and the scheduler
preferring the hints."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_network_agents import (
    age_heartbeat,
    agents_by_type,
    dhcp_agent_ids,
    dhcp_subnet,
    report,
)
from tests.api.test_networks import create_network, fault
from vistack.config import ConfigError, NetworkSettings
from vistack.network.domain.models import network_options

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

member = persona_fixture("edge_api")


@pytest.fixture(scope="module")
def zones(edge_api: NetworkApi) -> dict[str, str]:
    """Two edge nodes, in zones `north` and `south`: zone → host."""
    hosts = {"north": unique("edge"), "south": unique("edge")}
    for zone, host in hosts.items():
        report(edge_api, host, zone=zone)
    return hosts


def listed_zones(api: NetworkApi, query: str = "", token: str | None = None) -> list[Any]:
    response = api.get(f"/v2.0/availability_zones{query}", token=token)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["availability_zones"]
    return found


def test_dvs_has_no_zones(network_api: NetworkApi) -> None:
    assert "no availability zones" in fault(network_api.get("/v2.0/availability_zones"), 404)
    body = {"network": {"name": unique("net"), "availability_zone_hints": ["nova"]}}
    assert "edge backend" in fault(network_api.post("/v2.0/networks", json=body), 400)
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert not aliases & {"availability_zone", "network_availability_zone"}


def test_zones_are_what_agents_report(
    edge_api: NetworkApi, member: Persona, zones: dict[str, str]
) -> None:
    aliases = {e["alias"] for e in edge_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"availability_zone", "network_availability_zone"} <= aliases
    mine = [z for z in listed_zones(edge_api, token=member.token) if z["name"] in zones]
    assert mine == [
        {"name": "north", "resource": "network", "state": "available"},
        {"name": "north", "resource": "router", "state": "available"},
        {"name": "south", "resource": "network", "state": "available"},
        {"name": "south", "resource": "router", "state": "available"},
    ]
    routers = listed_zones(edge_api, "?resource=router&name=north")
    assert routers == [{"name": "north", "resource": "router", "state": "available"}]
    assert listed_zones(edge_api, "?fields=name&name=south") == [{"name": "south"}] * 2


def test_a_zone_whose_agents_are_down_or_disabled_is_unavailable(edge_api: NetworkApi) -> None:
    host = unique("edge")
    report(edge_api, host, zone="east")
    agents = agents_by_type(edge_api, host)
    age_heartbeat(edge_api, agents["DHCP agent"]["id"], 100)
    path = f"/v2.0/agents/{agents['L3 agent']['id']}"
    assert edge_api.put(path, json={"agent": {"admin_state_up": False}}).status_code == 200
    assert listed_zones(edge_api, "?name=east") == [
        {"name": "east", "resource": "network", "state": "unavailable"},
        {"name": "east", "resource": "router", "state": "unavailable"},
    ]
    assert edge_api.put(path, json={"agent": {"admin_state_up": True}}).status_code == 200
    state = listed_zones(edge_api, "?name=east&resource=router")[0]["state"]
    assert state == "available"


def test_hints_are_validated_and_nothing_is_made_on_a_bad_one(
    edge_api: NetworkApi, member: Persona, zones: dict[str, str]
) -> None:
    name = unique("net")
    for hints, status, kind in (
        (["atlantis"], 404, "AvailabilityZoneNotFound"),  # Neutron's status for it
        (["north", "atlantis"], 404, "AvailabilityZoneNotFound"),
        ("north", 400, "InvalidInput"),
        ([7], 400, "InvalidInput"),
    ):
        body = {"network": {"name": name, "availability_zone_hints": hints}}
        response = edge_api.post("/v2.0/networks", token=member.token, json=body)
        message = fault(response, status, kind)
        if kind == "AvailabilityZoneNotFound":
            assert message == "AvailabilityZone atlantis could not be found."
    assert edge_api.get(f"/v2.0/networks?name={name}").json()["networks"] == []
    assert not [pg for pg in edge_api.fake.state.portgroups.values() if name in pg.name]


def test_networks_show_hints_and_the_zones_hosting_them(
    edge_api: NetworkApi, member: Persona, zones: dict[str, str]
) -> None:
    network = create_network(edge_api, member.token, availability_zone_hints=["south"])
    assert network["availability_zone_hints"] == ["south"]
    assert network["availability_zones"] == []
    dhcp_subnet(edge_api, network["id"], "10.70.0.0/24")
    south = agents_by_type(edge_api, zones["south"])["DHCP agent"]["id"]
    assert dhcp_agent_ids(edge_api, network["id"]) == [south]
    shown = edge_api.get(f"/v2.0/networks/{network['id']}", token=member.token).json()
    assert shown["network"]["availability_zones"] == ["south"]
    assert shown["network"]["availability_zone_hints"] == ["south"]
    listed = edge_api.get(f"/v2.0/networks?id={network['id']}", token=member.token).json()
    assert listed["networks"][0]["availability_zones"] == ["south"]
    renamed = edge_api.put(f"/v2.0/networks/{network['id']}", json={"network": {"name": "x"}})
    assert renamed.json()["network"]["availability_zone_hints"] == ["south"]
    plain = create_network(edge_api, member.token)
    assert plain["availability_zone_hints"] == [] and plain["availability_zones"] == []


def test_hints_follow_the_zone_as_the_scheduler_picks(
    edge_api: NetworkApi, zones: dict[str, str]
) -> None:
    north = agents_by_type(edge_api, zones["north"])["DHCP agent"]["id"]
    south = agents_by_type(edge_api, zones["south"])["DHCP agent"]["id"]
    for zone, agent in (("north", north), ("south", south), ("north", north)):
        network = create_network(edge_api, availability_zone_hints=[zone])
        dhcp_subnet(edge_api, network["id"], f"10.{71 + len(zone)}.0.0/24")
        assert dhcp_agent_ids(edge_api, network["id"]) == [agent]
    fault(edge_api.get(f"/v2.0/networks/{uuid.uuid4()}/dhcp-agents"), 404, "NetworkNotFound")


def test_the_zone_option_is_validated() -> None:
    assert network_options(NetworkSettings(backend="dvs")).availability_zone == "nova"
    chosen = network_options(NetworkSettings(backend="dvs", availability_zone="rack-1:a"))
    assert chosen.availability_zone == "rack-1:a"
    for bad in ("", "two words", "x" * 256):
        with pytest.raises(ConfigError, match="availability_zone"):
            network_options(NetworkSettings(backend="dvs", availability_zone=bad))
