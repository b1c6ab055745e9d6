"""A vistack crash in the middle of 20 builds: after the restart every server ends ACTIVE or
ERROR and every VM in vCenter belongs to an ACTIVE server (none orphaned, none missing).

The vCenter here is external to vistack (a simulator started by the test, with vCenter-like
task times so the builds are really in flight), because the embedded one restarts with
vistack and would forget the VMs.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.clients.compute_story import network_with_subnet, vmdk_image
from tests.clients.conftest import connect
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud, start_cloud, stop_cloud
from tests.contract.vcenter import embedded_vcenter
from vistack.config import EmbeddedVCenterSettings
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients

SERVERS = 20
#: Long enough that a crash finds builds at every step (20 builds take two rounds of 16, so
#: about four seconds), short enough for make test.
TASK_TIMES = "CloneVM_Task:1500,PowerOnVM_Task:200,ReconfigVM_Task:50"


def _env(endpoint: VCenterEndpoint) -> dict[str, str]:
    return {
        "VISTACK_VCENTER_HOST": endpoint.host,
        "VISTACK_VCENTER_PORT": str(endpoint.port),
        "VISTACK_VCENTER_USERNAME": endpoint.username,
        "VISTACK_VCENTER_PASSWORD": endpoint.password,
        "VISTACK_VCENTER_PROTOCOL": endpoint.protocol,
        "VISTACK_COMPUTE_QUOTA_INSTANCES": str(SERVERS),
        "VISTACK_COMPUTE_QUOTA_CORES": str(SERVERS),
    }


def _servers(cloud: RunningCloud) -> list[dict[str, Any]]:
    return list(run_json(cloud, "server", "list", "--long"))


def _statuses(cloud: RunningCloud) -> list[str]:
    """Server statuses through openstacksdk: a poll takes milliseconds, where a CLI start
    takes a second or more and could miss the whole build window on a fast machine."""
    conn = connect(cloud, "vistack-admin")
    try:
        return [server.status for server in conn.compute.servers()]
    finally:
        conn.close()


def _crash(cloud: RunningCloud) -> None:
    cloud.process.send_signal(signal.SIGKILL)
    cloud.process.wait(timeout=30)


def test_a_crash_during_twenty_builds_leaves_every_server_settled_and_every_vm_owned(
    tmp_path: Path,
) -> None:
    settings = EmbeddedVCenterSettings(method_delays=TASK_TIMES)
    with embedded_vcenter(settings) as endpoint:
        data_dir = tmp_path / "data"
        cloud = start_cloud(data_dir, _env(endpoint))
        try:
            image = vmdk_image(cloud, tmp_path)
            network = network_with_subnet(cloud, "10.93.0.0/24")
            run(
                cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
                "--network", network, "--min", str(SERVERS), "--max", str(SERVERS),
                unique("crash"),
            )  # fmt: skip
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # crash once some are built, not all
                statuses = _statuses(cloud)
                if "ACTIVE" in statuses:
                    break
                time.sleep(0.05)
            assert "BUILD" in statuses, statuses
            _crash(cloud)
        except BaseException:
            stop_cloud(cloud)
            raise
        cloud = start_cloud(data_dir, _env(endpoint))
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                servers = _servers(cloud)
                if all(s["Status"] in ("ACTIVE", "ERROR") for s in servers):
                    break
                time.sleep(1)
            assert len(servers) == SERVERS
            assert all(s["Status"] in ("ACTIVE", "ERROR") for s in servers), servers
            active = {s["ID"] for s in servers if s["Status"] == "ACTIVE"}
            with VCenterSession(endpoint, keepalive_seconds=0) as session:
                vcenter = VSphereCompute(session, Lookup(endpoint.datacenter))
                owned = {vm.instance_uuid for vm in vcenter.list_vms()}
                assert owned == active, (sorted(owned - active), sorted(active - owned))
                run(cloud, "server", "delete", "--wait", *(s["ID"] for s in servers))
                assert vcenter.list_vms() == []
        finally:
            stop_cloud(cloud)
