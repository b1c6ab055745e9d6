"""Neutron's "Get Me A Network" and Nova's `networks: auto` with the real `openstack` CLI
against `vistack up` in the edge network mode (routers exist there only; docs/network.md).

One story on the session's cloud: without a default external network the dry run fails with
Neutron's message; the administrator then provides the default external network and the
default subnet pool; the demo project's dry run passes and its topology is made (network,
subnet from the pool, router with its gateway and interface) and shown again unchanged; a new
project with no network boots a server with `--nic auto`, which makes Nova ask for that
project's topology (so the server's network is the one `topology create` then answers, and its
NIC in vCenter is on that network's port group); deleting the server and the topologies
removes everything. The polling goes over the SDK, not over CLI processes.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.connection
import pytest

from tests.clients.compute_story import vmdk_image
from tests.clients.test_cli import password_cloud, run, run_json, unique, write_clouds
from tests.conftest import RunningCloud
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.networks import VSphereNetworks
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients

POOL_PREFIX = "10.97.0.0/16"
TOPOLOGY = ("network", "auto", "allocated", "topology")
DEMO = "vistack-demo"


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[tuple[VSphereCompute, VSphereNetworks]]:
    """The compute and network drivers on one session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        lookup = Lookup(endpoint.datacenter)
        yield VSphereCompute(session, lookup), VSphereNetworks(session, lookup)


def topology_create(cloud: RunningCloud, *options: str, **kwargs: Any) -> dict[str, Any]:
    answer: dict[str, Any] = run_json(cloud, *TOPOLOGY, "create", *options, **kwargs)
    return answer


def in_pool(address: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(POOL_PREFIX)


def test_auto_allocated_topology_and_nova_auto_story(
    running_cloud: RunningCloud,
    admin: openstack.connection.Connection,
    vcenter: tuple[VSphereCompute, VSphereNetworks],
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    if admin.network.find_extension("auto-allocated-topology") is None:
        pytest.skip("this host runs the dvs backend (the edge backend needs root, ip, nft)")
    assert not list(admin.network.networks(is_default=True)), "a default external net exists"
    stray = [n.id for n in admin.network.networks(shared=True) if not n.is_router_external]
    assert not stray, f"shared networks would be taken by networks=auto: {stray}"

    refused = run(cloud, *TOPOLOGY, "create", "--check-resources", os_cloud=DEMO, check=False)
    assert refused.returncode != 0
    assert "No default router:external network" in refused.stderr, refused.stderr

    # A project with no network of its own, for Nova's `auto`.
    identity: Any = admin.identity  # openstacksdk types it as a v2 | v3 union
    project = identity.create_project(name=unique("gman"))
    password = "Pa55-" + uuid.uuid4().hex
    user = identity.create_user(name=unique("gman"), password=password)
    identity.assign_project_role_to_user(project, user, identity.find_role("member"))
    fresh = write_clouds(
        tmp_path / "clouds.yaml", "fresh", password_cloud(cloud, user.name, password, project.name)
    )
    as_fresh: dict[str, Any] = {"os_cloud": "fresh", "config": fresh}
    made: dict[str, str] = {}
    try:
        external = run_json(cloud, "network", "create", "--external", "--default", unique("pub"))
        made["external"] = external["id"]
        assert external["is_default"] is True and external["router:external"] is True
        run(
            cloud, "subnet", "create", "--network", external["id"], "--subnet-range",
            "203.0.113.0/24", "--no-dhcp", unique("pub-subnet"),
        )  # fmt: skip
        pool = run_json(
            cloud, "subnet", "pool", "create", "--share", "--default", "--pool-prefix",
            POOL_PREFIX, "--default-prefix-length", "26", unique("default-v4"),
        )  # fmt: skip
        made["pool"] = pool["id"]
        assert pool["is_default"] is True
        made["image"] = vmdk_image(cloud, tmp_path, public=True)["id"]

        demo_story(cloud, external["id"], pool["id"])
        nova_story(cloud, admin, vcenter, made["image"], as_fresh, project.id)
    finally:
        demo_project = identity.find_project("demo")
        cleanup(admin, made, [project.id] + ([demo_project.id] if demo_project else []))
        identity.delete_user(user)
        identity.delete_project(project)


def demo_story(cloud: RunningCloud, external_id: str, pool_id: str) -> None:
    """The demo project asks for its topology with the CLI and sees what was made."""
    # Passing is the exit status: OSC 10.5 fills its `dry_run` column from an attribute it
    # never sets, so it prints null for Neutron's (and our) `{"id": "dry-run=pass"}` too.
    assert topology_create(cloud, "--check-resources", os_cloud=DEMO) == {"dry_run": None}
    topology = topology_create(cloud, os_cloud=DEMO)
    network_id = topology["id"]

    networks = {n["ID"]: n for n in run_json(cloud, "network", "list", os_cloud=DEMO)}
    assert networks[network_id]["Name"] == "auto_allocated_network"
    [subnet_id] = networks[network_id]["Subnets"]
    subnet = run_json(cloud, "subnet", "show", subnet_id, os_cloud=DEMO)
    assert subnet["subnetpool_id"] == pool_id and subnet["name"] == "auto_allocated_subnet_v4"
    cidr = ipaddress.IPv4Network(subnet["cidr"])
    assert cidr.prefixlen == 26 and cidr.subnet_of(ipaddress.IPv4Network(POOL_PREFIX))

    router = run_json(cloud, "router", "show", "auto_allocated_router", os_cloud=DEMO)
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == external_id
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith("203.0.113.")
    ports = run_json(cloud, "port", "list", "--router", router["id"], os_cloud=DEMO)
    addresses = {ip["ip_address"] for p in ports for ip in p["Fixed IP Addresses"]}
    assert subnet["gateway_ip"] in addresses, ports

    again = topology_create(cloud, "--or-show", os_cloud=DEMO)
    assert again["id"] == network_id
    run(cloud, *TOPOLOGY, "delete", os_cloud=DEMO)
    remaining = {n["ID"] for n in run_json(cloud, "network", "list", os_cloud=DEMO)}
    assert network_id not in remaining
    refused = run(cloud, "router", "show", router["id"], os_cloud=DEMO, check=False)
    assert refused.returncode != 0 and "No Router found" in refused.stderr, refused.stderr


def nova_story(
    cloud: RunningCloud,
    admin: openstack.connection.Connection,
    vcenter: tuple[VSphereCompute, VSphereNetworks],
    image_id: str,
    as_fresh: dict[str, Any],
    project_id: str,
) -> None:
    """`server create --nic auto` in a project without networks makes its topology."""
    created = run_json(
        cloud, "--os-compute-api-version", "2.37", "server", "create", "--image", image_id,
        "--flavor", "m1.tiny", "--nic", "auto", unique("auto"), **as_fresh,
    )  # fmt: skip
    server = admin.compute.wait_for_server(
        admin.compute.get_server(created["id"]), wait=60, interval=0.5
    )
    [port] = list(admin.network.ports(device_id=server.id))
    network = admin.network.get_network(port.network_id)
    assert network.name == "auto_allocated_network" and network.project_id == project_id
    assert in_pool(port.fixed_ips[0]["ip_address"])
    assert port.binding_vif_type and port.binding_host_id, port

    # Nova made the topology: the project's `topology create` answers the server's network.
    assert topology_create(cloud, **as_fresh)["id"] == network.id
    compute, networks = vcenter
    groups = {pg.name: pg.key for pg in networks.list_portgroups()}
    [nic] = compute.get_vm(server.id).nics
    assert nic.mac == port.mac_address and nic.portgroup == groups[f"vistack-{network.id}"]

    refused = run(cloud, *TOPOLOGY, "delete", check=False, **as_fresh)
    assert refused.returncode != 0, refused.stdout
    assert "ports still in use on the network" in refused.stderr, refused.stderr
    assert admin.network.get_network(network.id).id == network.id  # nothing was removed
    admin.compute.delete_server(server)
    admin.compute.wait_for_delete(server, wait=60, interval=0.5)
    run(cloud, *TOPOLOGY, "delete", **as_fresh)
    assert admin.network.find_network(network.id) is None
    assert not list(admin.network.routers(project_id=project_id))
    assert not list(admin.network.subnets(project_id=project_id))


def cleanup(
    admin: openstack.connection.Connection, made: dict[str, str], projects: list[str]
) -> None:
    """What the story made, removed over the SDK (also after a failed step: a topology left
    behind would hold the pool and the external network)."""
    for server in admin.compute.servers(all_projects=True, project_id=projects[0]):
        admin.compute.delete_server(server)
        admin.compute.wait_for_delete(server, wait=60, interval=0.5)
    for project_id in projects:
        admin.network.delete_auto_allocated_topology(project_id)
    if "pool" in made:
        admin.network.delete_subnet_pool(made["pool"], ignore_missing=True)
    if "external" in made:
        for subnet in admin.network.subnets(network_id=made["external"]):
            admin.network.delete_subnet(subnet, ignore_missing=True)
        admin.network.delete_network(made["external"], ignore_missing=True)
    if "image" in made:
        admin.image.delete_image(made["image"], ignore_missing=True)
