"""Nova's `networks: "auto"` (2.37) through HTTP: the project's one usable network, else
Neutron's auto-allocated topology (edge backend), else Nova's 400; several usable networks:
Nova's 409. SQLite only: the queries are plain, and the topology's races are the network
suite's (test_network_auto_allocation.py, on all three databases).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (
    COMPUTE_ON_SQLITE_ONLY,
    ComputeApi,
    ImageApi,
    NetworkApi,
    _compute_settings,
    _fake_cloud_api,
)
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import make_network, wait_status
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault
from tests.image_files import make_vmdk
from vistack.config import Settings
from vistack.drivers.fake import FakeCloud

V237 = {"OpenStack-API-Version": "compute 2.37"}
UNABLE = "Unable to automatically allocate a network for project {}"


def _edge_compute_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _compute_settings(settings, data_dir, fake)
    settings.network.backend = "edge"


@pytest.fixture(scope="module", params=["sqlite"])
def edge_compute_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComputeApi]:
    """A compute cloud whose network backend is the edge one (routers: auto-allocation)."""
    from vistack.network.domain.models import edge_unsupported_reason

    reason = edge_unsupported_reason()
    if reason:
        pytest.skip(f"edge backend unavailable: {reason}")
    yield from _fake_cloud_api(request, tmp_path_factory, ComputeApi, _edge_compute_settings)


def public_image(api: ComputeApi, scratch: Path) -> str:
    images = api.other(ImageApi)
    body = {"name": unique("vmdk"), "disk_format": "vmdk", "container_format": "bare"}
    made = images.post("/v2/images", json={**body, "visibility": "public"})
    assert made.status_code == 201, made.text
    data = make_vmdk(scratch, size="4M").read_bytes()
    headers = {"Content-Type": "application/octet-stream"}
    uploaded = images.put(f"/v2/images/{made.json()['id']}/file", content=data, headers=headers)
    assert uploaded.status_code == 204, uploaded.text
    return str(made.json()["id"])


def auto_create(api: ComputeApi, member: Persona, image_id: str, **fields: Any) -> Any:
    body = {"name": unique("vm"), "imageRef": image_id, "flavorRef": "1", "networks": "auto"}
    return api.post(
        "/servers", token=member.token, headers=V237, json={"server": {**body, **fields}}
    )


@COMPUTE_ON_SQLITE_ONLY
def test_dvs_backend_cannot_auto_allocate(
    compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No routers in `dvs` mode: no extension, and `auto` with no network is Nova's 400."""
    networks = compute_api.other(NetworkApi)
    member = persona(compute_api.identity)
    aliases = {e["alias"] for e in networks.get("/v2.0/extensions").json()["extensions"]}
    assert "auto-allocated-topology" not in aliases
    path = f"/v2.0/auto-allocated-topology/{member.project_id}"
    fault(networks.get(path, token=member.token), 404)
    fault(networks.delete(path, token=member.token), 404)
    image_id = public_image(compute_api, tmp_path_factory.mktemp("vmdk"))
    refused = auto_create(compute_api, member, image_id)
    assert refused.status_code == 400, refused.text
    assert refused.json()["badRequest"]["message"] == UNABLE.format(member.project_id)


def test_auto_networks_as_nova(
    edge_compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory
) -> None:
    api = edge_compute_api
    networks = api.other(NetworkApi)
    image_id = public_image(api, tmp_path_factory.mktemp("vmdk"))
    member = persona(api.identity)
    # Nothing usable and no default external network: Nova's 400, nothing made.
    refused = auto_create(api, member, image_id)
    assert refused.status_code == 400, refused.text
    assert refused.json()["badRequest"]["message"] == UNABLE.format(member.project_id)
    # What devstack makes: the default external network and a shared default IPv4 pool.
    external = create_network(networks, None, **{"router:external": True, "is_default": True})
    create_subnet(networks, networks.admin_token, external["id"], "172.24.9.0/24")
    pool = networks.post(
        "/v2.0/subnetpools",
        json={
            "subnetpool": {
                "name": unique("pool"),
                "prefixes": ["10.129.0.0/16"],
                "default_prefixlen": 26,
                "shared": True,
                "is_default": True,
            }
        },
    )
    assert pool.status_code == 201, pool.text
    # Three servers of one request share the one topology made for them.
    name = unique("auto")
    made = auto_create(api, member, image_id, name=name, min_count=3, max_count=3)
    assert made.status_code == 202, made.text
    listed = api.get(f"/servers?name=^{name}-", token=member.token).json()["servers"]
    assert len(listed) == 3
    topology = networks.get(
        f"/v2.0/auto-allocated-topology/{member.project_id}", token=member.token
    ).json()["auto_allocated_topology"]
    for server in listed:
        shown = wait_status(api, server["id"], member.token, "ACTIVE")
        assert list(shown["addresses"]) == ["auto_allocated_network"]
        ports = networks.get(f"/v2.0/ports?device_id={server['id']}").json()["ports"]
        assert [p["network_id"] for p in ports] == [topology["id"]]
    # The one usable network is taken as it is (no second topology).
    again = auto_create(api, member, image_id)
    assert again.status_code == 202, again.text
    wait_status(api, again.json()["server"]["id"], member.token, "ACTIVE")
    # Two usable networks: Nova refuses to guess.
    make_network(api, member.token, "10.77.0.0/24")
    ambiguous = auto_create(api, member, image_id)
    assert ambiguous.status_code == 409, ambiguous.text
    assert "Multiple possible networks found" in ambiguous.json()["conflictingRequest"]["message"]
