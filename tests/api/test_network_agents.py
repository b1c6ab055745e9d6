"""Neutron agents through HTTP (edge backend): heartbeats, the admin API, and which agent hosts
which network (`dhcp_agent_scheduler`) and router (`l3_agent_scheduler`), as tempest's
admin agent tests drive them.

Agents come from their own heartbeats: the tests report them as the edge sync does, through
`AgentReporter`, under host names of their own so the embedded node's agents never matter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_networks import create_network, fault
from vistack.common.clock import utcnow
from vistack.network.db import scheduling
from vistack.network.db.agent_tables import AgentRow
from vistack.network.db.repository import Collision
from vistack.network.domain.agents import AgentReporter, AgentService

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def agents_of(api: NetworkApi) -> AgentService:
    return api.cloud.network.networks.agents


def report(api: NetworkApi, host: str, zone: str = "zone-a") -> AgentReporter:
    reporter = AgentReporter(agents_of(api), availability_zone=zone, host=host)
    assert reporter.report({"DHCP agent": {"networks": 0}})
    return reporter


def agents_by_type(api: NetworkApi, host: str) -> dict[str, dict[str, Any]]:
    response = api.get(f"/v2.0/agents?host={host}")
    assert response.status_code == 200, response.text
    return {a["agent_type"]: a for a in response.json()["agents"]}


def age_heartbeat(api: NetworkApi, agent_id: str, seconds: int) -> None:
    """Make the agent's last heartbeat `seconds` old (what a silent agent looks like)."""
    store = api.cloud.network.networks._store
    with store.transaction() as unit:
        unit.session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id)
            .values(heartbeat_timestamp=utcnow() - timedelta(seconds=seconds))
        )


def dhcp_agent_ids(api: NetworkApi, network_id: str) -> list[str]:
    response = api.get(f"/v2.0/networks/{network_id}/dhcp-agents")
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["agents"]]


def hosted_networks(api: NetworkApi, agent_id: str) -> list[str]:
    response = api.get(f"/v2.0/agents/{agent_id}/dhcp-networks")
    assert response.status_code == 200, response.text
    return [n["id"] for n in response.json()["networks"]]


def dhcp_subnet(api: NetworkApi, network_id: str, cidr: str) -> dict[str, Any]:
    body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4}}
    response = api.post("/v2.0/subnets", json=body)
    assert response.status_code == 201, response.text
    subnet: dict[str, Any] = response.json()["subnet"]
    return subnet


member = persona_fixture("edge_api")


@pytest.fixture(scope="module")
def node(edge_api: NetworkApi) -> AgentReporter:
    """One edge node, alone in zone `zone-main` (networks hinted there go to it)."""
    return report(edge_api, unique("edge"), zone="zone-main")


@pytest.fixture(scope="module")
def host(node: AgentReporter) -> str:
    return node.host


def test_dvs_has_no_agents(network_api: NetworkApi) -> None:
    for path in (
        "/v2.0/agents",
        f"/v2.0/agents/{uuid.uuid4()}",
        f"/v2.0/networks/{uuid.uuid4()}/dhcp-agents",
    ):
        assert "dvs network backend has no agents" in fault(network_api.get(path), 404)
    assert "dvs network backend has no" in fault(
        network_api.get(f"/v2.0/routers/{uuid.uuid4()}/l3-agents"), 404
    )
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert not aliases & {"agent", "dhcp_agent_scheduler", "l3_agent_scheduler"}


def test_edge_lists_the_agent_extensions(edge_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in edge_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"agent", "dhcp_agent_scheduler", "l3_agent_scheduler"} <= aliases
    shown = edge_api.get("/v2.0/extensions/dhcp_agent_scheduler")
    assert shown.status_code == 200 and shown.json()["extension"]["alias"] == "dhcp_agent_scheduler"


def test_a_report_registers_three_live_agents(edge_api: NetworkApi, host: str) -> None:
    agents = agents_by_type(edge_api, host)
    assert set(agents) == {"DHCP agent", "L3 agent", "Metadata agent"}
    topics = {t: a["topic"] for t, a in agents.items()}
    assert topics == {
        "DHCP agent": "dhcp_agent",
        "L3 agent": "l3_agent",
        "Metadata agent": "metadata_agent",
    }
    for agent in agents.values():
        assert agent["binary"] == "vistack-edge-agent" and agent["host"] == host
        assert agent["alive"] is True and agent["admin_state_up"] is True
        for name in ("created_at", "started_at", "heartbeat_timestamp"):
            assert STAMP.match(agent[name]), agent
        assert set(agent) == {
            "id",
            "agent_type",
            "binary",
            "topic",
            "host",
            "admin_state_up",
            "availability_zone",
            "description",
            "configurations",
            "created_at",
            "started_at",
            "heartbeat_timestamp",
            "alive",
            "resources_synced",
        }
    assert agents["DHCP agent"]["configurations"] == {"networks": 0}
    assert agents["DHCP agent"]["availability_zone"] == "zone-main"
    assert agents["Metadata agent"]["availability_zone"] is None
    shown = edge_api.get(f"/v2.0/agents/{agents['L3 agent']['id']}?fields=id&fields=host")
    assert shown.json() == {"agent": {"id": agents["L3 agent"]["id"], "host": host}}


def test_heartbeats_update_one_row_and_age_out(edge_api: NetworkApi) -> None:
    name = unique("edge")
    reporter = report(edge_api, name)
    first = agents_by_type(edge_api, name)["DHCP agent"]
    assert reporter.report({"DHCP agent": {"networks": 7}})
    again = agents_by_type(edge_api, name)["DHCP agent"]
    assert again["id"] == first["id"] and again["configurations"] == {"networks": 7}
    assert again["started_at"] == first["started_at"]
    age_heartbeat(edge_api, first["id"], 76)
    assert agents_by_type(edge_api, name)["DHCP agent"]["alive"] is False
    assert reporter.report()
    assert agents_by_type(edge_api, name)["DHCP agent"]["alive"] is True


def test_agents_are_admin_only(edge_api: NetworkApi, member: Persona, host: str) -> None:
    agent = agents_by_type(edge_api, host)["DHCP agent"]
    listed = edge_api.get("/v2.0/agents", token=member.token)
    assert listed.status_code == 200 and listed.json() == {"agents": []}
    path = f"/v2.0/agents/{agent['id']}"
    fault(edge_api.get(path, token=member.token), 404, "AgentNotFound")
    body = {"agent": {"description": "mine"}}
    fault(edge_api.put(path, token=member.token, json=body), 404, "AgentNotFound")
    fault(edge_api.delete(path, token=member.token), 404, "AgentNotFound")
    hosted = f"{path}/dhcp-networks"
    fault(edge_api.get(hosted, token=member.token), 403, "PolicyNotAuthorized")
    assert edge_api.get(path).json()["agent"]["description"] == ""


def test_update_admin_state_and_description_only(edge_api: NetworkApi, host: str) -> None:
    agent = agents_by_type(edge_api, host)["L3 agent"]
    path = f"/v2.0/agents/{agent['id']}"
    same = edge_api.put(path, json={"agent": {"admin_state_up": agent["admin_state_up"]}})
    assert same.status_code == 200 and same.json()["agent"]["admin_state_up"] is True
    described = edge_api.put(path, json={"agent": {"description": "description for update"}})
    assert described.json()["agent"]["description"] == "description for update"
    assert "read-only attribute host" in fault(
        edge_api.put(path, json={"agent": {"host": "elsewhere"}}), 400
    )
    fault(edge_api.put(path, json={"agent": {"colour": "red"}}), 400)
    fault(edge_api.put(path, json={"agent": {"admin_state_up": "maybe"}}), 400)
    fault(edge_api.put(path, json={"agent": {"description": 5}}), 400)
    fault(edge_api.put(path, json={"description": "x"}), 400)
    shown = edge_api.get(path).json()["agent"]
    assert shown["host"] == host and shown["description"] == "description for update"
    restored = edge_api.put(path, json={"agent": {"description": ""}})
    assert restored.json()["agent"]["description"] == ""
    fault(edge_api.get(f"/v2.0/agents/{uuid.uuid4()}"), 404, "AgentNotFound")
    assert "first heartbeat" in fault(edge_api.post("/v2.0/agents", json={"agent": {}}), 400)


def test_dhcp_networks_are_scheduled_and_moved_by_hand(
    edge_api: NetworkApi, node: AgentReporter, host: str
) -> None:
    """Tempest's DHCP scheduler flow: a network with a DHCP subnet is hosted right away; a
    bare one is not until added; removal sticks until the network changes again."""
    agent = agents_by_type(edge_api, host)["DHCP agent"]
    network = create_network(edge_api, availability_zone_hints=["zone-main"])
    dhcp_subnet(edge_api, network["id"], "10.50.0.0/24")
    assert dhcp_agent_ids(edge_api, network["id"]) == [agent["id"]]
    assert network["id"] in hosted_networks(edge_api, agent["id"])
    listed = edge_api.get(f"/v2.0/agents/{agent['id']}/dhcp-networks").json()["networks"]
    assert [n["name"] for n in listed if n["id"] == network["id"]] == [network["name"]]

    bare = create_network(edge_api)
    assert dhcp_agent_ids(edge_api, bare["id"]) == []
    path = f"/v2.0/agents/{agent['id']}/dhcp-networks"
    added = edge_api.post(path, json={"network_id": bare["id"]})
    assert added.status_code == 201, added.text
    assert bare["id"] in hosted_networks(edge_api, agent["id"])
    fault(edge_api.post(path, json={"network_id": bare["id"]}), 409, "NetworkHostedByDHCPAgent")
    assert edge_api.delete(f"{path}/{bare['id']}").status_code == 204
    assert bare["id"] not in hosted_networks(edge_api, agent["id"])
    fault(edge_api.delete(f"{path}/{bare['id']}"), 409, "NetworkNotHostedByDhcpAgent")

    assert edge_api.delete(f"{path}/{network['id']}").status_code == 204
    assert node.report()  # a heartbeat is no reason to reschedule
    assert dhcp_agent_ids(edge_api, network["id"]) == []
    port = edge_api.post("/v2.0/ports", json={"port": {"network_id": network["id"]}})
    assert port.status_code == 201, port.text
    assert dhcp_agent_ids(edge_api, network["id"]) == [agent["id"]]
    networks, _ = agents_of(edge_api).hosted_by(host)
    assert network["id"] in networks and bare["id"] not in networks
    assert edge_api.delete(f"/v2.0/ports/{port.json()['port']['id']}").status_code == 204
    assert edge_api.delete(f"/v2.0/networks/{network['id']}").status_code == 204
    assert network["id"] not in hosted_networks(edge_api, agent["id"])


def test_dhcp_binding_refusals(edge_api: NetworkApi, host: str) -> None:
    agents = agents_by_type(edge_api, host)
    network = create_network(edge_api)
    l3_path = f"/v2.0/agents/{agents['L3 agent']['id']}/dhcp-networks"
    fault(edge_api.post(l3_path, json={"network_id": network["id"]}), 404, "InvalidDHCPAgent")
    assert edge_api.get(l3_path).json() == {"networks": []}  # Neutron's answer too
    fault(edge_api.delete(f"{l3_path}/{network['id']}"), 409, "NetworkNotHostedByDhcpAgent")
    fault(edge_api.get(f"/v2.0/agents/{uuid.uuid4()}/dhcp-networks"), 404, "AgentNotFound")
    path = f"/v2.0/agents/{agents['DHCP agent']['id']}/dhcp-networks"
    fault(edge_api.post(path, json={"network_id": str(uuid.uuid4())}), 404, "NetworkNotFound")
    fault(edge_api.post(path, json={"network": network["id"]}), 400)
    missing = f"/v2.0/agents/{uuid.uuid4()}/dhcp-networks"
    fault(edge_api.post(missing, json={"network_id": network["id"]}), 404, "AgentNotFound")
    fault(edge_api.get(f"/v2.0/networks/{uuid.uuid4()}/dhcp-agents"), 404, "NetworkNotFound")
    assert dhcp_agent_ids(edge_api, network["id"]) == []


def test_only_live_enabled_agents_get_work(edge_api: NetworkApi) -> None:
    name = unique("edge")
    report(edge_api, name, zone="zone-quiet")
    agent = agents_by_type(edge_api, name)["DHCP agent"]
    path = f"/v2.0/agents/{agent['id']}"
    assert edge_api.put(path, json={"agent": {"admin_state_up": False}}).status_code == 200
    network = create_network(edge_api, availability_zone_hints=["zone-quiet"])
    dhcp_subnet(edge_api, network["id"], "10.51.0.0/24")
    assert agent["id"] not in dhcp_agent_ids(edge_api, network["id"])
    body = {"network_id": network["id"]}
    fault(edge_api.post(f"{path}/dhcp-networks", json=body), 404, "InvalidDHCPAgent")
    assert edge_api.put(path, json={"agent": {"admin_state_up": True}}).status_code == 200
    age_heartbeat(edge_api, agent["id"], 100)
    other = create_network(edge_api, availability_zone_hints=["zone-quiet"])
    dhcp_subnet(edge_api, other["id"], "10.52.0.0/24")
    assert agent["id"] not in dhcp_agent_ids(edge_api, other["id"])


def test_deleting_an_agent_moves_its_networks(edge_api: NetworkApi, host: str) -> None:
    name = unique("edge")
    report(edge_api, name, zone="zone-gone")
    agent = agents_by_type(edge_api, name)["DHCP agent"]
    network = create_network(edge_api, availability_zone_hints=["zone-gone"])
    dhcp_subnet(edge_api, network["id"], "10.53.0.0/24")
    assert dhcp_agent_ids(edge_api, network["id"]) == [agent["id"]]
    age_heartbeat(edge_api, agent["id"], 100)  # so nothing moves back to it meanwhile
    assert edge_api.delete(f"/v2.0/agents/{agent['id']}").status_code == 204
    fault(edge_api.get(f"/v2.0/agents/{agent['id']}"), 404, "AgentNotFound")
    moved = dhcp_agent_ids(edge_api, network["id"])
    assert len(moved) == 1 and agent["id"] not in moved  # another live agent took it
    report(edge_api, name, zone="zone-gone")
    back = agents_by_type(edge_api, name)["DHCP agent"]
    assert back["id"] != agent["id"] and back["alive"] is True


def create_router(api: NetworkApi) -> dict[str, Any]:
    response = api.post("/v2.0/routers", json={"router": {"name": unique("router")}})
    assert response.status_code == 201, response.text
    router: dict[str, Any] = response.json()["router"]
    return router


def l3_agent_ids(api: NetworkApi, router_id: str) -> list[str]:
    response = api.get(f"/v2.0/routers/{router_id}/l3-agents")
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["agents"]]


def test_routers_are_scheduled_and_moved_by_hand(
    edge_api: NetworkApi, node: AgentReporter, host: str
) -> None:
    """Tempest's L3 scheduler flow: adding a router to the agent hosting it is a no-op."""
    agents = agents_by_type(edge_api, host)
    agent = agents["L3 agent"]
    router = create_router(edge_api)
    hosting = l3_agent_ids(edge_api, router["id"])
    assert len(hosting) == 1
    path = f"/v2.0/agents/{hosting[0]}/l3-routers"
    added = edge_api.post(path, json={"router_id": router["id"]})
    assert added.status_code == 201, added.text
    assert l3_agent_ids(edge_api, router["id"]) == hosting
    listed = edge_api.get(path).json()["routers"]
    assert [r["name"] for r in listed if r["id"] == router["id"]] == [router["name"]]
    assert edge_api.delete(f"{path}/{router['id']}").status_code == 204
    assert node.report()
    assert l3_agent_ids(edge_api, router["id"]) == []
    fault(edge_api.delete(f"{path}/{router['id']}"), 409, "RouterNotHostedByL3Agent")
    mine = f"/v2.0/agents/{agent['id']}/l3-routers"
    assert edge_api.post(mine, json={"router_id": router["id"]}).status_code == 201
    assert l3_agent_ids(edge_api, router["id"]) == [agent["id"]]
    assert router["id"] in agents_of(edge_api).hosted_by(host)[1]
    if hosting[0] != agent["id"]:
        body = {"router_id": router["id"]}
        fault(edge_api.post(path, json=body), 409, "RouterHostedByL3Agent")
    dhcp = f"/v2.0/agents/{agents['DHCP agent']['id']}/l3-routers"
    fault(edge_api.post(dhcp, json={"router_id": router["id"]}), 404, "InvalidL3Agent")
    fault(edge_api.post(mine, json={"router_id": str(uuid.uuid4())}), 404, "RouterNotFound")
    fault(edge_api.get(f"/v2.0/routers/{uuid.uuid4()}/l3-agents"), 404, "RouterNotFound")
    assert edge_api.delete(f"/v2.0/routers/{router['id']}").status_code == 204
    assert router["id"] not in [r["id"] for r in edge_api.get(mine).json()["routers"]]


def test_a_heartbeat_does_not_wake_the_data_plane(
    edge_api: NetworkApi, node: AgentReporter
) -> None:
    """The edge sync reports after each apply: a heartbeat that notified the store's change
    listeners would make it apply again, forever."""
    store = edge_api.cloud.network.networks._store
    calls: list[int] = []

    def listener() -> None:
        calls.append(1)

    store.change_listeners.append(listener)
    try:
        assert node.report({"DHCP agent": {"networks": 1}})
    finally:
        store.change_listeners.remove(listener)
    assert calls == []
    agent = agents_by_type(edge_api, node.host)["DHCP agent"]
    assert agent["configurations"] == {"networks": 1} and agent["alive"] is True


def test_concurrent_scheduling_passes_host_a_network_once(edge_api: NetworkApi) -> None:
    """Agent starts racing each other (each schedules everything unhosted) still give a
    network one DHCP agent: passes picking the same agent collide on the binding's key, and
    one picking another is stopped by the re-check under the network's row lock."""
    hosts = [unique("edge") for _ in range(3)]
    for name in hosts:
        report(edge_api, name, zone="zone-race")
    ids = [agents_by_type(edge_api, name)["DHCP agent"]["id"] for name in hosts]
    network = create_network(edge_api, availability_zone_hints=["zone-race"])
    dhcp_subnet(edge_api, network["id"], "10.55.0.0/24")
    (first,) = dhcp_agent_ids(edge_api, network["id"])
    path = f"/v2.0/agents/{first}/dhcp-networks/{network['id']}"
    assert edge_api.delete(path).status_code == 204
    store = edge_api.cloud.network.networks._store

    def start_pass(_: int) -> None:
        with store.transaction() as unit:
            scheduling.schedule(unit, include_unhosted=True)

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda n: _outcome(start_pass, n), range(6)))
    hosting = dhcp_agent_ids(edge_api, network["id"])
    assert len(hosting) == 1 and hosting[0] in ids, (hosting, outcomes)


def _outcome(call: Callable[[int], None], n: int) -> str:
    """A racing pass may lose with a collision (a concurrent one bound first): never twice
    hosted is what counts."""
    try:
        call(n)
    except Collision:
        return "collision"
    return "ok"


def test_a_restarted_agent_hosts_what_was_removed_by_hand(edge_api: NetworkApi, host: str) -> None:
    """Last in the module: it restarts the module's node (a new `started_at`)."""
    agent = agents_by_type(edge_api, host)["DHCP agent"]
    network = create_network(edge_api, availability_zone_hints=["zone-main"])
    dhcp_subnet(edge_api, network["id"], "10.54.0.0/24")
    path = f"/v2.0/agents/{agent['id']}/dhcp-networks/{network['id']}"
    assert edge_api.delete(path).status_code == 204
    assert dhcp_agent_ids(edge_api, network["id"]) == []
    later = AgentReporter(
        agents_of(edge_api),
        availability_zone="zone-main",
        host=host,
        clock=lambda: utcnow() + timedelta(seconds=5),
    )
    assert later.report()
    assert dhcp_agent_ids(edge_api, network["id"]) == [agent["id"]]
    restarted = agents_by_type(edge_api, host)["DHCP agent"]
    assert restarted["id"] == agent["id"] and restarted["started_at"] != agent["started_at"]
