"""Fixtures shared by every test suite.

- `cloud_settings`: settings for a fresh cloud in a temporary data dir (bcrypt cost 4: the cost
  is a setting, and tests that measure nothing need not pay 0.3 s per password).
- `database_url`: SQLite by default; the API suite also runs against a real MariaDB and
  PostgreSQL (`tests/api/conftest.py`), creating a throw-away database per test module.
- `running_cloud`: a real `vistack up` subprocess on a free port, for the CLI, SDK and Tempest.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from vistack.config import Settings, load_settings
from vistack.network.dataplane.sync import teardown_state_dir

ROOT = Path(__file__).resolve().parent.parent
VISTACK = Path(sys.executable).parent / "vistack"

#: Suites whose tests each take tens of seconds (real `vistack up` processes driven by the
#: CLI, the SDK and Tempest): collected first, so pytest-xdist hands them out while every
#: worker is still busy, and the short tests fill the end of the run instead of one worker
#: finishing a queue of long ones alone.
SLOW_FIRST = ("tests/clients/",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (stable: each module's tests keep their order and stay together)."""

    def slow(item: pytest.Item) -> bool:
        path = Path(str(item.path)).resolve()
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else ""
        return relative.startswith(SLOW_FIRST)

    items.sort(key=lambda item: not slow(item))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(data_dir: Path, database_url: str = "") -> Settings:
    settings = load_settings(env={}, data_dir=str(data_dir), bind=f"127.0.0.1:{free_port()}")
    settings.database.url = database_url
    settings.identity.bcrypt_rounds = 4
    settings.server.access_log = False
    return settings


@pytest.fixture
def cloud_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@dataclass
class RunningCloud:
    """A `vistack up` subprocess and the files it wrote."""

    data_dir: Path
    url: str
    process: subprocess.Popen[str]

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def cloud(self, name: str) -> dict[str, object]:
        document = yaml.safe_load(self.clouds_yaml.read_text())
        cloud: dict[str, object] = document["clouds"][name]
        return cloud

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        for key in [k for k in env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
            del env[key]
        return env


def start_cloud(
    data_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 60
) -> RunningCloud:
    """Start `vistack up` and wait for its ready line."""
    port = free_port()
    env = dict(os.environ)
    env.setdefault("VISTACK_IDENTITY_BCRYPT_ROUNDS", "4")
    env.update(extra_env or {})
    log = open(data_dir.parent / f"{data_dir.name}-vistack.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VISTACK), "up", "--data-dir", str(data_dir), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("vistack ready: "):
            return RunningCloud(data_dir, line.split(": ", 1)[1].strip(), process)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"vistack up did not become ready; see {log.name}")


def stop_cloud(cloud: RunningCloud) -> int:
    """SIGTERM, then remove its edge data plane (which `vistack up` leaves running on purpose)."""
    cloud.process.send_signal(signal.SIGTERM)
    try:
        return cloud.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cloud.process.kill()
        raise
    finally:
        teardown_state_dir(cloud.data_dir / "edge")


@pytest.fixture(scope="session")
def running_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("cloud") / "data")
    yield cloud
    stop_cloud(cloud)
