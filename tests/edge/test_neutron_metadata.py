"""169.254.169.254 through the Neutron API: an instance's metadata request reaches the compute
metadata service signed for *its* port's device (the instance id) and project.

An edge-mode cloud (SQLite, fake vCenter) programs this host; its metadata upstream is a
recording HTTP server. One instance sits behind a router, one on an isolated network (the DHCP
port answers there). Needs root, ip, nft, dnsmasq and busybox (skipped with the reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.edge.conftest import EdgeCloudApi, running_edge_cloud
from tests.edge.lab import UNAVAILABLE, Lab, needs_root
from tests.edge.test_metadata import Upstream, dhcp_instance, fetch, wget
from vistack.edge import names
from vistack.edge.metadata import sign
from vistack.network.dataplane.metadata import SECRET_FILE

pytestmark = needs_root

MAC_ROUTED = "fa:16:3e:6d:00:21"
MAC_ISOLATED = "fa:16:3e:6d:00:22"


def created(response: Any, key: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[key]
    return entity


def network_with_subnet(api: EdgeCloudApi, name: str, cidr: str) -> tuple[str, str]:
    network = created(api.post("/v2.0/networks", json={"network": {"name": name}}), "network")
    body = {"network_id": network["id"], "ip_version": 4, "cidr": cidr}
    subnet = created(api.post("/v2.0/subnets", json={"subnet": body}), "subnet")
    return network["id"], subnet["id"]


def instance_port(api: EdgeCloudApi, network_id: str, mac: str, device_id: str) -> dict[str, Any]:
    body = {
        "network_id": network_id,
        "mac_address": mac,
        "device_id": device_id,
        "device_owner": "compute:nova",
        "port_security_enabled": False,
    }
    return created(api.post("/v2.0/ports", json={"port": body}), "port")


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[tuple[EdgeCloudApi, Path]]:
    if UNAVAILABLE is not None:
        pytest.skip(UNAVAILABLE)
    data_dir = tmp_path_factory.mktemp("edge-metadata")
    with running_edge_cloud(data_dir, metadata_url=upstream.url) as api:
        yield api, data_dir


def test_metadata_reaches_upstream_signed_for_the_ports_device(
    cloud: tuple[EdgeCloudApi, Path], upstream: Upstream, lab: Lab
) -> None:
    api, data_dir = cloud
    routed_net, routed_subnet = network_with_subnet(api, "routed", "10.231.1.0/24")
    isolated_net, _ = network_with_subnet(api, "isolated", "10.231.2.0/24")
    router = created(api.post("/v2.0/routers", json={"router": {"name": "r"}}), "router")
    response = api.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": routed_subnet}
    )
    assert response.status_code == 200, response.text
    routed_port = instance_port(api, routed_net, MAC_ROUTED, "vm-routed")
    isolated_port = instance_port(api, isolated_net, MAC_ISOLATED, "vm-isolated")
    api.synced()
    secret = (data_dir / SECRET_FILE).read_text().strip()
    project = routed_port["project_id"]

    cases = (
        (names.bridge(routed_net), MAC_ROUTED, routed_port, "vm-routed"),
        (names.bridge(isolated_net), MAC_ISOLATED, isolated_port, "vm-isolated"),
    )
    namespaces = []
    for index, (bridge, mac, port, device) in enumerate(cases):
        netns, ip = dhcp_instance(lab, f"m{index}", bridge, mac)
        namespaces.append(netns)
        assert ip == port["fixed_ips"][0]["ip_address"]
        assert wget(netns, "/latest/meta-data/instance-id") == device.encode()
        seen = upstream.requests[-1].headers
        assert seen["x-forwarded-for"] == [ip]
        assert seen["x-instance-id"] == [device]
        assert seen["x-tenant-id"] == [project]
        assert seen["x-instance-id-signature"] == [sign(secret, device)]

    # A port that is no instance's (its device cleared) is not relayed upstream at all.
    before = len(upstream.requests)
    response = api.put(f"/v2.0/ports/{routed_port['id']}", json={"port": {"device_id": ""}})
    assert response.status_code == 200, response.text
    status, _ = fetch(namespaces[0], "/latest/meta-data/instance-id")
    assert status == 404
    assert len(upstream.requests) == before
