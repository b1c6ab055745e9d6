"""The real `openstack` CLI against `vistack up` on the embedded vCenter: a network is a
distributed port group in the simulator, with its VLAN, from create to delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud, start_cloud, stop_cloud
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
    # .2 is the first address, unless the edge backend's DHCP port took it first.
    assert fixed[0]["ip_address"] in {"10.77.0.2", "10.77.0.3"}
    assert fixed[0]["subnet_id"] == subnet["id"]

    listed = run_json(cloud, "port", "list", "--network", name, "--long")
    assert [p["ID"] for p in listed if p["Device Owner"] != "network:dhcp"] == [port["id"]]

    refused = run(cloud, "network", "delete", name, check=False)
    assert refused.returncode != 0
    assert "ports still in use" in refused.stderr, refused.stderr
    assert f"vistack-{network['id']}" in portgroup_vlans(vcenter_networks)

    run(cloud, "port", "delete", port["id"])
    run(cloud, "subnet", "delete", subnet["id"])
    run(cloud, "network", "delete", name)
    assert f"vistack-{network['id']}" not in portgroup_vlans(vcenter_networks)
    assert name not in {n["Name"] for n in run_json(cloud, "network", "list")}


@pytest.fixture(scope="module")
def dvs_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """A second `vistack up`, with the L2-only `dvs` backend chosen explicitly."""
    data_dir = tmp_path_factory.mktemp("dvs-cloud") / "data"
    cloud = start_cloud(data_dir, {"VISTACK_NETWORK_BACKEND": "dvs"})
    yield cloud
    stop_cloud(cloud)


def test_l3_is_refused_in_dvs_mode_and_nothing_is_created(dvs_cloud: RunningCloud) -> None:
    extensions = {e["Alias"] for e in run_json(dvs_cloud, "extension", "list", "--network")}
    assert "router" not in extensions and "external-net" in extensions
    refused = run(dvs_cloud, "router", "create", unique("router"), check=False)
    assert refused.returncode != 0
    assert "no L3" in refused.stderr, refused.stderr
    external = unique("ext")
    run_json(dvs_cloud, "network", "create", "--external", external)
    refused = run(dvs_cloud, "floating", "ip", "create", external, check=False)
    assert refused.returncode != 0
    assert "no L3" in refused.stderr, refused.stderr
    ports = run_json(dvs_cloud, "port", "list", "--network", external)
    assert ports == [], "a refused floating IP left no port behind"


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


def is_edge(cloud: RunningCloud) -> bool:
    return "router" in {e["Alias"] for e in run_json(cloud, "extension", "list", "--network")}


def test_edge_cli_story(running_cloud: RunningCloud, vcenter_networks: VSphereNetworks) -> None:
    """Acceptance 1 with the real CLI: network, subnet, port, security group rule, router with
    a subnet and an external gateway, a floating IP set on the port; every network a port group
    with its VLAN in the embedded vCenter; then everything removed again."""
    cloud = running_cloud
    if not is_edge(cloud):
        pytest.skip("this host runs the dvs backend (the edge backend needs root, ip, nft)")
    external = run_json(cloud, "network", "create", "--external", unique("public"))
    ext_subnet = run_json(
        cloud, "subnet", "create", "--network", external["id"], "--subnet-range",
        "198.51.100.0/24", "--no-dhcp", unique("public-subnet"),
    )  # fmt: skip
    tenant = run_json(cloud, "network", "create", unique("private"))
    subnet = run_json(
        cloud, "subnet", "create", "--network", tenant["id"], "--subnet-range", "10.79.0.0/24",
        unique("private-subnet"),
    )  # fmt: skip
    vlans = portgroup_vlans(vcenter_networks)
    for network in (external, tenant):
        assert vlans[f"vistack-{network['id']}"] == network["provider:segmentation_id"]

    group = run_json(cloud, "security", "group", "create", unique("web"))
    rule = run_json(
        cloud, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80",
        group["id"],
    )  # fmt: skip
    assert rule["port_range_min"] == 80
    port = run_json(
        cloud, "port", "create", "--network", tenant["id"], "--security-group", group["id"],
        unique("web-port"),
    )  # fmt: skip

    router = run_json(cloud, "router", "create", unique("router"))
    run(cloud, "router", "add", "subnet", router["id"], subnet["id"])
    run(cloud, "router", "set", "--external-gateway", external["id"], router["id"])
    shown = run_json(cloud, "router", "show", router["id"])
    gateway = shown["external_gateway_info"]
    assert gateway["network_id"] == external["id"] and gateway["enable_snat"] is True
    gateway_ip = gateway["external_fixed_ips"][0]["ip_address"]
    assert gateway_ip.startswith("198.51.100.")
    interfaces = run_json(
        cloud, "port", "list", "--router", router["id"], "--device-owner",
        "network:router_interface",
    )  # fmt: skip
    assert [p["Fixed IP Addresses"][0]["ip_address"] for p in interfaces] == ["10.79.0.1"]

    fip = run_json(cloud, "floating", "ip", "create", external["id"])
    assert fip["floating_ip_address"].startswith("198.51.100.")
    assert fip["status"] == "DOWN" and fip["port_id"] is None
    run(cloud, "floating", "ip", "set", "--port", port["id"], fip["id"])
    associated = run_json(cloud, "floating", "ip", "show", fip["id"])
    assert associated["port_id"] == port["id"]
    assert associated["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert associated["router_id"] == router["id"]

    refused = run(cloud, "router", "delete", router["id"], check=False)
    assert refused.returncode != 0 and "still has ports" in refused.stderr, refused.stderr

    run(cloud, "floating", "ip", "delete", fip["id"])
    run(cloud, "router", "remove", "subnet", router["id"], subnet["id"])
    run(cloud, "router", "delete", router["id"])
    run(cloud, "port", "delete", port["id"])
    run(cloud, "security", "group", "delete", group["id"])
    run(cloud, "subnet", "delete", subnet["id"], ext_subnet["id"])
    run(cloud, "network", "delete", tenant["id"], external["id"])
    vlans = portgroup_vlans(vcenter_networks)
    assert f"vistack-{tenant['id']}" not in vlans and f"vistack-{external['id']}" not in vlans
