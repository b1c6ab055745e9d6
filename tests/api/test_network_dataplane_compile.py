"""The database compiled into an edge state, and the DHCP port lifecycle, without root.

The cloud is the dvs `network_api` one (any host, three databases) with the edge mode's DHCP
port hook switched on; the state is compiled straight from its store, so these tests check what
the edge agent would be told, not the kernel (tests/edge/test_neutron_dataplane.py does that).
Router and floating IP rows are written directly: dvs mode has no L3 API.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona
from tests.api.test_network_ports import create_port
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network
from tests.edge.lab import wait_until
from vistack.common.clock import utcnow
from vistack.edge import (
    DhcpHost,
    EdgeAgent,
    EdgeConfig,
    EdgeState,
    ExternalGateway,
    FirewallRule,
    FloatingIp,
    RouterInterface,
)
from vistack.network.dataplane.compile import read_state
from vistack.network.dataplane.dhcp_ports import DhcpPorts
from vistack.network.dataplane.sync import EdgeSync, agent_name, teardown_state_dir
from vistack.network.db.l3_tables import FloatingIpRow, RouterRow
from vistack.network.db.repository import NetworkStore
from vistack.network.domain.service import NetworkService

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)


@pytest.fixture(scope="module")
def service(network_api: NetworkApi) -> Iterator[NetworkService]:
    """The cloud's service with edge mode's DHCP port hook on (for this module's cloud only)."""
    networks = network_api.cloud.network.networks
    networks.dhcp_port_sync = DhcpPorts(networks).reconcile
    yield networks
    networks.dhcp_port_sync = None


@pytest.fixture(scope="module")
def member(network_api: NetworkApi) -> Persona:
    return persona(network_api.identity)


def store(service: NetworkService) -> NetworkStore:
    return service._store


def ports_of(
    api: NetworkApi, network_id: str, owner: str | None = None, token: str | None = None
) -> list[dict[str, Any]]:
    query = f"/v2.0/ports?network_id={network_id}"
    if owner:
        query += f"&device_owner={owner}"
    ports: list[dict[str, Any]] = api.get(query, token=token).json()["ports"]
    return ports


def dhcp_port(api: NetworkApi, network_id: str, token: str | None = None) -> dict[str, Any] | None:
    found = ports_of(api, network_id, "network:dhcp", token)
    assert len(found) <= 1, found
    return found[0] if found else None


def delete_network(api: NetworkApi, network_id: str) -> None:
    for port in ports_of(api, network_id):
        if not port["device_owner"].startswith("network:"):
            api.delete(f"/v2.0/ports/{port['id']}")
    response = api.delete(f"/v2.0/networks/{network_id}")
    assert response.status_code == 204, response.text


def test_dhcp_port_follows_the_dhcp_enabled_subnets(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    try:
        assert dhcp_port(network_api, net["id"]) is None
        no_dhcp = create_subnet(
            network_api, member.token, net["id"], "10.31.0.0/24", enable_dhcp=False
        )
        assert dhcp_port(network_api, net["id"]) is None
        first = create_subnet(network_api, member.token, net["id"], "10.30.0.0/24")
        port = dhcp_port(network_api, net["id"])
        assert port is not None
        assert port["device_id"] == f"dhcp-{net['id']}"
        assert port["project_id"] == member.project_id and port["status"] == "ACTIVE"
        assert port["security_groups"] == [] and port["port_security_enabled"] is False
        assert port["fixed_ips"] == [{"subnet_id": first["id"], "ip_address": "10.30.0.2"}]
        # The network owner sees it (it is the owner's port, as in Neutron).
        seen = dhcp_port(network_api, net["id"], member.token)
        assert seen is not None and seen["id"] == port["id"]

        # Turning DHCP on for a subnet gives the same port an address there ...
        response = network_api.put(
            f"/v2.0/subnets/{no_dhcp['id']}", json={"subnet": {"enable_dhcp": True}}
        )
        assert response.status_code == 200, response.text
        port = dhcp_port(network_api, net["id"])
        assert port is not None
        assert {f["subnet_id"] for f in port["fixed_ips"]} == {first["id"], no_dhcp["id"]}
        # ... and off again takes it back; deleting a subnet the DHCP port holds works.
        network_api.put(f"/v2.0/subnets/{no_dhcp['id']}", json={"subnet": {"enable_dhcp": False}})
        port = dhcp_port(network_api, net["id"])
        assert port is not None and [f["subnet_id"] for f in port["fixed_ips"]] == [first["id"]]
        assert network_api.delete(f"/v2.0/subnets/{first['id']}").status_code == 204
        assert dhcp_port(network_api, net["id"]) is None, "no DHCP subnet left: no DHCP port"
        # A network delete takes its DHCP port along (only user ports make it "in use").
        create_subnet(network_api, member.token, net["id"], "10.30.0.0/24")
        assert dhcp_port(network_api, net["id"]) is not None
        user_port = create_port(network_api, member.token, net["id"]).json()["port"]
        response = network_api.delete(f"/v2.0/networks/{net['id']}")
        assert response.status_code == 409, response.text
        network_api.delete(f"/v2.0/ports/{user_port['id']}")
    finally:
        delete_network(network_api, net["id"])
    assert network_api.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"] == []
    assert read_state(store(service)).dhcp == ()


def test_concurrent_subnet_creates_make_one_dhcp_port(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    try:

        def create(index: int) -> Any:
            body = {"network_id": net["id"], "ip_version": 4, "cidr": f"10.40.{index}.0/24"}
            return network_api.post("/v2.0/subnets", token=member.token, json={"subnet": body})

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(create, range(6)))
        assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
        port = dhcp_port(network_api, net["id"])  # asserts there is at most one
        assert port is not None
        assert {f["subnet_id"] for f in port["fixed_ips"]} == {
            r.json()["subnet"]["id"] for r in responses
        }
    finally:
        delete_network(network_api, net["id"])


def test_dhcp_port_repaired_by_reconcile_all(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    try:
        service.dhcp_port_sync = None  # as if the hook had failed (or a dvs-era database)
        try:
            create_subnet(network_api, member.token, net["id"], "10.32.0.0/24")
        finally:
            service.dhcp_port_sync = DhcpPorts(service).reconcile
        assert dhcp_port(network_api, net["id"]) is None
        DhcpPorts(service).reconcile_all()
        port = dhcp_port(network_api, net["id"])
        assert port is not None and port["fixed_ips"][0]["ip_address"] == "10.32.0.2"
        DhcpPorts(service).reconcile_all()  # idempotent: the same port, untouched
        again = dhcp_port(network_api, net["id"])
        assert again is not None and again["revision_number"] == port["revision_number"]
    finally:
        delete_network(network_api, net["id"])


def test_a_full_pool_does_not_fail_the_subnet(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    try:
        pool = [{"start": "10.33.0.5", "end": "10.33.0.5"}]
        subnet = create_subnet(
            network_api, member.token, net["id"], "10.33.0.0/24", allocation_pools=pool
        )
        port = dhcp_port(network_api, net["id"])
        assert port is not None and port["fixed_ips"][0]["ip_address"] == "10.33.0.5"
        second = create_subnet(
            network_api, member.token, net["id"], "10.34.0.0/24", allocation_pools=pool[:0]
        )
        assert second["allocation_pools"] == []
        port = dhcp_port(network_api, net["id"])
        assert port is not None and [f["subnet_id"] for f in port["fixed_ips"]] == [subnet["id"]]
        # A later subnet is still served although the full one is retried on every change.
        third = create_subnet(network_api, member.token, net["id"], "10.35.0.0/24")
        port = dhcp_port(network_api, net["id"])
        assert port is not None
        assert {f["subnet_id"] for f in port["fixed_ips"]} == {subnet["id"], third["id"]}
        state = read_state(store(service))
        served = {d.subnet_id for d in state.dhcp if d.network_id == net["id"]}
        assert served == {subnet["id"], third["id"]}, "a subnet without a DHCP address: unserved"
        revision = port["revision_number"]
        DhcpPorts(service).reconcile(net["id"])  # the full pool alone changes nothing
        again = dhcp_port(network_api, net["id"])
        assert again is not None and again["revision_number"] == revision
    finally:
        delete_network(network_api, net["id"])


def test_segments_dhcp_hosts_and_options(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    flat = create_network(
        network_api,
        None,
        **{"router:external": True, "provider:network_type": "flat"},
    )
    try:
        subnet = create_subnet(
            network_api,
            member.token,
            net["id"],
            "10.35.0.0/24",
            dns_nameservers=["192.0.2.53", "2001:db8::53"],
            host_routes=[{"destination": "192.0.2.0/24", "nexthop": "10.35.0.254"}],
        )
        create_subnet(network_api, member.token, net["id"], "fd00:35::/64", version=6)
        mac = "fa:16:3e:35:00:01"
        port = create_port(network_api, member.token, net["id"], mac_address=mac).json()["port"]
        v4 = next(f["ip_address"] for f in port["fixed_ips"] if "." in f["ip_address"])
        state = read_state(store(service))
        segments = {s.network_id: s.vlan for s in state.segments}
        shown = network_api.get(f"/v2.0/networks/{net['id']}").json()["network"]  # as admin
        assert segments[net["id"]] == shown["provider:segmentation_id"] is not None
        assert segments[flat["id"]] is None
        (dhcp,) = [d for d in state.dhcp if d.network_id == net["id"]]
        port_of_dhcp = dhcp_port(network_api, net["id"])
        assert port_of_dhcp is not None
        assert dhcp.subnet_id == subnet["id"] and dhcp.cidr == "10.35.0.0/24"
        assert dhcp.port_mac == port_of_dhcp["mac_address"]
        assert dhcp.port_ip == next(
            f["ip_address"] for f in port_of_dhcp["fixed_ips"] if f["subnet_id"] == subnet["id"]
        )
        assert dhcp.gateway_ip == "10.35.0.1"
        assert dhcp.dns_nameservers == ("192.0.2.53",)
        assert dhcp.host_routes == (("192.0.2.0/24", "10.35.0.254"),)
        assert dhcp.hosts == (DhcpHost(mac, v4, "host-" + v4.replace(".", "-")),)
        assert dhcp.metadata_via == "dhcp", "no router on the subnet: metadata via DHCP"
    finally:
        delete_network(network_api, net["id"])
        delete_network(network_api, flat["id"])


def _group(api: NetworkApi, token: str) -> dict[str, Any]:
    response = api.post(
        "/v2.0/security-groups", token=token, json={"security_group": {"name": "web"}}
    )
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["security_group"]
    return group


def _rule(api: NetworkApi, token: str, group_id: str, **fields: Any) -> dict[str, Any]:
    body = {"security_group_id": group_id, "direction": "ingress", **fields}
    response = api.post(
        "/v2.0/security-group-rules", token=token, json={"security_group_rule": body}
    )
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()["security_group_rule"]
    return rule


def test_security_groups_flattened_per_port(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    net = create_network(network_api, member.token)
    try:
        create_subnet(network_api, member.token, net["id"], "10.36.0.0/24")
        group = _group(network_api, member.token)
        # A new group comes with two egress rules (IPv4 and IPv6, any): only IPv4 is compiled.
        ssh = _rule(
            network_api,
            member.token,
            group["id"],
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
            remote_ip_prefix="192.0.2.77/24",  # kept as sent; enforced as its network
        )
        assert ssh["normalized_cidr"] == "192.0.2.0/24"
        _rule(network_api, member.token, group["id"], remote_group_id=group["id"])
        _rule(network_api, member.token, group["id"], protocol="sctp", ethertype="IPv4")
        _rule(network_api, member.token, group["id"], protocol="icmp", ethertype="IPv6")
        pair = [{"ip_address": "10.36.0.200"}, {"ip_address": "10.99.0.0/24"}]
        vm = {"device_owner": "compute:nova"}
        one = create_port(
            network_api,
            member.token,
            net["id"],
            security_groups=[group["id"]],
            allowed_address_pairs=pair,
            device_id="vm-one",
            **vm,
        ).json()["port"]
        two = create_port(
            network_api,
            member.token,
            net["id"],
            security_groups=[group["id"]],
            device_id="vm-two",
            **vm,
        ).json()["port"]
        open_port = create_port(
            network_api,
            member.token,
            net["id"],
            port_security_enabled=False,
            device_id="vm-open",
            **vm,
        ).json()["port"]
        lonely = create_port(
            network_api, member.token, net["id"], security_groups=[], device_id="vm-lonely", **vm
        ).json()["port"]
        spare = create_port(network_api, member.token, net["id"], security_groups=[]).json()["port"]
        ip_one, ip_two = one["fixed_ips"][0]["ip_address"], two["fixed_ips"][0]["ip_address"]
        state = read_state(store(service))
        firewalls = {f.port_id: f for f in state.firewalls}
        dhcp = dhcp_port(network_api, net["id"])
        assert dhcp is not None and dhcp["id"] not in firewalls, "network:* ports: no filter"
        assert open_port["id"] not in firewalls, "port security off: no filter"
        assert spare["id"] not in firewalls, "no device: not on the wire, nothing to filter"
        assert firewalls[lonely["id"]].rules == (), "no group: everything dropped"
        fw = firewalls[one["id"]]
        assert fw.mac == one["mac_address"] and fw.network_id == net["id"]
        # The single-address pair may send; a prefix pair cannot be matched, so it is left out.
        assert fw.ips == tuple(sorted({ip_one, "10.36.0.200"}, key=ipaddress.IPv4Address))
        expected = {
            FirewallRule("egress"),
            FirewallRule(
                "ingress",
                protocol="tcp",
                port_min=22,
                port_max=22,
                remote_ip_prefix="192.0.2.0/24",
            ),
            FirewallRule("ingress", remote_group=group["id"]),
            FirewallRule("ingress", protocol="132"),
        }
        assert set(fw.rules) == expected and len(fw.rules) == len(expected)
        assert set(firewalls[two["id"]].rules) == expected
        # The remote group is one set of its members' addresses (address pairs included).
        members = {g.group_id: g.addresses for g in state.address_groups}
        assert set(members[group["id"]]) == {ip_one, "10.36.0.200", ip_two}
        # A port that is down passes nothing, whatever its port security.
        for port in (one, open_port):
            url = f"/v2.0/ports/{port['id']}"
            assert network_api.put(url, json={"port": {"admin_state_up": False}}).status_code == 200
        down = {f.port_id: f for f in read_state(store(service)).firewalls}
        assert down[one["id"]].rules == () and down[open_port["id"]].rules == ()
        for port in (one, open_port):
            url = f"/v2.0/ports/{port['id']}"
            assert network_api.put(url, json={"port": {"admin_state_up": True}}).status_code == 200
        # Removing a member shrinks the group's set, whatever the number of ports naming it.
        network_api.delete(f"/v2.0/ports/{two['id']}")
        groups = {g.group_id: g for g in read_state(store(service)).address_groups}
        assert ip_two not in groups[group["id"]].addresses
    finally:
        delete_network(network_api, net["id"])


def test_routers_and_floating_ips(
    network_api: NetworkApi, service: NetworkService, member: Persona
) -> None:
    ext = create_network(network_api, None, **{"router:external": True})
    net = create_network(network_api, member.token)
    router_id, fip_id = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        ext_subnet = create_subnet(
            network_api,
            network_api.admin_token,
            ext["id"],
            "198.51.100.0/24",
            enable_dhcp=False,
        )
        subnet = create_subnet(network_api, member.token, net["id"], "10.37.0.0/24")
        admin = network_api.admin_token
        leg = create_port(
            network_api,
            admin,
            net["id"],
            device_owner="network:router_interface",
            device_id=router_id,
            fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.37.0.1"}],
        ).json()["port"]
        gw = create_port(
            network_api,
            admin,
            ext["id"],
            device_owner="network:router_gateway",
            device_id=router_id,
        ).json()["port"]
        vm = create_port(
            network_api, member.token, net["id"], device_id="vm-1", device_owner="compute:nova"
        ).json()["port"]
        fip_port = create_port(
            network_api, admin, ext["id"], device_owner="network:floatingip", device_id=fip_id
        ).json()["port"]
        now = utcnow()
        with store(service).transaction() as unit:
            unit.add(
                RouterRow(
                    id=router_id,
                    project_id=member.project_id,
                    name="r",
                    description="",
                    admin_state_up=True,
                    status="ACTIVE",
                    gw_network_id=ext["id"],
                    enable_snat=False,
                    routes=[{"destination": "172.16.0.0/16", "nexthop": "10.37.0.9"}],
                    tags=[],
                    created_at=now,
                    updated_at=now,
                    revision_number=0,
                )
            )
            unit.add(
                FloatingIpRow(
                    id=fip_id,
                    project_id=member.project_id,
                    floating_network_id=ext["id"],
                    floating_port_id=fip_port["id"],
                    floating_ip_address=fip_port["fixed_ips"][0]["ip_address"],
                    port_id=vm["id"],
                    fixed_ip_address=vm["fixed_ips"][0]["ip_address"],
                    router_id=router_id,
                    status="ACTIVE",
                    description="",
                    tags=[],
                    created_at=now,
                    updated_at=now,
                    revision_number=0,
                )
            )
        state = read_state(store(service))
        (router,) = [r for r in state.routers if r.router_id == router_id]
        assert router.interfaces == (
            RouterInterface(
                subnet["id"], net["id"], "10.37.0.1", "10.37.0.0/24", leg["mac_address"]
            ),
        )
        assert router.gateway == ExternalGateway(
            ext["id"],
            gw["fixed_ips"][0]["ip_address"],
            "198.51.100.0/24",
            nexthop=ext_subnet["gateway_ip"],
            enable_snat=False,
            mac=gw["mac_address"],
        )
        assert router.routes == (("172.16.0.0/16", "10.37.0.9"),)
        assert router.floating_ips == (
            FloatingIp(fip_port["fixed_ips"][0]["ip_address"], vm["fixed_ips"][0]["ip_address"]),
        )
        (dhcp,) = [d for d in state.dhcp if d.network_id == net["id"]]
        assert dhcp.metadata_via == "router"
        assert not [d for d in state.dhcp if d.network_id == ext["id"]], "DHCP off: not served"
        # The agent accepts the compiled state (every name and address validates).
        assert {fw.port_id for fw in state.firewalls} >= {vm["id"]}
        with store(service).transaction() as unit:
            row = unit.session.get(RouterRow, router_id)
            assert row is not None
            row.admin_state_up = False
        assert not [r for r in read_state(store(service)).routers if r.router_id == router_id]
    finally:
        with store(service).transaction() as unit:
            for kind, key in ((FloatingIpRow, fip_id), (RouterRow, router_id)):
                found = unit.session.get(kind, key)
                if found is not None:
                    unit.delete(found)
        for port in ports_of(network_api, ext["id"]) + ports_of(network_api, net["id"]):
            network_api.delete(f"/v2.0/ports/{port['id']}")
        delete_network(network_api, net["id"])
        delete_network(network_api, ext["id"])


class RecordingAgent(EdgeAgent):
    """An agent that records the states it is given (and fails while told to)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(EdgeConfig(state_dir, name=agent_name(state_dir)))
        self.applied: list[EdgeState] = []
        self.fail = threading.Event()
        self.tore_down = False
        #: Whether applies report having changed the node (`changes`).
        self.changing = False

    def apply(self, state: EdgeState) -> None:
        if self.fail.is_set():
            raise RuntimeError("node unreachable")
        self.runner.changes = ["ip link add ..."] if self.changing else []
        self.applied.append(state)

    def teardown(self) -> None:
        self.tore_down = True


def test_edge_sync_applies_changes_retries_and_stops(
    network_api: NetworkApi, service: NetworkService, member: Persona, tmp_path: Path
) -> None:
    agent = RecordingAgent(tmp_path / "edge")
    sync = EdgeSync(store(service), agent, debounce=0.01, backoff=(0.05, 0.2))
    sync.start()
    net: dict[str, Any] | None = None
    try:
        assert sync.wait_synced(10), sync.status()
        assert sync.status().last_apply is not None and sync.status().last_error is None
        net = create_network(network_api, member.token)
        assert sync.wait_synced(10)
        assert net["id"] in {s.network_id for s in agent.applied[-1].segments}

        agent.fail.set()
        create_subnet(network_api, member.token, net["id"], "10.38.0.0/24")
        assert not sync.wait_synced(0.5), "a failing apply is not reported as synced"
        status = sync.status()
        assert status.pending and status.last_error == "RuntimeError: node unreachable"
        agent.fail.clear()  # the retry (with backoff) succeeds without any new change
        assert sync.wait_synced(10)
        assert sync.status().last_error is None
        assert any(d.network_id == net["id"] for d in agent.applied[-1].dhcp)
    finally:
        sync.stop()
        if net is not None:
            delete_network(network_api, net["id"])
    assert not sync.status().alive and not agent.tore_down, "stop leaves the data plane"
    count = len(agent.applied)
    create_network(network_api, member.token)  # no longer listened to
    assert len(agent.applied) == count
    assert sync.notify not in store(service).change_listeners


def test_teardown_of_a_state_dir_without_its_cloud(tmp_path: Path) -> None:
    teardown_state_dir(tmp_path / "never-used")  # nothing there: nothing to do, no error
    assert not (tmp_path / "never-used").exists()


def test_agent_names_are_stable_per_state_dir(tmp_path: Path) -> None:
    assert agent_name(tmp_path / "a") == agent_name(tmp_path / "a")
    assert agent_name(tmp_path / "a") != agent_name(tmp_path / "b")
    table = EdgeConfig(tmp_path, name=agent_name(tmp_path)).firewall_table  # validated
    assert table.startswith("vistack_n")


class FakeReporter:
    """Records heartbeats; `is_due` says whether an idle one is due."""

    def __init__(self) -> None:
        self.reports: list[dict[str, dict[str, Any]] | None] = []
        self.is_due = False

    def due(self) -> bool:
        return self.is_due

    def report(self, configurations: dict[str, dict[str, Any]] | None = None) -> bool:
        self.reports.append(configurations)
        return True


def test_edge_sync_heartbeat_reports_changes_and_when_due(
    network_api: NetworkApi, service: NetworkService, member: Persona, tmp_path: Path
) -> None:
    agent = RecordingAgent(tmp_path / "edge")
    reporter = FakeReporter()
    sync = EdgeSync(store(service), agent, debounce=0.01, reporter=reporter, heartbeat=0.05)
    sync.start()
    net: dict[str, Any] | None = None
    try:
        assert sync.wait_synced(10)
        # The agents register at start (no counts yet), then the first pass reports.
        assert wait_until(lambda: len(reporter.reports) == 2, 5) is not None, "first pass reports"
        assert reporter.reports[0] is None
        first = reporter.reports[1]
        assert first is not None and set(first) == {"DHCP agent", "L3 agent", "Metadata agent"}
        # A pass that changes nothing on the node does not report (reports are writes too:
        # reporting after each pass would make each pass cause the next) ...
        net = create_network(network_api, member.token)
        assert sync.wait_synced(10)
        time.sleep(0.2)
        assert len(reporter.reports) == 2
        agent.changing = True  # ... one that changes something does
        create_subnet(network_api, member.token, net["id"], "10.39.0.0/24")

        def served() -> bool:
            latest = reporter.reports[-1]
            return latest is not None and latest["DHCP agent"]["subnets"] >= 1

        # (The subnet and its DHCP port commit one after the other: maybe two reports.)
        assert wait_until(served, 5) is not None, reporter.reports
        agent.changing = False
        count = len(reporter.reports)
        # ... an idle node reports when its heartbeat is due.
        reporter.is_due = True
        assert wait_until(lambda: len(reporter.reports) > count, 5) is not None
    finally:
        sync.stop()
        if net is not None:
            delete_network(network_api, net["id"])
