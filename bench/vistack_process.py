"""Running `vistack up` for a benchmark: start it on a free port, wait for its ready line, stop
it. Shared by the benchmarks that measure a real server process (identity, image), so each of
them times the same thing the same way."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

READY_PREFIX = "vistack ready: "


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
