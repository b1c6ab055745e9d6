"""169.254.169.254 end to end: a guest on a tenant network fetches its own metadata from the
cloud's compute metadata service, through the edge node's namespace proxy and relay.

An edge-mode cloud (SQLite, fake vCenter) boots a server through the compute API; its API is
also served over real HTTP, which is where the relay forwards (`[network] metadata_url`). A
namespace with the server's port MAC gets its address by DHCP (with the option 121 route on
an isolated network, through the router on a routed one) and asks what cloud-init asks. Needs
root, ip, nft, dnsmasq and busybox (skipped with the reason).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from tests.api.conftest import (
    ComputeApi,
    ImageApi,
    NetworkApi,
    _image_settings,
    build_test_cloud,
    close_cloud,
)
from tests.edge.lab import UNAVAILABLE, Lab, needs_root
from tests.edge.test_metadata import dhcp_instance, fetch, wget
from tests.edge.test_neutron_metadata import created
from tests.image_files import make_vmdk
from vistack.config import Settings
from vistack.drivers.fake import FakeCloud
from vistack.edge import names

pytestmark = needs_root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComputeApi]:
    """An edge-mode cloud with compute, its API also served on a loopback port."""
    if UNAVAILABLE is not None:
        pytest.skip(UNAVAILABLE)
    data_dir = tmp_path_factory.mktemp("metadata-route")
    port = free_port()
    fake = FakeCloud()

    def configure(settings: Settings) -> None:
        _image_settings(settings, data_dir, fake)
        settings.network.backend = "edge"
        settings.network.edge_state_dir = str(data_dir / "edge")
        settings.network.metadata_url = f"http://127.0.0.1:{port}/metadata"

    built = build_test_cloud(data_dir, "", configure, fake.drivers())
    server = uvicorn.Server(
        uvicorn.Config(built.asgi, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        assert built.dataplane is not None and built.dataplane.wait_synced(120)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the cloud's HTTP server did not start"
        with TestClient(built.asgi, base_url="http://vistack.test") as client:
            yield ComputeApi(built, client, fake)
    finally:
        server.should_exit = True
        thread.join(10)
        close_cloud(built)


def network_with_subnet(api: NetworkApi, name: str, cidr: str) -> tuple[str, str]:
    network = created(api.post("/v2.0/networks", json={"network": {"name": name}}), "network")
    body = {"network_id": network["id"], "ip_version": 4, "cidr": cidr}
    subnet = created(api.post("/v2.0/subnets", json={"subnet": body}), "subnet")
    return str(network["id"]), str(subnet["id"])


def make_image(api: ComputeApi, tmp_path: Path) -> str:
    images = api.other(ImageApi)
    made = images.post(
        "/v2/images", json={"name": "cirros", "disk_format": "vmdk", "container_format": "bare"}
    )
    assert made.status_code == 201, made.text
    image_id = str(made.json()["id"])
    data = make_vmdk(tmp_path, size="4M").read_bytes()
    headers = {"Content-Type": "application/octet-stream"}
    uploaded = images.put(f"/v2/images/{image_id}/file", content=data, headers=headers)
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def boot(api: ComputeApi, image_id: str, network_id: str) -> dict[str, Any]:
    body = {
        "name": "web1",
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": [{"uuid": network_id}],
        "metadata": {"role": "web"},
    }
    response = api.post("/servers", json={"server": body})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = api.get(f"/servers/{server_id}").json()["server"]
        if shown["status"] in ("ACTIVE", "ERROR"):
            break
        time.sleep(0.05)
    assert shown["status"] == "ACTIVE", shown.get("fault")
    return dict(shown)


def test_a_guest_reads_its_metadata_through_the_edge(
    cloud: ComputeApi, lab: Lab, tmp_path: Path
) -> None:
    network = cloud.other(NetworkApi)
    isolated, _ = network_with_subnet(network, "isolated-md", "10.232.1.0/24")
    routed, routed_subnet = network_with_subnet(network, "routed-md", "10.232.2.0/24")
    router = created(network.post("/v2.0/routers", json={"router": {"name": "r-md"}}), "router")
    leg = network.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": routed_subnet}
    )
    assert leg.status_code == 200, leg.text
    image_id = make_image(cloud, tmp_path)
    for index, network_id in enumerate((isolated, routed)):
        server = boot(cloud, image_id, network_id)
        ((_, addresses),) = server["addresses"].items()
        mac, address = addresses[0]["OS-EXT-IPS-MAC:mac_addr"], addresses[0]["addr"]
        assert cloud.cloud.dataplane is not None and cloud.cloud.dataplane.wait_synced(30)
        netns, ip = dhcp_instance(lab, f"g{index}", names.bridge(network_id), mac)
        assert ip == address
        meta = json.loads(wget(netns, "/openstack/latest/meta_data.json"))
        assert meta["uuid"] == server["id"] and meta["meta"] == {"role": "web"}
        net = json.loads(wget(netns, "/openstack/latest/network_data.json"))
        assert net["links"][0]["ethernet_mac_address"] == mac
        assert net["networks"][0]["type"] == "ipv4_dhcp"  # the edge serves DHCP there
        instance_id = "i-" + server["id"].replace("-", "")[:8]
        assert wget(netns, "/latest/meta-data/instance-id").decode() == instance_id
        assert wget(netns, "/latest/meta-data/local-ipv4").decode() == address
        status, _ = fetch(netns, "/latest/user-data")  # none given: Nova's 404
        assert status == 404
