"""The agent's side of the metadata proxies: start, check and stop one per namespace.

A proxy is identified by its ledger key (`router:<id>` or `network:<id>`) and lives in
`<state_dir>/metadata/<kind>-<id>/` (`pid`, `log`). It counts as running only when the pid in its
pid file is alive with exactly the command line the agent would start now *and* sits in the
namespace that currently carries the name: a proxy left in a namespace that was deleted and
re-created (or started with an older socket path) is replaced, not trusted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vistack.edge import names
from vistack.edge.errors import EdgeError
from vistack.edge.runner import Runner
from vistack.edge.state import EdgeState, Router

LISTEN = "169.254.169.254:80"


@dataclass(frozen=True)
class ProxySpec:
    kind: Literal["router", "network"]
    ident: str
    netns: str

    @property
    def key(self) -> str:
        """The ledger entry."""
        return f"{self.kind}:{self.ident}"

    @staticmethod
    def from_key(key: str) -> ProxySpec:
        kind, _, ident = key.partition(":")
        if kind == "router":
            return ProxySpec("router", names.check_id(ident), names.router_ns(ident))
        if kind == "network":
            return ProxySpec("network", names.check_id(ident), names.dhcp_ns(ident))
        raise EdgeError(f"invalid metadata proxy key {key!r}")


def router_serves(router: Router) -> bool:
    """A router answers metadata once it has a tenant leg (instances route 169.254.169.254 to
    their subnet's gateway)."""
    return bool(router.interfaces)


def wanted(state: EdgeState) -> list[ProxySpec]:
    """One proxy per router with an interface, and one per network whose DHCP port carries the
    metadata address (a subnet whose option 121 next hop is that port: isolated networks)."""
    specs = [
        ProxySpec("router", r.router_id, names.router_ns(r.router_id))
        for r in state.routers
        if router_serves(r)
    ]
    networks = {s.network_id for s in state.dhcp if s.metadata_next_hop == s.port_ip}
    specs += [ProxySpec("network", n, names.dhcp_ns(n)) for n in sorted(networks)]
    return specs


def proxy_dir(state_dir: Path, spec: ProxySpec) -> Path:
    return state_dir / "metadata" / f"{spec.kind}-{names.check_id(spec.ident)}"


def command(spec: ProxySpec, socket_path: Path, directory: Path) -> list[str]:
    """The proxy's argv (without `ip netns exec`): this interpreter runs the module."""
    return [
        sys.executable,
        "-m",
        "vistack.edge.metadata_proxy",
        "--daemon",
        "--listen",
        LISTEN,
        "--socket",
        str(socket_path),
        f"--{spec.kind}-id",
        names.check_id(spec.ident),
        "--pid-file",
        str(directory / "pid"),
        "--log-file",
        str(directory / "log"),
    ]


def _pid(directory: Path) -> int | None:
    try:
        return int((directory / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def _same_netns(pid: int, netns: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return False


def ours(directory: Path) -> int | None:
    """The pid of the proxy this pid file belongs to, whatever its arguments (None if gone)."""
    pid = _pid(directory)
    if pid is None:
        return None
    cmdline = _cmdline(pid)
    return pid if cmdline and str(directory / "pid") in cmdline else None


def stop(directory: Path) -> bool:
    """SIGTERM the proxy (SIGKILL after 5 s); True if one was running."""
    pid = ours(directory)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and ours(directory) == pid:
        time.sleep(0.02)
    if ours(directory) == pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    (directory / "pid").unlink(missing_ok=True)
    return True


def ensure(runner: Runner, spec: ProxySpec, socket_path: Path, state_dir: Path) -> None:
    """Start the proxy unless the right one already runs in the right namespace."""
    directory = proxy_dir(state_dir, spec)
    argv = command(spec, socket_path, directory)
    pid = ours(directory)
    if pid is not None and _cmdline(pid) == argv and _same_netns(pid, spec.netns):
        return
    if pid is not None:
        stop(directory)
        runner.changes.append(f"stop metadata proxy {spec.key}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pid").unlink(missing_ok=True)
    runner.run(argv, netns=spec.netns)
    if ours(directory) is None:
        raise EdgeError(f"metadata proxy {spec.key} exited at once; see {directory / 'log'}")


def remove(runner: Runner, spec: ProxySpec, state_dir: Path) -> None:
    directory = proxy_dir(state_dir, spec)
    if stop(directory):
        runner.changes.append(f"stop metadata proxy {spec.key}")
    with contextlib.suppress(FileNotFoundError):
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
