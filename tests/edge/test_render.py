"""Rendering and validation, without root: what the agent would hand to nft, dnsmasq and ip."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from vistack.edge import (
    AddressGroup,
    DhcpHost,
    DhcpSubnet,
    EdgeAgent,
    EdgeConfig,
    EdgeError,
    EdgeState,
    ExternalGateway,
    FirewallRule,
    FloatingIp,
    PortFirewall,
    Router,
    Segment,
    dhcp,
    names,
    nft,
)
from vistack.edge.runner import Runner


def test_rule_matches() -> None:
    assert nft.rule_match(FirewallRule("ingress")) == ""
    assert (
        nft.rule_match(FirewallRule("ingress", "tcp", 22, 22, "10.0.0.0/8"))
        == "ip saddr 10.0.0.0/8 tcp dport 22"
    )
    assert nft.rule_match(FirewallRule("egress", "udp", 53, 60, "192.0.2.7/32")) == (
        "ip daddr 192.0.2.7/32 udp dport 53-60"
    )
    assert nft.rule_match(FirewallRule("ingress", "icmp", 8, 0)) == "icmp type 8 icmp code 0"
    assert nft.rule_match(FirewallRule("ingress", "icmp")) == "meta l4proto icmp"
    assert nft.rule_match(FirewallRule("ingress", "47")) == "meta l4proto 47"
    for bad in (
        FirewallRule("ingress", "tcp; flush ruleset"),
        FirewallRule("ingress", "tcp", 70000),
        FirewallRule("ingress", "tcp", 30, 20),
        FirewallRule("ingress", remote_ip_prefix="10.0.0.0/8 accept"),
    ):
        with pytest.raises(EdgeError):
            nft.rule_match(bad)


def test_firewall_ingress_drops_by_default_and_egress_returns() -> None:
    port = PortFirewall(
        "p-1",
        "net-1",
        "FA:16:3E:00:00:01",
        ("10.0.0.5",),
        (FirewallRule("egress"), FirewallRule("ingress", "tcp", 80, 80)),
    )
    text = nft.render_firewall("vistack_x_fw", [("vs-net1", 7)], [("vs-net1", port)])
    assert 'iifname "vs-net1" ct zone set 7' in text
    assert "ct state established,related accept" in text
    # One verdict-map lookup per direction finds the port's chains, whatever the port count.
    assert '"vs-net1" . fa:16:3e:00:00:01 . 10.0.0.5 : jump o_p1' in text
    assert '"vs-net1" . 10.0.0.5 : jump i_p1' in text
    assert "    iifname . ether saddr . ip saddr vmap @egress_ports" in text
    chain_in = text[text.index("chain i_p1") :]
    assert chain_in.splitlines()[1:4] == [
        "    udp sport 67 udp dport 68 accept",
        "    tcp dport 80 accept",
        "    drop",
    ]
    chain_out = text[text.index("chain o_p1") : text.index("chain i_p1")]
    assert "    return" in chain_out.splitlines()


def test_router_nat() -> None:
    router = Router(
        "r1",
        gateway=ExternalGateway("ext", "198.18.0.2", "198.18.0.0/24", "198.18.0.1"),
        floating_ips=(FloatingIp("198.18.0.50", "10.0.0.5"),),
    )
    text = nft.render_router_nat("vistack_nat", router, "qg-r1")
    assert "ip daddr 198.18.0.50 dnat to 10.0.0.5" in text
    assert 'oifname "qg-r1" ip saddr 10.0.0.5 snat to 198.18.0.50' in text
    assert text.index("snat to 198.18.0.50") < text.index('oifname "qg-r1" snat to 198.18.0.2')
    gateway = ExternalGateway("ext", "198.18.0.2", "198.18.0.0/24", None, enable_snat=False)
    no_snat = Router("r1", gateway=gateway)
    assert "snat" not in nft.render_router_nat("vistack_nat", no_snat, "qg-r1")


def test_dnsmasq_files(tmp_path: Path) -> None:
    sub = DhcpSubnet(
        "net-1",
        "sub-1",
        "10.0.0.0/24",
        "10.0.0.2",
        "fa:16:3e:00:00:02",
        gateway_ip="10.0.0.1",
        dns_nameservers=("192.0.2.53",),
        hosts=(DhcpHost("FA:16:3E:00:00:05", "10.0.0.5", "vm"),),
    )
    files = dhcp.render([sub], "ns-net1", tmp_path)
    assert "dhcp-range=set:ssub1,10.0.0.0,static,255.255.255.0,86400s" in files.conf
    assert "port=0" in files.conf
    assert files.hosts == "fa:16:3e:00:00:05,vm,10.0.0.5\n"
    assert (
        "tag:ssub1,option:classless-static-route,169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1"
        in files.opts
    )
    isolated = DhcpSubnet("net-1", "sub-1", "10.0.0.0/24", "10.0.0.2", "fa:16:3e:00:00:02")
    assert "169.254.169.254/32,10.0.0.2" in dhcp.render([isolated], "ns-net1", tmp_path).opts
    outside = DhcpSubnet(
        "n",
        "s",
        "10.0.0.0/24",
        "10.0.0.2",
        "fa:16:3e:00:00:02",
        hosts=(DhcpHost("fa:16:3e:00:00:05", "10.9.0.5"),),
    )
    with pytest.raises(EdgeError):
        dhcp.render([outside], "ns-net1", tmp_path)


def test_names_are_short_and_validated() -> None:
    net = "3f1c2a9e-7b7d-4c55-9d0e-0123456789ab"
    for name in (names.bridge(net), names.dhcp_port(net), names.dhcp_peer(net)):
        assert len(name) <= 15
    assert names.bridge(net) == "vs-3f1c2a9e7b7"
    assert names.dhcp_ns(net) == f"qdhcp-{net}"
    for bad in ("", "../etc", "a b", "x" * 65, "-rf"):
        with pytest.raises(EdgeError):
            names.check_id(bad)
    with pytest.raises(EdgeError):
        names.vlan_if("averylongnic0", 100)
    with pytest.raises(EdgeError):
        names.check_mac("fa:16:3e:00:00")
    assert 1 <= names.zone(net) <= 65535


class FakeRunner(Runner):
    """Records commands instead of running them; every device is reported missing."""

    def run(
        self,
        argv: Sequence[str],
        *,
        netns: str | None = None,
        mutate: bool = True,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
        if mutate:
            self.changes.append(" ".join(full))
        return subprocess.CompletedProcess(full, 1 if not mutate else 0, "", "")

    def ip_json(self, args: Sequence[str], *, netns: str | None = None) -> list[dict[str, Any]]:
        return []


def test_vlan_mode_plugs_a_sub_interface_into_the_bridge(tmp_path: Path) -> None:
    agent = EdgeAgent(EdgeConfig(tmp_path, trunk_interface="eth1", name="u"), FakeRunner())
    net = "3f1c2a9e-7b7d-4c55-9d0e-0123456789ab"
    agent.apply(EdgeState(segments=(Segment(net, vlan=123),)))
    assert "ip link add link eth1 name eth1.123 type vlan id 123" in agent.changes
    assert "ip link set eth1.123 master vs-3f1c2a9e7b7 up" in agent.changes
    assert any(c == "nft -f -" for c in agent.changes)


def test_state_refers_to_missing_segment(tmp_path: Path) -> None:
    agent = EdgeAgent(EdgeConfig(tmp_path, name="u"), FakeRunner())
    with pytest.raises(EdgeError, match="no segment"):
        agent.apply(
            EdgeState(
                routers=(Router("r1", floating_ips=()),),
                firewalls=(PortFirewall("p", "net-x", "fa:16:3e:00:00:01", ("10.0.0.1",)),),
            )
        )


def test_dnsmasq_host_options(tmp_path: Path) -> None:
    """A port's own options: its host entry sets a tag only it has, its lines match that tag
    (numbers bare, names as `option:`), once even when it has addresses on two subnets."""
    pxe = (("bootfile-name", "pxelinux.0"), ("66", "192.0.2.10"))
    subnets = [
        DhcpSubnet(
            "net-1",
            f"sub-{n}",
            f"10.0.{n}.0/24",
            f"10.0.{n}.2",
            "fa:16:3e:00:00:02",
            hosts=(
                DhcpHost("FA:16:3E:00:00:05", f"10.0.{n}.5", "vm", pxe),
                DhcpHost("fa:16:3e:00:00:06", f"10.0.{n}.6", "plain"),
            ),
        )
        for n in (1, 2)
    ]
    files = dhcp.render(subnets, "ns-net1", tmp_path)
    assert files.hosts == (
        "fa:16:3e:00:00:05,set:hfa163e000005,vm,10.0.1.5\n"
        "fa:16:3e:00:00:06,plain,10.0.1.6\n"
        "fa:16:3e:00:00:05,set:hfa163e000005,vm,10.0.2.5\n"
        "fa:16:3e:00:00:06,plain,10.0.2.6\n"
    )
    own = [line for line in files.opts.splitlines() if line.startswith("tag:h")]
    assert own == [
        "tag:hfa163e000005,option:bootfile-name,pxelinux.0",
        "tag:hfa163e000005,66,192.0.2.10",
    ]
    for bad in (
        ("bootfile-name", "a\nb"),
        ("bootfile-name", 'a"b'),
        ("bootfile-name", "a #b"),
        ("bootfile-name", " a"),
        ("bootfile-name", ""),
        ("boot file", "x"),
        ("255", "x"),
        ("0", "x"),
        ("bootfile-name\n", "x"),
    ):
        host = DhcpHost("fa:16:3e:00:00:05", "10.0.1.5", options=(bad,))
        sub = DhcpSubnet("n", "s", "10.0.1.0/24", "10.0.1.2", "fa:16:3e:00:00:02", hosts=(host,))
        with pytest.raises(EdgeError):
            dhcp.render([sub], "ns-net1", tmp_path)


def test_remote_groups_are_sets_named_once() -> None:
    """A remote group is one kernel set of its members; every port's rule names the set."""
    rule = FirewallRule("ingress", "tcp", 22, 22, remote_group="group-a")
    ports = [
        (
            "vs-net1",
            PortFirewall(f"p-{n}", "net-1", f"fa:16:3e:00:00:0{n}", (f"10.0.0.{n}",), (rule,)),
        )
        for n in (1, 2)
    ]
    lonely = FirewallRule("ingress", remote_group="group-empty")
    ports.append(
        ("vs-net1", PortFirewall("p-3", "net-1", "fa:16:3e:00:00:03", ("10.0.0.3",), (lonely,)))
    )
    groups = [
        AddressGroup("group-a", ("10.0.0.2", "10.0.0.1")),
        AddressGroup("group-unused", ("10.9.9.9",)),
    ]
    text = nft.render_firewall("vistack_x_fw", [("vs-net1", 7)], ports, groups)
    assert nft.rule_match(rule) == "ip saddr @g_groupa tcp dport 22"
    assert text.count("set g_groupa {") == 1
    assert "elements = { 10.0.0.1, 10.0.0.2 }" in text
    assert text.count("ip saddr @g_groupa tcp dport 22 accept") == 2
    # Named but memberless: an empty set (matches nobody); never named: not rendered.
    assert "set g_groupempty {" in text and "g_groupunused" not in text
    assert text.index("set g_groupa") < text.index("chain i_p1") < text.index("map ingress_ports")
