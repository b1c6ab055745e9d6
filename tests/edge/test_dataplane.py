"""The edge agent against the real kernel: instances are namespaces that get their address by DHCP.

One topology per test: a tenant segment with two instances, the DHCP namespace and a router whose
gateway leg sits on an external segment next to an "external" namespace running an echo server.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.edge.lab import Lab, needs_root, new_tag, tcp_probe, wait_until
from vistack.edge import (
    DhcpHost,
    DhcpSubnet,
    EdgeAgent,
    EdgeConfig,
    EdgeState,
    ExternalGateway,
    FirewallRule,
    FloatingIp,
    PortFirewall,
    Router,
    RouterInterface,
    Segment,
    names,
)

pytestmark = needs_root

ECHO_PORT = 7007
FW_PORT = 7070
MAC1 = "fa:16:3e:00:00:11"
MAC2 = "fa:16:3e:00:00:12"


@dataclass
class Topology:
    agent: EdgeAgent
    lab: Lab
    state: EdgeState
    tenant: str
    external: str
    inst1: str
    inst2: str
    ext: str
    prefix: str  # tenant "10.a.b."
    ext_prefix: str  # external "198.18.x."
    lease1: dict[str, str]
    lease2: dict[str, str]

    @property
    def fip(self) -> str:
        return f"{self.ext_prefix}50"

    @property
    def router_gw(self) -> str:
        return f"{self.ext_prefix}2"


def build_state(
    prefix: str,
    ext_prefix: str,
    ids: dict[str, str],
    fw_rules: tuple[FirewallRule, ...],
    with_fip: bool = True,
) -> EdgeState:
    tenant, external = ids["tenant"], ids["external"]
    return EdgeState(
        segments=(Segment(tenant, vlan=101), Segment(external, vlan=100)),
        dhcp=(
            DhcpSubnet(
                network_id=tenant,
                subnet_id=ids["subnet"],
                cidr=f"{prefix}0/24",
                port_ip=f"{prefix}2",
                port_mac="fa:16:3e:00:00:02",
                gateway_ip=f"{prefix}1",
                dns_nameservers=("192.0.2.53",),
                hosts=(DhcpHost(MAC1, f"{prefix}11", "vm-one"), DhcpHost(MAC2, f"{prefix}12")),
            ),
        ),
        routers=(
            Router(
                router_id=ids["router"],
                interfaces=(
                    RouterInterface(
                        ids["subnet"], tenant, f"{prefix}1", f"{prefix}0/24", "fa:16:3e:00:00:01"
                    ),
                ),
                gateway=ExternalGateway(
                    external, f"{ext_prefix}2", f"{ext_prefix}0/24", nexthop=f"{ext_prefix}1"
                ),
                floating_ips=(FloatingIp(f"{ext_prefix}50", f"{prefix}11"),) if with_fip else (),
            ),
        ),
        firewalls=(PortFirewall(ids["port1"], tenant, MAC1, (f"{prefix}11",), fw_rules),),
    )


BASE_RULES = (
    FirewallRule("egress"),
    FirewallRule("ingress", protocol="icmp"),
    FirewallRule(
        "ingress",
        protocol="tcp",
        port_min=ECHO_PORT,
        port_max=ECHO_PORT,
        remote_ip_prefix="0.0.0.0/0",
    ),
)


@pytest.fixture
def topo(agent: EdgeAgent, lab: Lab) -> Iterator[Topology]:
    rnd = random.Random()
    prefix = f"10.{rnd.randrange(1, 250)}.{rnd.randrange(1, 250)}."
    ext_prefix = f"198.18.{rnd.randrange(1, 250)}."
    ids = {k: str(uuid.uuid4()) for k in ("tenant", "external", "subnet", "router", "port1")}
    state = build_state(prefix, ext_prefix, ids, BASE_RULES)
    agent.apply(state)
    tenant_br, ext_br = names.bridge(ids["tenant"]), names.bridge(ids["external"])
    inst1 = lab.instance("a", tenant_br, MAC1)
    inst2 = lab.instance("b", tenant_br, MAC2)
    ext = lab.instance("x", ext_br, "fa:16:3e:00:00:99")
    subprocess.run(["ip", "-n", ext, "addr", "add", f"{ext_prefix}1/24", "dev", "eth0"], check=True)
    lease1, lease2 = lab.dhcp(inst1), lab.dhcp(inst2)
    yield Topology(
        agent,
        lab,
        state,
        ids["tenant"],
        ids["external"],
        inst1,
        inst2,
        ext,
        prefix,
        ext_prefix,
        lease1,
        lease2,
    )


def ping(netns: str, address: str) -> bool:
    cmd = ["ip", "netns", "exec", netns, "busybox", "ping", "-c", "1", "-W", "1", address]
    return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0


def test_dhcp_gives_fixed_addresses_gateway_and_metadata_route(topo: Topology) -> None:
    assert topo.lease1["ip"] == f"{topo.prefix}11"
    assert topo.lease2["ip"] == f"{topo.prefix}12"
    assert topo.lease1["mask"] == "24"
    assert topo.lease1["router"] == f"{topo.prefix}1"
    assert topo.lease1["dns"] == "192.0.2.53"
    routes = topo.lease1["staticroutes"].split()
    assert routes[:2] == ["169.254.169.254/32", f"{topo.prefix}1"]
    assert "0.0.0.0/0" in routes
    assert topo.lease1.get("hostname") == "vm-one"
    # Both instances reach the router's gateway address.
    assert ping(topo.inst1, f"{topo.prefix}1")
    assert ping(topo.inst2, f"{topo.prefix}1")


def test_snat_and_floating_ip(topo: Topology) -> None:
    topo.lab.echo_server(topo.ext, ECHO_PORT)
    # inst2 has no floating IP: the external side sees the router's gateway address.
    assert tcp_probe(topo.inst2, f"{topo.ext_prefix}1", ECHO_PORT, timeout=3) == topo.router_gw
    # inst1 has one: its traffic leaves with the floating IP (1:1 SNAT).
    assert tcp_probe(topo.inst1, f"{topo.ext_prefix}1", ECHO_PORT, timeout=3) == topo.fip
    # And the external side reaches inst1 through the floating IP (DNAT).
    topo.lab.echo_server(topo.inst1, ECHO_PORT)
    assert tcp_probe(topo.ext, topo.fip, ECHO_PORT, timeout=3) == f"{topo.ext_prefix}1"
    assert ping(topo.ext, topo.fip)


def test_security_group_rule_takes_effect_within_two_seconds(
    topo: Topology, record_property: object
) -> None:
    assert callable(record_property)
    topo.lab.echo_server(topo.inst1, FW_PORT)
    topo.lab.echo_server(topo.inst2, FW_PORT)
    # Ingress is denied by default on a port with security groups ...
    assert tcp_probe(topo.ext, topo.fip, FW_PORT) is None
    # ... and a port without them is not filtered (inst2 from inst1, same segment).
    assert tcp_probe(topo.inst1, f"{topo.prefix}12", FW_PORT, timeout=3) == f"{topo.prefix}11"

    allow = FirewallRule(
        "ingress",
        protocol="tcp",
        port_min=FW_PORT,
        port_max=FW_PORT,
        remote_ip_prefix=f"{topo.ext_prefix}0/24",
    )
    fw = topo.state.firewalls[0]
    opened = dataclasses.replace(
        topo.state, firewalls=(dataclasses.replace(fw, rules=(*fw.rules, allow)),)
    )
    # Latency = from the start of apply until a probe shows the new verdict; a blocked probe
    # waits 0.25 s for a SYN-ACK that never comes (an allowed one answers in about 1 ms).
    start = time.monotonic()
    topo.agent.apply(opened)
    apply_added = time.monotonic() - start
    added = wait_until(lambda: tcp_probe(topo.ext, topo.fip, FW_PORT, 0.25) is not None, 2.0)
    assert added is not None, "allowed connection did not work within 2 s"
    added_total = time.monotonic() - start

    # The rule also filters same-segment traffic from another instance (bridged path).
    assert tcp_probe(topo.inst2, f"{topo.prefix}11", FW_PORT) is None

    start = time.monotonic()
    topo.agent.apply(topo.state)
    apply_removed = time.monotonic() - start
    removed = wait_until(lambda: tcp_probe(topo.ext, topo.fip, FW_PORT, 0.25) is None, 2.0)
    assert removed is not None, "removed rule still let connections through after 2 s"
    removed_total = time.monotonic() - start
    assert tcp_probe(topo.ext, topo.fip, FW_PORT) is None
    record_property("rule_added_latency_s", round(added_total, 3))
    record_property("rule_removed_latency_s", round(removed_total, 3))
    print(
        f"\nsecurity group rule latency: added {added_total:.3f}s (apply {apply_added:.3f}s), "
        f"removed {removed_total:.3f}s (apply {apply_removed:.3f}s)"
    )
    assert added_total < 2.0 and removed_total < 2.0

    # Egress is filtered too: without an egress rule the port cannot open connections.
    topo.lab.echo_server(topo.ext, ECHO_PORT)
    assert tcp_probe(topo.inst1, f"{topo.ext_prefix}1", ECHO_PORT, 3) == topo.fip
    no_egress = tuple(r for r in fw.rules if r.direction == "ingress")
    topo.agent.apply(
        dataclasses.replace(topo.state, firewalls=(dataclasses.replace(fw, rules=no_egress),))
    )
    assert tcp_probe(topo.inst1, f"{topo.ext_prefix}1", ECHO_PORT) is None


def test_apply_is_idempotent_and_shrinks(topo: Topology) -> None:
    topo.agent.apply(topo.state)
    assert topo.agent.changes == []

    router_ns = names.router_ns(topo.state.routers[0].router_id)
    gw_if = names.gateway_port(topo.state.routers[0].router_id)

    def gw_addrs() -> set[str]:
        out = subprocess.run(
            ["ip", "-j", "-n", router_ns, "addr", "show", "dev", gw_if],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return {a["local"] for a in json.loads(out)[0]["addr_info"] if a["family"] == "inet"}

    assert topo.fip in gw_addrs()
    # Dropping the floating IP removes its address and its NAT rules.
    smaller = dataclasses.replace(
        topo.state, routers=(dataclasses.replace(topo.state.routers[0], floating_ips=()),)
    )
    topo.agent.apply(smaller)
    assert topo.fip not in gw_addrs()
    nat = subprocess.run(
        ["ip", "netns", "exec", router_ns, "nft", "list", "table", "ip", "vistack_nat"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert topo.fip not in nat and topo.router_gw in nat

    # A new host is served after a SIGHUP, without restarting dnsmasq.
    pid_file = topo.agent.state_dir / "dhcp" / topo.tenant / "pid"
    pid = pid_file.read_text().strip()
    sub = topo.state.dhcp[0]
    more = dataclasses.replace(
        smaller,
        dhcp=(
            dataclasses.replace(
                sub, hosts=(*sub.hosts, DhcpHost("fa:16:3e:00:00:13", f"{topo.prefix}13"))
            ),
        ),
    )
    topo.agent.apply(more)
    assert any(c.startswith("kill -HUP") for c in topo.agent.changes)
    inst3 = topo.lab.instance("c", names.bridge(topo.tenant), "fa:16:3e:00:00:13")
    assert topo.lab.dhcp(inst3)["ip"] == f"{topo.prefix}13"
    assert pid_file.read_text().strip() == pid

    # Removing the router and the DHCP service leaves only the segments.
    topo.agent.apply(dataclasses.replace(more, routers=(), dhcp=(), firewalls=()))
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert router_ns not in listing and names.dhcp_ns(topo.tenant) not in listing
    assert not pid_file.exists()


def test_teardown_removes_everything(agent: EdgeAgent, lab: Lab) -> None:
    ids = {k: str(uuid.uuid4()) for k in ("tenant", "external", "subnet", "router", "port1")}
    agent.apply(build_state("10.200.1.", "198.18.251.", ids, BASE_RULES))
    pid = (agent.state_dir / "dhcp" / ids["tenant"] / "pid").read_text().strip()
    assert Path(f"/proc/{pid}").exists()
    agent.teardown()
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert names.router_ns(ids["router"]) not in listing
    assert names.dhcp_ns(ids["tenant"]) not in listing
    for net in (ids["tenant"], ids["external"]):
        assert (
            subprocess.run(
                ["ip", "link", "show", "dev", names.bridge(net)], capture_output=True
            ).returncode
            != 0
        )
    assert (
        subprocess.run(
            ["nft", "list", "table", "inet", agent.config.firewall_table], capture_output=True
        ).returncode
        != 0
    )
    assert not agent.state_dir.exists()
    assert not Path(f"/proc/{pid}").exists()


def test_vlan_segment_on_trunk(tmp_path: Path) -> None:
    tag = new_tag()
    trunk = f"vt{tag}"
    # A veth stands in for the trunk NIC (the dummy driver is not always available).
    subprocess.run(
        ["ip", "link", "add", trunk, "type", "veth", "peer", "name", f"vu{tag}"], check=True
    )
    agent = EdgeAgent(
        EdgeConfig(state_dir=tmp_path / "edge", trunk_interface=trunk, name=f"v{tag}")
    )
    try:
        probe = subprocess.run(
            ["ip", "link", "add", "link", trunk, "name", f"{trunk}.9", "type", "vlan", "id", "9"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            pytest.skip(f"this kernel has no VLAN (8021q) support: {probe.stderr.strip()}")
        subprocess.run(["ip", "link", "delete", f"{trunk}.9"], check=True)
        net = str(uuid.uuid4())
        agent.apply(EdgeState(segments=(Segment(net, vlan=321),)))
        link = json.loads(
            subprocess.run(
                ["ip", "-j", "link", "show", "dev", f"{trunk}.321"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )[0]
        assert link["master"] == names.bridge(net)
        agent.apply(EdgeState(segments=(Segment(net, vlan=321),)))
        assert agent.changes == []
        agent.apply(EdgeState())
        assert (
            subprocess.run(
                ["ip", "link", "show", "dev", f"{trunk}.321"], capture_output=True
            ).returncode
            != 0
        )
    finally:
        agent.teardown()
        subprocess.run(["ip", "link", "delete", trunk], capture_output=True)
