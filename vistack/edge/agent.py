"""`EdgeAgent`: programs this node's Linux networking from an `EdgeState`, idempotently.

Each `apply` reads what exists (`ip -j`, pid files, the last rendered nft tables), changes only the
difference, and removes what the agent created earlier but the new state no longer has. What it
created is recorded in a ledger under the state dir *before* it is created, so a crash half-way is
cleaned up by the next apply or `teardown`, and two agents on one host (tests in parallel) never
touch each other's objects.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vistack.edge import dhcp, metadata_procs, meter, names, nft
from vistack.edge.errors import EdgeCommandError, EdgeError
from vistack.edge.metadata import check_socket_path
from vistack.edge.runner import Runner
from vistack.edge.state import DhcpSubnet, EdgeState, Router

ROUTER_NAT_TABLE = "vistack_nat"
ROUTER_METADATA_TABLE = "vistack_meta"
_KINDS = ("bridges", "vlans", "dhcp", "routers", "metadata")


@dataclass(frozen=True)
class EdgeConfig:
    """Where the agent keeps its files, how segments reach the wire, and its own name.

    With `trunk_interface` each segment bridge is plugged into a VLAN sub-interface of that NIC
    (production, the port groups' uplink); without it the bridges are local (embedded mode, tests).
    `name` distinguishes agents sharing a host: it names the host firewall table.
    `metadata_socket` is the unix socket of the `MetadataRelay`: with it, every router with an
    interface and every isolated network's DHCP namespace runs a metadata proxy relaying there;
    without it no proxy runs (and instances' metadata requests go unanswered).
    """

    state_dir: Path
    trunk_interface: str | None = None
    name: str = "edge"
    metadata_socket: Path | None = None

    @property
    def firewall_table(self) -> str:
        return names.check_nft_name(f"vistack_{self.name}_fw")


def _is_up(link: dict[str, Any]) -> bool:
    return "UP" in link.get("flags", [])


class EdgeAgent:
    def __init__(self, config: EdgeConfig, runner: Runner | None = None) -> None:
        if config.trunk_interface:
            names.check_ifname(config.trunk_interface)
        if config.metadata_socket is not None:
            check_socket_path(config.metadata_socket)
        self.config = config
        self.runner = runner or Runner()
        self.state_dir = config.state_dir
        self._ledger_path = self.state_dir / "ledger.json"

    @property
    def changes(self) -> list[str]:
        """The mutating commands of the last `apply` (empty when it found nothing to do)."""
        return self.runner.changes

    # -- ledger -----------------------------------------------------------------------------

    def _load(self) -> dict[str, set[str]]:
        ledger: dict[str, set[str]] = {k: set() for k in _KINDS}
        with contextlib.suppress(FileNotFoundError):
            for key, values in json.loads(self._ledger_path.read_text()).items():
                if key in ledger:
                    ledger[key] = set(values)
        return ledger

    def _record(self, ledger: dict[str, set[str]], kind: str, name: str) -> None:
        if name in ledger[kind]:
            return
        ledger[kind].add(name)
        self._save(ledger)

    def _save(self, ledger: dict[str, set[str]]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._ledger_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: sorted(v) for k, v in ledger.items()}, indent=1))
        tmp.replace(self._ledger_path)

    # -- public API -------------------------------------------------------------------------

    def apply(self, state: EdgeState) -> None:
        """Make this node match `state`; raises EdgeError after removing what it could."""
        self.runner.changes = []
        segments = {s.network_id: s for s in state.segments}
        for seg in state.segments:
            names.check_id(seg.network_id)
        dhcp_nets: dict[str, list[DhcpSubnet]] = defaultdict(list)
        for sub in state.dhcp:
            dhcp_nets[sub.network_id].append(sub)
        needed = set(dhcp_nets) | {fw.network_id for fw in state.firewalls}
        for router in state.routers:
            needed |= {i.network_id for i in router.interfaces}
            if router.gateway:
                needed.add(router.gateway.network_id)
        if missing := needed - set(segments):
            raise EdgeError(f"no segment for network(s) {', '.join(sorted(missing))}")
        self._check_unique_names(state)

        ledger = self._load()
        for seg in state.segments:
            bridge = names.bridge(seg.network_id)
            self._record(ledger, "bridges", bridge)
            self._ensure_bridge(bridge)
            if self.config.trunk_interface and seg.vlan is not None:
                vlan_if = names.vlan_if(self.config.trunk_interface, seg.vlan)
                self._record(ledger, "vlans", vlan_if)
                self._ensure_vlan(vlan_if, seg.vlan, bridge)
        for net_id, subnets in sorted(dhcp_nets.items()):
            self._record(ledger, "dhcp", net_id)
            self._ensure_dhcp(net_id, subnets)
        for router in state.routers:
            self._record(ledger, "routers", router.router_id)
            self._ensure_router(router)
        # No relay socket, no proxies (and the ledger's ones are stopped below).
        proxies = metadata_procs.wanted(state) if self.config.metadata_socket else []
        for spec in proxies:
            self._record(ledger, "metadata", spec.key)
            self._ensure_proxy(spec)
        self._ensure_firewall(state)

        errors: list[str] = []
        # Proxies go first: a proxy would keep a deleted namespace alive.
        for key in sorted(ledger["metadata"] - {p.key for p in proxies}):
            if self._best_effort(errors, self._remove_proxy, key):
                ledger["metadata"].discard(key)
        for net_id in sorted(ledger["dhcp"] - set(dhcp_nets)):
            if self._best_effort(errors, self._remove_dhcp, net_id):
                ledger["dhcp"].discard(net_id)
        for router_id in sorted(ledger["routers"] - {r.router_id for r in state.routers}):
            if self._best_effort(errors, self._remove_router, router_id):
                ledger["routers"].discard(router_id)
        wanted_vlans = (
            {
                names.vlan_if(self.config.trunk_interface, s.vlan)
                for s in state.segments
                if s.vlan is not None
            }
            if self.config.trunk_interface
            else set()
        )
        for kind, wanted in (
            ("vlans", wanted_vlans),
            ("bridges", {names.bridge(n) for n in segments}),
        ):
            for link in sorted(ledger[kind] - wanted):
                if self._best_effort(errors, self._delete_link, link):
                    ledger[kind].discard(link)
        self._save(ledger)
        if errors:
            raise EdgeError("; ".join(errors))

    def teardown(self) -> None:
        """Remove everything this agent created on the node, and its state dir."""
        self.apply(EdgeState())
        shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _best_effort(errors: list[str], func: Callable[[str], None], arg: str) -> bool:
        """Run one removal step; a failure is collected (and stays in the ledger for the next
        apply) so the other removals still happen."""
        try:
            func(arg)
        except EdgeError as exc:
            errors.append(str(exc))
            return False
        return True

    @staticmethod
    def _check_unique_names(state: EdgeState) -> None:
        """Short names cut ids to 11 characters: refuse the (unlikely) collision loudly."""
        seen: dict[str, str] = {}
        ids = [s.network_id for s in state.segments] + [r.router_id for r in state.routers]
        ids += [i.subnet_id for r in state.routers for i in r.interfaces]
        for identifier in set(ids):
            key = names.short(identifier)
            if key in seen and seen[key] != identifier:
                raise EdgeError(f"ids {seen[key]} and {identifier} share the short name {key}")
            seen[key] = identifier

    def _link(self, name: str, netns: str | None = None) -> dict[str, Any] | None:
        found = self.runner.ip_json(["link", "show", "dev", name], netns=netns)
        return found[0] if found else None

    def _netns_exists(self, netns: str) -> bool:
        return any(d.get("name") == netns for d in self.runner.ip_json(["netns", "list"]))

    def _ensure_netns(self, netns: str) -> None:
        if not self._netns_exists(netns):
            self.runner.ip(["netns", "add", netns])
        lo = self._link("lo", netns)
        if lo is None or not _is_up(lo):
            self.runner.ip(["link", "set", "lo", "up"], netns=netns)

    def _delete_netns(self, netns: str) -> None:
        if self._netns_exists(netns):
            self.runner.ip(["netns", "delete", netns])

    def _delete_link(self, name: str) -> None:
        if self._link(name) is not None:
            self.runner.delete_link(name)

    def _ensure_bridge(self, bridge: str) -> None:
        link = self._link(bridge)
        if link is None:
            # nf_call_iptables on the bridge itself: the firewall sees bridged traffic without
            # depending on (or changing) the host-wide br_netfilter sysctl.
            self.runner.ip(
                ["link", "add", "name", bridge, "type", "bridge", "nf_call_iptables", "1"]
            )
        if link is None or not _is_up(link):
            self.runner.ip(["link", "set", bridge, "up"])

    def _ensure_vlan(self, vlan_if: str, vlan: int, bridge: str) -> None:
        trunk = self.config.trunk_interface
        assert trunk is not None
        link = self._link(vlan_if)
        if link is None:
            self.runner.ip(
                ["link", "add", "link", trunk, "name", vlan_if, "type", "vlan", "id", str(vlan)]
            )
        if link is None or link.get("master") != bridge or not _is_up(link):
            self.runner.ip(["link", "set", vlan_if, "master", bridge, "up"])

    def _ensure_veth(self, host: str, netns: str, inner: str, bridge: str, mac: str | None) -> None:
        """A veth pair: `inner` in the namespace (with a fixed MAC), `host` in the bridge."""
        names.check_ifname(host)
        names.check_ifname(inner)
        link = self._link(inner, netns)
        if link is None:
            self._delete_link(host)
            self.runner.ip(
                ["link", "add", host, "type", "veth", "peer", "name", inner, "netns", netns]
            )
        if mac and (link is None or link.get("address") != names.check_mac(mac)):
            self.runner.ip(["link", "set", inner, "address", names.check_mac(mac)], netns=netns)
        if link is None or not _is_up(link):
            self.runner.ip(["link", "set", inner, "up"], netns=netns)
        peer = self._link(host)
        if peer is None or peer.get("master") != bridge or not _is_up(peer):
            self.runner.ip(["link", "set", host, "master", bridge, "up"])

    def _ensure_addrs(self, netns: str, dev: str, wanted: set[str]) -> None:
        info = self.runner.ip_json(["addr", "show", "dev", dev], netns=netns)
        current: set[str] = set()
        for entry in info:
            for addr in entry.get("addr_info", []):
                if addr.get("family") == "inet":
                    current.add(f"{addr['local']}/{addr['prefixlen']}")
        for addr in sorted(wanted - current):
            self.runner.ip(["addr", "add", addr, "dev", dev], netns=netns)
        for addr in sorted(current - wanted):
            self.runner.ip(["addr", "del", addr, "dev", dev], netns=netns)

    def _prune_links(self, netns: str, prefixes: tuple[str, ...], wanted: set[str]) -> None:
        for link in self.runner.ip_json(["link", "show"], netns=netns):
            name = str(link.get("ifname", ""))
            if name.startswith(prefixes) and name not in wanted:
                self.runner.delete_link(name, netns=netns)

    def _ensure_nft(
        self,
        netns: str | None,
        family: str,
        table: str,
        text: str | None,
        cache: Path,
        carry: Callable[[], str] | None = None,
    ) -> None:
        """Replace a whole table atomically when its rendering changed (or it went missing).

        `carry`, when the table exists: what to load instead of `text` (the same table with
        state read from the old one, e.g. meter counts); the cache still holds `text`."""
        exists = (
            self.runner.run(
                ["nft", "list", "table", family, table], netns=netns, mutate=False, check=False
            ).returncode
            == 0
        )
        if text is None:
            if exists:
                self.runner.run(
                    ["nft", "-f", "-"], netns=netns, stdin=nft.delete_table(family, table)
                )
            cache.unlink(missing_ok=True)
            return
        if exists and cache.exists() and cache.read_text() == text:
            return
        body = carry() if carry is not None and exists else text
        self.runner.run(
            ["nft", "-f", "-"], netns=netns, stdin=nft.replace_table(family, table, body)
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(text)

    # -- DHCP -------------------------------------------------------------------------------

    def _dhcp_dir(self, network_id: str) -> Path:
        return self.state_dir / "dhcp" / names.check_id(network_id)

    def _ensure_dhcp(self, network_id: str, subnets: list[DhcpSubnet]) -> None:
        macs = {names.check_mac(s.port_mac) for s in subnets}
        if len(macs) != 1:
            raise EdgeError(f"subnets of network {network_id} disagree on the DHCP port MAC")
        netns = names.dhcp_ns(network_id)
        port = names.dhcp_port(network_id)
        self._ensure_netns(netns)
        self._ensure_veth(
            names.dhcp_peer(network_id), netns, port, names.bridge(network_id), macs.pop()
        )
        wanted = set()
        for sub in subnets:
            net = names.check_ipv4_net(sub.cidr)
            wanted.add(f"{names.check_ipv4(sub.port_ip)}/{net.prefixlen}")
            if sub.metadata_next_hop == sub.port_ip:
                wanted.add(f"{dhcp.METADATA_IP}/32")
        self._ensure_addrs(netns, port, wanted)
        state_dir = self._dhcp_dir(network_id)
        dhcp.ensure(self.runner, netns, dhcp.render(subnets, port, state_dir), state_dir)

    def _remove_dhcp(self, network_id: str) -> None:
        state_dir = self._dhcp_dir(network_id)
        if dhcp.stop(state_dir):
            self.runner.changes.append(f"stop dnsmasq of {network_id}")
        self._delete_netns(names.dhcp_ns(network_id))
        self._delete_link(names.dhcp_peer(network_id))
        shutil.rmtree(state_dir, ignore_errors=True)

    # -- routers ----------------------------------------------------------------------------

    def _ensure_router(self, router: Router) -> None:
        netns = names.router_ns(router.router_id)
        self._ensure_netns(netns)
        forward = self.runner.run(
            ["sysctl", "-n", "net.ipv4.ip_forward"], netns=netns, mutate=False
        )
        if forward.stdout.strip() != "1":
            self.runner.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], netns=netns)
        wanted_links: set[str] = set()
        for iface in router.interfaces:
            port = names.router_port(iface.subnet_id)
            wanted_links.add(port)
            net = names.check_ipv4_net(iface.cidr)
            self._ensure_veth(
                names.router_peer(iface.subnet_id),
                netns,
                port,
                names.bridge(iface.network_id),
                iface.mac,
            )
            self._ensure_addrs(netns, port, {f"{names.check_ipv4(iface.ip)}/{net.prefixlen}"})
        gw_port = names.gateway_port(router.router_id)
        if router.gateway:
            gw = router.gateway
            wanted_links.add(gw_port)
            net = names.check_ipv4_net(gw.cidr)
            self._ensure_veth(
                names.gateway_peer(router.router_id),
                netns,
                gw_port,
                names.bridge(gw.network_id),
                gw.mac,
            )
            addrs = {f"{names.check_ipv4(gw.ip)}/{net.prefixlen}"}
            addrs |= {f"{names.check_ipv4(f.floating_ip)}/32" for f in router.floating_ips}
            self._ensure_addrs(netns, gw_port, addrs)
        self._prune_links(netns, ("qr-", "qg-"), wanted_links)
        # The metadata proxy listens on 169.254.169.254:80 itself, an address on `lo`: no port
        # to allocate, no NAT (which needs no gateway), nothing else of the router exposed.
        metadata = self._router_serves_metadata(router)
        lo_addrs = {"127.0.0.1/8"} | ({f"{dhcp.METADATA_IP}/32"} if metadata else set())
        self._ensure_addrs(netns, "lo", lo_addrs)
        self._ensure_nft(
            netns,
            "ip",
            ROUTER_METADATA_TABLE,
            nft.render_router_metadata(ROUTER_METADATA_TABLE, dhcp.METADATA_IP)
            if metadata
            else None,
            self.state_dir / "routers" / f"{names.check_id(router.router_id)}.meta.nft",
        )
        self._ensure_routes(netns, router)
        cache = self.state_dir / "routers" / f"{names.check_id(router.router_id)}.nft"
        text = nft.render_router_nat(ROUTER_NAT_TABLE, router, gw_port) if router.gateway else None
        self._ensure_nft(netns, "ip", ROUTER_NAT_TABLE, text, cache)
        self._ensure_meters(netns, router, gw_port)

    def _ensure_meters(self, netns: str, router: Router, gw_port: str) -> None:
        """The router's metering table (see edge/meter.py): only with a gateway and labels;
        a changed one carries the counts of the labels that stay."""
        cache = self.state_dir / "routers" / f"{names.check_id(router.router_id)}.meter.nft"
        if not (router.gateway and router.meters):
            self._ensure_nft(netns, "inet", meter.TABLE, None, cache)
            return

        def carried() -> str:
            return meter.render(meter.TABLE, router.meters, gw_port, self._read_meters(netns))

        text = meter.render(meter.TABLE, router.meters, gw_port)
        self._ensure_nft(netns, "inet", meter.TABLE, text, cache, carry=carried)

    def _read_meters(self, netns: str) -> dict[str, tuple[int, int]]:
        """A namespace's label counts ({} when it has no metering table)."""
        proc = self.runner.run(
            ["nft", "-j", "list", "counters", "table", "inet", meter.TABLE],
            netns=netns,
            mutate=False,
            check=False,
        )
        return meter.parse_counters(proc.stdout) if proc.returncode == 0 else {}

    def meter_counters(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Every metering label's (packets, bytes) on each router of this agent, by (router id,
        label id): what Neutron's metering agent would report to telemetry. Read-only."""
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for router_id in sorted(self._load()["routers"]):
            netns = names.router_ns(router_id)
            if not self._netns_exists(netns):
                continue
            for label_id, counts in self._read_meters(netns).items():
                out[(router_id, label_id)] = counts
        return out

    def _ensure_routes(self, netns: str, router: Router) -> None:
        wanted: dict[str, str] = {}
        if router.gateway and router.gateway.nexthop:
            wanted["0.0.0.0/0"] = names.check_ipv4(router.gateway.nexthop)
        for dest, nexthop in router.routes:
            wanted[str(names.check_ipv4_net(dest))] = names.check_ipv4(nexthop)
        present: set[str] = set()
        for route in self.runner.ip_json(["route", "show"], netns=netns):
            if route.get("protocol") == "kernel" or route.get("scope") == "link":
                continue
            raw = str(route.get("dst", ""))
            dst = "0.0.0.0/0" if raw == "default" else str(ipaddress.IPv4Network(raw))
            if wanted.get(dst) == route.get("gateway"):
                present.add(dst)
            else:
                self.runner.ip(["route", "del", dst], netns=netns)
        for dst in sorted(set(wanted) - present):
            self.runner.ip(["route", "replace", dst, "via", wanted[dst]], netns=netns)

    def _remove_router(self, router_id: str) -> None:
        self._delete_netns(names.router_ns(router_id))
        (self.state_dir / "routers" / f"{names.check_id(router_id)}.nft").unlink(missing_ok=True)
        (self.state_dir / "routers" / f"{names.check_id(router_id)}.meta.nft").unlink(
            missing_ok=True
        )
        (self.state_dir / "routers" / f"{names.check_id(router_id)}.meter.nft").unlink(
            missing_ok=True
        )

    # -- metadata proxies -------------------------------------------------------------------

    def _router_serves_metadata(self, router: Router) -> bool:
        return self.config.metadata_socket is not None and metadata_procs.router_serves(router)

    def _ensure_proxy(self, spec: metadata_procs.ProxySpec) -> None:
        assert self.config.metadata_socket is not None
        metadata_procs.ensure(self.runner, spec, self.config.metadata_socket, self.state_dir)

    def _remove_proxy(self, key: str) -> None:
        metadata_procs.remove(self.runner, metadata_procs.ProxySpec.from_key(key), self.state_dir)

    # -- firewall ---------------------------------------------------------------------------

    def _ensure_firewall(self, state: EdgeState) -> None:
        bridges = [
            (names.bridge(s.network_id), names.zone(s.network_id))
            for s in sorted(state.segments, key=lambda s: s.network_id)
        ]
        ports = [
            (names.bridge(fw.network_id), fw)
            for fw in sorted(state.firewalls, key=lambda f: f.port_id)
        ]
        table = self.config.firewall_table
        text = nft.render_firewall(table, bridges, ports, state.address_groups) if bridges else None
        try:
            self._ensure_nft(None, "inet", table, text, self.state_dir / "firewall.nft")
        except EdgeCommandError as exc:
            raise EdgeError(f"firewall update failed: {exc}") from exc
