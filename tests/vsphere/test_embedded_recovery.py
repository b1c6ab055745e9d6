"""`vistack up` with its embedded vCenter: a killed simulator comes back and vistack recovers.

Acceptance: kill the simulator while vistack runs; it is started again, the session reconnects
by itself, the outage shows in the log and in `vistack vcenter check`, and nothing of vistack's
own state (here: a token and a project) is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningCloud, start_cloud, stop_cloud

VISTACK = Path(sys.executable).parent / "vistack"


def _admin_token(cloud: RunningCloud) -> tuple[str, str]:
    auth: Any = cloud.cloud("vistack-admin")["auth"]
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": auth["username"],
                        "password": auth["password"],
                        "domain": {"name": "Default"},
                    }
                },
            },
            "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}},
        }
    }
    response = httpx.post(f"{cloud.url}/auth/tokens", json=body, timeout=30)
    assert response.status_code == 201, response.text
    project_id: str = response.json()["token"]["project"]["id"]
    return response.headers["X-Subject-Token"], project_id


def _check(data_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(VISTACK), "vcenter", "check", "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _simulator_pid(data_dir: Path) -> int:
    pid: int = json.loads((data_dir / "vcenter.json").read_text())["pid"]
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def cloud(tmp_path: Path) -> Any:
    running = start_cloud(tmp_path / "data")
    yield running
    if running.process.poll() is None:
        stop_cloud(running)


def test_killed_simulator_is_restarted_and_vistack_reconnects(cloud: RunningCloud) -> None:
    token, _project = _admin_token(cloud)
    before = _check(cloud.data_dir)
    assert before["ok"] is True
    first_pid = _simulator_pid(cloud.data_dir)

    os.kill(first_pid, signal.SIGKILL)

    deadline = time.monotonic() + 60
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = _check(cloud.data_dir)
        health = report["vcenters"][0].get("cloud_health") or {} if report.get("ok") else {}
        if health.get("state") == "connected" and health.get("outages"):
            break
        time.sleep(0.5)
    assert health.get("state") == "connected", health
    assert health["outages"][-1]["up_at"] >= health["outages"][-1]["down_at"]
    assert _simulator_pid(cloud.data_dir) != first_pid
    assert report["vcenters"][0]["clusters"], "inventory re-read after the restart"

    # vistack's own state survived: the token issued before the outage still validates.
    check = httpx.get(
        f"{cloud.url}/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=30,
    )
    assert check.status_code == 200

    assert stop_cloud(cloud) == 0
    log = (cloud.data_dir.parent / f"{cloud.data_dir.name}-vistack.log").read_text()
    assert "exited unexpectedly" in log
    assert "unreachable" in log and "reconnected" in log


def test_simulator_does_not_outlive_a_killed_vistack(cloud: RunningCloud) -> None:
    pid = _simulator_pid(cloud.data_dir)
    cloud.process.kill()
    cloud.process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the embedded vCenter was orphaned"
