"""Helpers for the edge data plane tests: namespaces standing in for instances and networks.

Everything a test creates carries a per-test random tag in its name (interface names stay within
15 characters) so parallel runs do not collide, and every fixture removes what it created in its
finalizer, also when the test fails. No test touches the host's resolver: the DHCP client runs
with the tests' own script, which only configures the namespace's interface and records the lease.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TOOLS = ("ip", "nft", "dnsmasq", "busybox")


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "edge data plane tests need root (network namespaces, nftables, dnsmasq)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)} (tools/bootstrap.sh installs them)"
    probe = f"vsprobe-{uuid.uuid4().hex[:8]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "`ip netns add` does not work here"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


UNAVAILABLE = _unavailable()
needs_root = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")


def ns_run(
    netns: str, argv: list[str], timeout: float = 10, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} in {netns} failed: {proc.stdout}{proc.stderr}")
    return proc


ECHO_SERVER = """
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(16)
print("ready", flush=True)
while True:
    conn, peer = srv.accept()
    with conn:
        conn.sendall(peer[0].encode())
"""

ECHO_CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as s:
        s.settimeout(float(sys.argv[3]))
        print(s.recv(64).decode())
except OSError as exc:
    print(exc)
    sys.exit(1)
"""

DHCP_SCRIPT = """#!/bin/sh
# udhcpc event hook for the tests: configure the namespace's interface, record the lease.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    env > "$LEASE_FILE"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}"
    ;;
esac
exit 0
"""


def tcp_probe(netns: str, host: str, port: int, timeout: float = 0.5) -> str | None:
    """The peer address the echo server saw, or None when the connection failed."""
    proc = ns_run(
        netns,
        [sys.executable, "-c", ECHO_CLIENT, host, str(port), str(timeout)],
        timeout=timeout + 10,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


@dataclass
class Lab:
    """Namespaces, links and processes of one test, all removed by `close`."""

    tag: str
    workdir: Path
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def instance(self, name: str, bridge: str, mac: str) -> str:
        """A namespace with `eth0` (fixed MAC) whose peer is plugged into `bridge`."""
        netns = f"vst-{self.tag}-{name}"
        host = f"vi{self.tag}{name}"[:15]
        self.namespaces.append(netns)
        self.links.append(host)
        subprocess.run(["ip", "netns", "add", netns], check=True)
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        subprocess.run(
            ["ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", netns],
            check=True,
        )
        subprocess.run(["ip", "-n", netns, "link", "set", "eth0", "address", mac, "up"], check=True)
        subprocess.run(["ip", "link", "set", host, "master", bridge, "up"], check=True)
        return netns

    def external(
        self, name: str, bridge: str, mac: str, address: str, gateway: str | None = None
    ) -> str:
        """An "outside" host: an instance with a static `address` (cidr) on `bridge`, and a
        default route via `gateway` if given (SNAT and floating IPs need none: every address
        the outside sees is on its own subnet)."""
        netns = self.instance(name, bridge, mac)
        subprocess.run(["ip", "-n", netns, "addr", "add", address, "dev", "eth0"], check=True)
        if gateway:
            subprocess.run(
                ["ip", "-n", netns, "route", "add", "default", "via", gateway], check=True
            )
        return netns

    def dhcp(self, netns: str) -> dict[str, str]:
        """Run busybox udhcpc in the namespace with the tests' hook; return the lease it got."""
        script = self.workdir / "udhcpc.sh"
        if not script.exists():
            script.write_text(DHCP_SCRIPT)
            script.chmod(0o755)
        lease = self.workdir / f"{netns}.lease"
        lease.unlink(missing_ok=True)
        env = dict(os.environ, LEASE_FILE=str(lease))
        proc = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                netns,
                "busybox",
                "udhcpc",
                "-i",
                "eth0",
                "-f",
                "-q",
                "-n",
                "-t",
                "10",
                "-T",
                "1",
                "-O",
                "staticroutes",
                "-s",
                str(script),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        assert proc.returncode == 0 and lease.exists(), proc.stdout + proc.stderr
        values: dict[str, str] = {}
        for line in lease.read_text().splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip("'")
        return values

    def echo_server(self, netns: str, port: int) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", ECHO_SERVER, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for netns in self.namespaces:
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
        for link in self.links:
            subprocess.run(["ip", "link", "delete", link], capture_output=True)


def new_tag() -> str:
    return uuid.uuid4().hex[:5]


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.05
) -> float | None:
    """Seconds until `predicate()` held, or None if it never did within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
