"""Running `vistack up` for a benchmark: start it on a free port, wait for its ready line, stop
it. Shared by the benchmarks that measure a real server process (identity, image), so each of
them times the same thing the same way."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

READY_PREFIX = "vistack ready: "
ADMIN_CLOUD = "vistack-admin"


class BenchError(RuntimeError):
    """The cloud could not be started, reached or prepared, or a measurement failed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def vistack_command() -> list[str]:
    script = Path(sys.executable).with_name("vistack")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "vistack"]


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen[bytes], stderr_path: Path, timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"server ignored SIGTERM for {timeout:.0f} s; killing it")
            process.kill()
            process.wait()
    if process.returncode not in (0, -signal.SIGTERM):
        log(f"server exited with status {process.returncode}:\n{tail(stderr_path)}")


def wait_ready(
    process: subprocess.Popen[bytes], stdout_path: Path, stderr_path: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stdout_path.read_text(errors="replace").splitlines():
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].strip()
        if process.poll() is not None:
            raise BenchError(
                f"vistack up exited with status {process.returncode}:\n{tail(stderr_path)}"
            )
        time.sleep(0.05)
    raise BenchError(f"vistack up not ready after {timeout:.0f} s:\n{tail(stderr_path)}")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def status_kib(pid: int, name: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def admin_auth_body(auth: dict[str, str]) -> dict[str, Any]:
    """The `POST /v3/auth/tokens` body for a clouds.yaml `auth` section (password, project
    scope): how each benchmark logs in as the admin."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": auth["username"],
                        "domain": {"name": auth.get("user_domain_name", "Default")},
                        "password": auth["password"],
                    }
                },
            },
            "scope": {
                "project": {
                    "name": auth["project_name"],
                    "domain": {"name": auth.get("project_domain_name", "Default")},
                }
            },
        }
    }


@dataclass(frozen=True)
class RunningVistack:
    """A `vistack up` of a benchmark: where it answers and how to log in as admin."""

    host: str
    port: int
    pid: int
    data_dir: Path
    #: The `auth` section of its clouds.yaml entry for the admin.
    admin: dict[str, str]


@contextlib.contextmanager
def running_vistack(
    workdir: Path, timeout: float, settings: dict[str, str] | None = None
) -> Iterator[RunningVistack]:
    """`vistack up` on a free port with its data in `workdir`; SIGTERM on exit.

    bcrypt's cost is lowered and the access log is off: benchmarks measure the service, not
    password hashing or log writes.
    """
    data_dir = workdir / "data"
    stdout_path, stderr_path = workdir / "server.out", workdir / "server.err"
    # The caller's VISTACK_* settings could point the server elsewhere: only ours go through.
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISTACK_")}
    env["VISTACK_IDENTITY_BCRYPT_ROUNDS"] = "4"
    env["VISTACK_SERVER_ACCESS_LOG"] = "false"
    env.update(settings or {})  # the bench's own choices (e.g. VISTACK_NETWORK_BACKEND)
    port = free_port()
    command = [*vistack_command(), "up", "--data-dir", str(data_dir), "--bind", f"127.0.0.1:{port}"]
    log(f"starting: {' '.join(command)}")
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
    try:
        url = wait_ready(process, stdout_path, stderr_path, timeout)
        log(f"server pid {process.pid} ready at {url}")
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise BenchError(f"only plain http:// endpoints are supported, got {url!r}")
        document = yaml.safe_load((data_dir / "clouds.yaml").read_text())
        try:
            admin = dict(document["clouds"][ADMIN_CLOUD]["auth"])
        except (KeyError, TypeError) as exc:
            raise BenchError(f"clouds.yaml has no cloud {ADMIN_CLOUD!r}: {exc}") from exc
        yield RunningVistack(parts.hostname, parts.port or 80, process.pid, data_dir, admin)
    finally:
        stop(process, stderr_path)
        # Edge mode leaves the data plane up on purpose; a bench's must not outlive it.
        subprocess.run(
            [*vistack_command(), "edge", "teardown", "--data-dir", str(data_dir)],
            capture_output=True,
            check=False,
        )
