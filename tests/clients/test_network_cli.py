"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a network is a
distributed port group in the simulator, with its VLAN, from create to delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.networks import VSphereNetworks
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter_networks(running_cloud: RunningCloud) -> Iterator[VSphereNetworks]:
    """The network driver on its own session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield VSphereNetworks(session, Lookup(endpoint.datacenter))


def portgroup_vlans(networks: VSphereNetworks) -> dict[str, int]:
    return {pg.name: pg.vlan_id for pg in networks.list_portgroups()}


def test_network_subnet_port_lifecycle(
    running_cloud: RunningCloud, vcenter_networks: VSphereNetworks
) -> None:
    cloud = running_cloud
    name = unique("net")
    network = run_json(cloud, "network", "create", name)
    assert network["name"] == name and network["status"] == "ACTIVE"
    vlan = network["provider:segmentation_id"]
    assert isinstance(vlan, int) and 100 <= vlan <= 3999
    assert portgroup_vlans(vcenter_networks)[f"vistack-{network['id']}"] == vlan

    subnet = run_json(
        cloud, "subnet", "create", "--network", name, "--subnet-range", "10.77.0.0/24",
        unique("subnet"),
    )  # fmt: skip
    assert subnet["cidr"] == "10.77.0.0/24" and subnet["gateway_ip"] == "10.77.0.1"

    port = run_json(cloud, "port", "create", "--network", name, unique("port"))
    assert port["status"] == "DOWN"
    assert port["mac_address"].startswith("fa:16:3e:")
    fixed = port["fixed_ips"]
    assert fixed[0]["ip_address"] == "10.77.0.2" and fixed[0]["subnet_id"] == subnet["id"]

    listed = run_json(cloud, "port", "list", "--network", name)
    assert [p["ID"] for p in listed] == [port["id"]]

    refused = run(cloud, "network", "delete", name, check=False)
    assert refused.returncode != 0
    assert "ports still in use" in refused.stderr, refused.stderr
    assert f"vistack-{network['id']}" in portgroup_vlans(vcenter_networks)

    run(cloud, "port", "delete", port["id"])
    run(cloud, "subnet", "delete", subnet["id"])
    run(cloud, "network", "delete", name)
    assert f"vistack-{network['id']}" not in portgroup_vlans(vcenter_networks)
    assert name not in {n["Name"] for n in run_json(cloud, "network", "list")}


def test_routers_are_refused_in_dvs_mode(running_cloud: RunningCloud) -> None:
    refused = run(running_cloud, "router", "create", unique("router"), check=False)
    assert refused.returncode != 0
    assert "no L3" in refused.stderr, refused.stderr


def test_security_group_rule_and_port(running_cloud: RunningCloud) -> None:
    """`security group create`, a `--dst-port 22` rule (a duplicate refused), and a port
    created with the group; the group cannot go while the port uses it."""
    cloud = running_cloud
    name = unique("sg")
    group = run_json(cloud, "security", "group", "create", name, "--description", "ssh")
    assert group["name"] == name and group["description"] == "ssh"
    assert group["stateful"] is True

    rule_args = ("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22")
    rule = run_json(cloud, *rule_args, name)
    assert rule["protocol"] == "tcp" and rule["direction"] == "ingress"
    assert rule["port_range_min"] == 22 and rule["port_range_max"] == 22
    assert rule["security_group_id"] == group["id"]
    duplicate = run(cloud, *rule_args, name, check=False)
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr, duplicate.stderr
    listed = run_json(cloud, "security", "group", "rule", "list", name)
    assert rule["id"] in {r["ID"] for r in listed}

    network = unique("net")
    run_json(cloud, "network", "create", network)
    run_json(
        cloud, "subnet", "create", "--network", network, "--subnet-range", "10.78.0.0/24",
        unique("subnet"),
    )  # fmt: skip
    port = run_json(
        cloud, "port", "create", "--network", network, "--security-group", name, unique("port")
    )
    assert port["security_group_ids"] == [group["id"]]
    plain = run_json(cloud, "port", "create", "--network", network, unique("port"))
    defaults = run_json(cloud, "security", "group", "list", "--project", "admin")
    default_ids = {g["ID"] for g in defaults if g["Name"] == "default"}
    assert plain["security_group_ids"] and set(plain["security_group_ids"]) <= default_ids

    refused = run(cloud, "security", "group", "delete", name, check=False)
    assert refused.returncode != 0
    assert "in use" in refused.stderr, refused.stderr
    run(cloud, "port", "delete", port["id"], plain["id"])
    run(cloud, "security", "group", "delete", name)
    run(cloud, "network", "delete", network)
    assert name not in {g["Name"] for g in run_json(cloud, "security", "group", "list")}
