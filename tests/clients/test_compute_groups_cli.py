"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a server group with the
anti-affinity policy, servers created into it with `--hint group=...`, and the DRS
anti-affinity rule read straight from the cluster's configuration with pyVmomi, as an operator
sees it in vCenter; then suspend / resume, and pause refused naming suspend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.compute_story import network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.drivers.models import PowerState
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.vmomi import vim

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[tuple[VCenterSession, Lookup]]:
    """Our own session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield session, Lookup(endpoint.datacenter)


def drs_rules(session: VCenterSession, lookup: Lookup) -> dict[str, dict[str, Any]]:
    """Every VM-VM rule of every cluster, from `configurationEx.rule`: name → facts."""

    def read(client: Client) -> dict[str, dict[str, Any]]:
        collector = client.content.propertyCollector
        found: dict[str, dict[str, Any]] = {}
        for name, ref in lookup.clusters(client).items():
            obj = client.moref("ClusterComputeResource", ref.moref)
            spec = vim.PropertyCollector.FilterSpec(
                objectSet=[vim.PropertyCollector.ObjectSpec(obj=obj)],
                propSet=[
                    vim.PropertyCollector.PropertySpec(
                        type=vim.ClusterComputeResource, pathSet=["configurationEx"]
                    )
                ],
            )
            (content,) = collector.RetrieveContents([spec])
            for rule in content.propSet[0].val.rule or ():
                found[rule.name] = {
                    "cluster": name,
                    "anti": isinstance(rule, vim.cluster.AntiAffinityRuleSpec),
                    "enabled": bool(rule.enabled),
                    "mandatory": bool(rule.mandatory),
                    "vms": sorted(_instance_uuid(client, vm) for vm in rule.vm or ()),
                }
        return found

    result: dict[str, dict[str, Any]] = session.call(read)
    return result


def _instance_uuid(client: Client, vm: Any) -> str:
    spec = vim.PropertyCollector.FilterSpec(
        objectSet=[vim.PropertyCollector.ObjectSpec(obj=vm)],
        propSet=[
            vim.PropertyCollector.PropertySpec(
                type=vim.VirtualMachine, pathSet=["config.instanceUuid"]
            )
        ],
    )
    (content,) = client.content.propertyCollector.RetrieveContents([spec])
    return str(content.propSet[0].val)


def test_anti_affinity_group_is_a_drs_rule_in_vcenter(
    running_cloud: RunningCloud, vcenter: tuple[VCenterSession, Lookup], tmp_path: Path
) -> None:
    cloud = running_cloud
    session, lookup = vcenter
    compute = VSphereCompute(session, lookup)
    image = vmdk_image(cloud, tmp_path, public=True)
    network = network_with_subnet(cloud, "10.93.0.0/24")
    group = run_json(cloud, "server", "group", "create", "--policy", "anti-affinity", unique("g"))
    assert "anti-affinity" in str(group.get("policy", group.get("policies"))), group
    servers = []
    for _ in range(3):  # two clusters: the third member shares one, under the DRS rule
        server = run_json(
            cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
            "--network", network, "--hint", f"group={group['id']}", "--wait", unique("m"),
        )  # fmt: skip
        assert server["status"] == "ACTIVE", server
        servers.append(server["id"])
    clusters = {s: compute.get_vm(s).cluster for s in servers}
    assert len(set(clusters.values())) == 2, clusters
    shown = run_json(cloud, "server", "group", "show", group["id"])
    assert sorted(_ids(shown["members"])) == sorted(servers)

    rule = drs_rules(session, lookup)[f"vistack-{group['id']}"]
    shared = [s for s in servers if clusters[s] == rule["cluster"]]
    assert rule == {
        "cluster": rule["cluster"],
        "anti": True,
        "enabled": True,
        "mandatory": True,
        "vms": sorted(shared),
    }
    assert len(shared) == 2

    # Suspend and resume one member; pause is refused naming suspend.
    run(cloud, "server", "suspend", shared[0])
    _wait(cloud, shared[0], "SUSPENDED")
    assert compute.get_vm(shared[0]).power_state is PowerState.SUSPENDED
    run(cloud, "server", "resume", shared[0])
    _wait(cloud, shared[0], "ACTIVE")
    assert compute.get_vm(shared[0]).power_state is PowerState.ON
    refused = run(cloud, "server", "pause", shared[0], check=False)
    assert refused.returncode != 0 and "suspend" in refused.stderr

    # A member leaves: the rule needs two VMs, so it is removed from the cluster.
    run(cloud, "server", "delete", "--wait", shared[1])
    assert f"vistack-{group['id']}" not in drs_rules(session, lookup)
    run(cloud, "server", "group", "delete", group["id"])
    for server_id in servers:
        if server_id != shared[1]:
            run(cloud, "server", "delete", "--wait", server_id)
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)


def _ids(members: Any) -> list[str]:
    """The CLI shows members as a list, or as one comma-separated string."""
    if isinstance(members, list):
        return [str(m) for m in members]
    return [m.strip() for m in str(members).split(",") if m.strip()]


def _wait(cloud: RunningCloud, server_id: str, status: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if run_json(cloud, "server", "show", server_id)["status"] == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"server {server_id} never reached {status}")
