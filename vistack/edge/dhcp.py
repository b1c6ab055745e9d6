"""dnsmasq for one network: the files it reads and the process itself.

dnsmasq only ever hands out the static MAC → IP bindings from Neutron's IPAM (`static` ranges, no
dynamic pool). Bindings and options live in files dnsmasq re-reads on SIGHUP, so port changes do not
restart it; only a change of the ranges or the interface (the main config) does. A port's own
options (`DhcpHost.options`) are such data too: its host entry sets a tag only it carries
(`set:h<mac>`), and its option lines match that tag, so they reach that host alone. But dnsmasq
(2.86 to 2.90 at least) crashes on SIGHUP when a host entry with a `set:` tag holds a lease, so
while a network has such entries (before or after the change) a change of the data files
restarts its dnsmasq instead: bindings are static, so clients renew from the new one as before.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vistack.edge import names
from vistack.edge.errors import EdgeError
from vistack.edge.runner import Runner
from vistack.edge.state import DhcpSubnet

METADATA_IP = "169.254.169.254"
#: A dnsmasq option name (`dnsmasq --help dhcp`), or a number 1..254.
_OPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+-]{0,63}|[1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-4]")
#: What dnsmasq's file reader would change in a value: control characters (a newline is a new
#: directive), quotes and escapes, comments.
_OPTION_VALUE = re.compile(r'[^\x00-\x1f\x7f"\\#]{1,255}')


@dataclass(frozen=True)
class DnsmasqFiles:
    conf: str
    hosts: str
    opts: str


def _tag(subnet: DhcpSubnet) -> str:
    return f"s{names.short(subnet.subnet_id)}"


def _host_tag(mac: str) -> str:
    """The tag only this host's entry sets (a MAC is unique on a network)."""
    return "h" + names.check_mac(mac).replace(":", "")


def host_options(mac: str, options: Sequence[tuple[str, str]]) -> list[str]:
    """The opts-file lines of one host's own options, checked as strictly as the rest of the
    input: the agent never writes a line dnsmasq would read as something else."""
    tag = _host_tag(mac)
    lines: list[str] = []
    for name, value in options:
        if not _OPTION_NAME.fullmatch(name):
            raise EdgeError(f"invalid DHCP option name {name!r}")
        if not _OPTION_VALUE.fullmatch(value) or value != value.strip():
            raise EdgeError(f"invalid value for DHCP option {name}: {value!r}")
        option = name if name.isdigit() else f"option:{name}"
        lines.append(f"tag:{tag},{option},{value}")
    return lines


def render(subnets: Sequence[DhcpSubnet], interface: str, state_dir: Path) -> DnsmasqFiles:
    """The config, hosts and options files for a network's subnets."""
    conf = [
        "# written by vistack.edge; do not edit",
        "port=0",  # DNS is not served here; instances get the subnet's nameservers
        f"interface={names.check_ifname(interface)}",
        "bind-interfaces",
        "except-interface=lo",
        "dhcp-authoritative",
        "dhcp-no-override",
        "user=root",
        f"dhcp-hostsfile={state_dir / 'hosts'}",
        f"dhcp-optsfile={state_dir / 'opts'}",
        f"dhcp-leasefile={state_dir / 'leases'}",
        f"pid-file={state_dir / 'pid'}",
        f"log-facility={state_dir / 'log'}",
        "log-dhcp",
    ]
    hosts: list[str] = []
    opts: list[str] = []
    own: dict[str, None] = {}
    for subnet in sorted(subnets, key=lambda s: s.subnet_id):
        net = names.check_ipv4_net(subnet.cidr)
        tag = _tag(subnet)
        if subnet.lease_seconds < 120:
            raise EdgeError(f"lease time {subnet.lease_seconds}s is below dnsmasq's minimum")
        conf.append(
            f"dhcp-range=set:{tag},{net.network_address},static,{net.netmask},"
            f"{subnet.lease_seconds}s"
        )
        for host in sorted(subnet.hosts, key=lambda h: h.mac):
            ip = names.check_ipv4(host.ip)
            if ipaddress.IPv4Address(ip) not in net:
                raise EdgeError(f"host {ip} is outside subnet {net}")
            fields = [names.check_mac(host.mac)]
            if host.options:
                fields.append(f"set:{_host_tag(host.mac)}")
                # A dict: a port with addresses on two subnets has its options written once.
                own.update(dict.fromkeys(host_options(host.mac, host.options)))
            if host.hostname:
                fields.append(names.check_hostname(host.hostname))
            fields.append(ip)
            hosts.append(",".join(fields))
        routes: list[str] = [f"{METADATA_IP}/32,{names.check_ipv4(subnet.metadata_next_hop)}"]
        for dest, nexthop in subnet.host_routes:
            routes.append(f"{names.check_ipv4_net(dest)},{names.check_ipv4(nexthop)}")
        if subnet.gateway_ip:
            gateway = names.check_ipv4(subnet.gateway_ip)
            opts.append(f"tag:{tag},option:router,{gateway}")
            # With option 121 clients ignore option 3, so the default route is repeated there.
            routes.append(f"0.0.0.0/0,{gateway}")
        else:
            opts.append(f"tag:{tag},option:router")
        opts.append(f"tag:{tag},option:classless-static-route,{','.join(routes)}")
        if subnet.dns_nameservers:
            dns = ",".join(names.check_ipv4(d) for d in subnet.dns_nameservers)
            opts.append(f"tag:{tag},option:dns-server,{dns}")
    opts.extend(own)
    return DnsmasqFiles(
        conf="\n".join(conf) + "\n", hosts="\n".join(hosts) + "\n", opts="\n".join(opts) + "\n"
    )


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def running_pid(state_dir: Path) -> int | None:
    """The pid of this network's dnsmasq if it runs (checked against its command line)."""
    try:
        pid = int((state_dir / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(state_dir / "conf").encode() in cmdline else None


def stop(state_dir: Path) -> bool:
    pid = running_pid(state_dir)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.02)
    if Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def _tagged(path: Path) -> bool:
    """Whether this hosts file tags a host (`set:`), which dnsmasq cannot take a SIGHUP with."""
    try:
        return ",set:" in path.read_text()
    except FileNotFoundError:
        return False


def ensure(runner: Runner, netns: str, files: DnsmasqFiles, state_dir: Path) -> None:
    """Write the files; start dnsmasq, restart it on a config change, SIGHUP it on a host change
    (restart it instead when host tags are involved, see the module's docstring)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tagged = _tagged(state_dir / "hosts") or ",set:" in files.hosts
    conf_changed = _write_if_changed(state_dir / "conf", files.conf)
    data_changed = _write_if_changed(state_dir / "hosts", files.hosts)
    data_changed = _write_if_changed(state_dir / "opts", files.opts) or data_changed
    pid = running_pid(state_dir)
    if pid is not None and (conf_changed or (data_changed and tagged)):
        stop(state_dir)
        pid = None
    if pid is None:
        # A stale lease file would make dnsmasq believe old bindings still hold.
        (state_dir / "leases").unlink(missing_ok=True)
        runner.run(["dnsmasq", f"--conf-file={state_dir / 'conf'}"], netns=netns)
    elif data_changed:
        runner.changes.append(f"kill -HUP {pid}")
        os.kill(pid, signal.SIGHUP)
