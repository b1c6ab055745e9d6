"""`vistack vcenter check` through the real command line, and the embedded vCenter's files."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.vsphere.conftest import SMALL, StartVcsim
from vistack.config import load_settings
from vistack.vsphere.check import inventory_problems
from vistack.vsphere.embedded import ENDPOINT_FILE, EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.inventory import ClusterInfo, InventorySnapshot
from vistack.vsphere.runtime import HEALTH_FILE, start_vsphere

VISTACK = Path(sys.executable).parent / "vistack"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VISTACK), "vcenter", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("VISTACK_")},
    )


def write_config(path: Path, endpoint: VCenterEndpoint, **overrides: object) -> Path:
    options: dict[str, object] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "protocol": endpoint.protocol,
        "username": endpoint.username,
        "password": endpoint.password,
    }
    options.update(overrides)
    lines = ["[vcenter]"] + [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vistack: error: ")
    assert text in lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_endpoint_file_is_private_and_removed_on_stop(vcsim: EmbeddedVCenter) -> None:
    path = vcsim.data_dir / ENDPOINT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["endpoint"]["password"] == vcsim.endpoint.password  # type: ignore[union-attr]
    assert document["inventory"]["clusters"] == ["DC0_C0", "DC0_C1"]


def test_check_json_through_the_data_dir(vcsim: EmbeddedVCenter) -> None:
    result = run_check("--json", "--data-dir", str(vcsim.data_dir))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    (report,) = document["vcenters"]
    assert report["about"]["api_type"] == "VirtualCenter"
    assert report["datacenter"] == "DC0"
    clusters = {c["name"]: c for c in report["clusters"]}
    assert set(clusters) == {"DC0_C0", "DC0_C1"}
    cluster = clusters["DC0_C0"]
    assert cluster["drs_enabled"] is True
    assert cluster["cpu_mhz"]["total"] == 2 * 32 * 2600
    assert 0 < cluster["cpu_mhz"]["free"] <= cluster["cpu_mhz"]["total"]
    assert cluster["memory_mb"]["total"] == 2 * 256 * 1024
    assert [h["cpu_cores"] for h in cluster["hosts"]] == [32, 32]
    datastores = {d["name"]: d for d in report["datastores"]}
    assert set(datastores) == {"LocalDS_0", "LocalDS_1"}
    assert datastores["LocalDS_0"]["clusters"] == ["DC0_C0", "DC0_C1"]
    assert datastores["LocalDS_0"]["capacity_bytes"] >= datastores["LocalDS_0"]["free_bytes"] > 0
    (switch,) = report["distributed_switches"]
    assert switch["name"] == "DVS0" and switch["hosts"] == 4
    portgroups = {p["name"]: p for p in switch["portgroups"]}
    assert portgroups["DC0_DVPG0"]["vlan"] == "0"
    assert report["problems"] == []


def test_check_text_through_a_config_file(vcsim: EmbeddedVCenter, tmp_path: Path) -> None:
    assert vcsim.endpoint is not None
    config = write_config(tmp_path / "vistack.toml", vcsim.endpoint)
    result = run_check("--config", str(config), "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 0, result.stderr
    assert "DC0_C0: DRS on, 2 hosts" in result.stdout
    assert "DC0_DVPG0: VLAN 0" in result.stdout
    assert result.stdout.strip().endswith("OK")


def test_wrong_password(vcsim: EmbeddedVCenter, tmp_path: Path) -> None:
    assert vcsim.endpoint is not None
    config = write_config(tmp_path / "vistack.toml", vcsim.endpoint, password="wrong")
    result = run_check("--config", str(config), "--data-dir", str(tmp_path / "empty"))
    assert_one_line_error(result, "wrong user name or password")


def test_unreachable(tmp_path: Path) -> None:
    endpoint = VCenterEndpoint(host="127.0.0.1", port=9, username="u", password="p")
    config = write_config(tmp_path / "vistack.toml", endpoint, connect_timeout=2)
    result = run_check("--json", "--config", str(config), "--data-dir", str(tmp_path / "empty"))
    assert_one_line_error(result, "127.0.0.1:9 is unreachable")
    assert json.loads(result.stdout)["error"]["kind"] == "TransientError"


def test_tls_mismatch_shows_the_thumbprint(start_vcsim: StartVcsim, tmp_path: Path) -> None:
    vcsim = start_vcsim(dataclasses.replace(SMALL, tls=True))
    assert vcsim.endpoint is not None
    thumbprint = vcsim.ready["thumbprint"]
    config = write_config(tmp_path / "vistack.toml", vcsim.endpoint)
    result = run_check("--json", "--config", str(config), "--data-dir", str(tmp_path / "empty"))
    line = assert_one_line_error(result, "TLS verification of vCenter default")
    assert thumbprint in line
    assert json.loads(result.stdout)["error"]["thumbprint"] == thumbprint
    # Pinning that thumbprint is accepted.
    config = write_config(tmp_path / "pinned.toml", vcsim.endpoint, thumbprint=thumbprint)
    result = run_check("--config", str(config), "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 0, result.stderr


def test_configured_cluster_missing_fails_with_report(
    vcsim: EmbeddedVCenter, tmp_path: Path
) -> None:
    assert vcsim.endpoint is not None
    config = write_config(tmp_path / "vistack.toml", vcsim.endpoint, clusters=["DC0_C0", "nope"])
    result = run_check("--config", str(config), "--data-dir", str(tmp_path / "empty"))
    assert_one_line_error(result, "configured cluster 'nope' does not exist")
    assert "DC0_C1 (not used)" in result.stdout


def test_no_vcenter_at_all(tmp_path: Path) -> None:
    result = run_check("--data-dir", str(tmp_path))
    assert_one_line_error(result, "no vCenter configured")


def test_cluster_without_drs_is_an_error() -> None:
    # The simulator always reports DRS enabled (its reconfigure ignores drsConfig).
    endpoint = VCenterEndpoint(host="vc", username="u", password="p")
    cluster = ClusterInfo(
        moref="domain-c1",
        name="C1",
        hosts=("host-1",),
        drs_enabled=False,
        total_cpu_mhz=1000,
        used_cpu_mhz=0,
        total_memory_mb=1024,
        used_memory_mb=0,
        num_cpu_cores=1,
        num_usable_hosts=1,
        datastores=(),
        managed=True,
    )
    snapshot = InventorySnapshot(vcenter="default", datacenter="DC", clusters=(cluster,))
    problems = {p.code: p for p in inventory_problems(endpoint, snapshot)}
    assert problems["drs_disabled"].severity == "error"
    assert "cluster C1 has DRS disabled" in problems["drs_disabled"].message


def test_start_vsphere_with_the_embedded_vcenter(launcher_binary: Path, tmp_path: Path) -> None:
    settings = load_settings(env={}, data_dir=str(tmp_path / "cloud"))
    settings.embedded_vcenter = dataclasses.replace(SMALL)
    runtime = start_vsphere(settings)
    try:
        assert runtime.embedded is not None
        assert runtime.inventory.snapshot().synced
        assert runtime.session.endpoint.zone == "nova"
        result = run_check("--json", "--data-dir", str(settings.data_path))
        assert result.returncode == 0, result.stderr
        (report,) = json.loads(result.stdout)["vcenters"]
        assert report["name"] == "embedded"
        assert report["cloud_health"]["state"] == "connected"
        assert (settings.data_path / HEALTH_FILE).exists()
    finally:
        runtime.close()
    assert not (settings.data_path / ENDPOINT_FILE).exists()
