"""Tempest's identity, image, network and compute smoke tests against a private `vistack up`,
via the harness.

Runs tools/tempest/run_tempest.py exactly as `make tempest` does (with `--smoke`), in its own
workspace, and reads the JSON summary it writes. The first run builds `.tempest-venv` (about a
minute); later runs reuse it. Select with `pytest -m tempest`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = REPO_ROOT / "tools" / "tempest" / "run_tempest.py"


@pytest.mark.tempest
def test_tempest_smoke(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    command = [
        sys.executable,
        str(RUNNER),
        "--smoke",
        "--work-dir",
        str(tmp_path / "work"),
        "--summary-json",
        str(summary_path),
    ]
    proc = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    output = f"--- stdout ---\n{proc.stdout[-12000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    if not summary_path.is_file():
        pytest.fail(f"run_tempest.py exited {proc.returncode} and wrote no summary\n{output}")

    summary = json.loads(summary_path.read_text())
    services = summary["services"]
    failures = "\n".join(f"{test}\n    -> {why}" for test, why in summary["failed"].items())
    if proc.returncode != 0 or any(services[name]["failed"] for name in services):
        pytest.fail(
            f"run_tempest.py exited {proc.returncode}; {services}\n{failures}\n"
            f"(full Tempest output: {tmp_path / 'work' / 'logs'} and the run's stdout)"
        )
    for name in ("identity", "image"):
        assert services[name]["passed"] > 0, f"no {name} smoke test passed: {services}\n{output}"
