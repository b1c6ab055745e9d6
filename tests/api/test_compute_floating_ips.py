"""`addFloatingIp` / `removeFloatingIp` through HTTP (microversions 2.1 to 2.43) on a cloud with
the edge network backend (routers and floating IPs): the association is Neutron's, made with
the caller's rights; from 2.44 these actions, and `addFixedIp` / `removeFixedIp`, answer 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (
    ComputeApi,
    ImageApi,
    NetworkApi,
    _compute_settings,
    _edge_settings,
    _fake_cloud_api,
)
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import fault, wait_status
from tests.image_files import make_vmdk
from vistack.compute.api import microversion
from vistack.config import Settings
from vistack.drivers.fake import FakeCloud

OCTET = {"Content-Type": "application/octet-stream"}


def _settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _compute_settings(settings, data_dir, fake)
    _edge_settings(settings, data_dir, fake)


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComputeApi]:
    from vistack.network.domain.models import edge_unsupported_reason

    reason = edge_unsupported_reason()
    if reason:
        pytest.skip(f"edge backend unavailable: {reason}")
    yield from _fake_cloud_api(request, tmp_path_factory, ComputeApi, _settings)


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def setup(api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A member's ACTIVE server on a network routed to an external one, and a floating IP."""
    member = persona(api.identity)
    net = api.other(NetworkApi)
    image = ok(
        api.other(ImageApi).post(
            "/v2/images",
            json={
                "name": unique("vmdk"),
                "disk_format": "vmdk",
                "container_format": "bare",
                "visibility": "public",
            },
        )
    )
    data = make_vmdk(tmp_path_factory.mktemp("vmdk"), size="4M").read_bytes()
    ok(
        api.other(ImageApi).put(f"/v2/images/{image['id']}/file", content=data, headers=OCTET),
        204,
    )
    external = ok(
        net.post(
            "/v2.0/networks", json={"network": {"name": unique("ext"), "router:external": True}}
        )
    )["network"]
    ok(
        net.post(
            "/v2.0/subnets",
            json={
                "subnet": {"network_id": external["id"], "cidr": "203.0.113.0/24", "ip_version": 4}
            },
        )
    )
    private = ok(
        net.post("/v2.0/networks", token=member.token, json={"network": {"name": unique("n")}})
    )["network"]
    subnet = ok(
        net.post(
            "/v2.0/subnets",
            token=member.token,
            json={"subnet": {"network_id": private["id"], "cidr": "10.70.0.0/24", "ip_version": 4}},
        )
    )["subnet"]
    router = ok(
        net.post(
            "/v2.0/routers",
            token=member.token,
            json={
                "router": {
                    "name": unique("r"),
                    "external_gateway_info": {"network_id": external["id"]},
                }
            },
        )
    )["router"]
    path = f"/v2.0/routers/{router['id']}/add_router_interface"
    ok(net.put(path, token=member.token, json={"subnet_id": subnet["id"]}), 200)
    body = {
        "server": {
            "name": unique("vm"),
            "imageRef": image["id"],
            "flavorRef": "1",
            "networks": [{"uuid": private["id"]}],
        }
    }
    server_id = ok(api.post("/servers", token=member.token, json=body), 202)["server"]["id"]
    server = wait_status(api, server_id, member.token, "ACTIVE")
    fip = ok(
        net.post(
            "/v2.0/floatingips",
            token=member.token,
            json={"floatingip": {"floating_network_id": external["id"]}},
        )
    )["floatingip"]
    return {"member": member, "server": server, "fip": fip}


def test_add_and_remove_floating_ip(api: ComputeApi, setup: dict[str, Any]) -> None:
    member: Persona = setup["member"]
    server, fip = setup["server"], setup["fip"]
    path = f"/servers/{server['id']}/action"
    address = fip["floating_ip_address"]
    net = api.other(NetworkApi)
    fault(
        api.post(
            path,
            token=member.token,
            headers=at("2.44"),
            json={"addFloatingIp": {"address": address}},
        ),
        404,
        "itemNotFound",
    )
    missing = api.post(
        path,
        token=member.token,
        headers=at("2.43"),
        json={"addFloatingIp": {"address": "198.51.100.9"}},
    )
    fault(missing, 404, "itemNotFound")
    wrong = {"addFloatingIp": {"address": address, "fixed_address": "10.99.0.1"}}
    assert "not assigned" in fault(
        api.post(path, token=member.token, headers=at("2.43"), json=wrong), 400, "badRequest"
    )
    added = api.post(
        path, token=member.token, headers=at("2.43"), json={"addFloatingIp": {"address": address}}
    )
    assert added.status_code == 202, added.text
    associated = net.get(f"/v2.0/floatingips/{fip['id']}", token=member.token).json()["floatingip"]
    (fixed,) = [a["addr"] for entries in server["addresses"].values() for a in entries]
    assert associated["fixed_ip_address"] == fixed and associated["port_id"]
    removed = api.post(
        path,
        token=member.token,
        headers=at("2.43"),
        json={"removeFloatingIp": {"address": address}},
    )
    assert removed.status_code == 202, removed.text
    assert (
        net.get(f"/v2.0/floatingips/{fip['id']}", token=member.token).json()["floatingip"][
            "port_id"
        ]
        is None
    )
    again = api.post(
        path,
        token=member.token,
        headers=at("2.43"),
        json={"removeFloatingIp": {"address": address}},
    )
    fault(again, 409, "conflictingRequest")
    stranger = persona(api.identity)
    hidden = api.post(
        path, token=stranger.token, headers=at("2.43"), json={"addFloatingIp": {"address": address}}
    )
    fault(hidden, 404, "itemNotFound")


def test_fixed_ip_actions(api: ComputeApi, setup: dict[str, Any]) -> None:
    member: Persona = setup["member"]
    path = f"/servers/{setup['server']['id']}/action"
    body = {"addFixedIp": {"networkId": "x"}}
    fault(api.post(path, token=member.token, headers=at("2.43"), json=body), 501, "notImplemented")
    fault(api.post(path, token=member.token, headers=at("2.44"), json=body), 404, "itemNotFound")


def test_floating_ip_proxy(api: ComputeApi, setup: dict[str, Any]) -> None:
    """`os-floating-ip-pools` and `os-floating-ips` (2.1 to 2.35): Neutron's, in Nova's form."""
    member: Persona = setup["member"]
    token = member.token
    pools = api.get("/os-floating-ip-pools", token=token, headers=at("2.35")).json()
    (pool,) = pools["floating_ip_pools"]
    listed = api.get("/os-floating-ips", token=token, headers=at("2.35")).json()["floating_ips"]
    fip = setup["fip"]
    (mine,) = [f for f in listed if f["id"] == fip["id"]]
    assert mine["ip"] == fip["floating_ip_address"] and mine["pool"] == pool["name"]
    made = api.post(
        "/os-floating-ips", token=token, headers=at("2.35"), json={"pool": pool["name"]}
    )
    assert made.status_code == 200, made.text
    new = made.json()["floating_ip"]
    assert (new["fixed_ip"], new["instance_id"], new["pool"]) == (None, None, pool["name"])
    path = f"/os-floating-ips/{new['id']}"
    assert api.get(path, token=token, headers=at("2.35")).json()["floating_ip"]["ip"] == new["ip"]
    action = {"addFloatingIp": {"address": new["ip"]}}
    server_path = f"/servers/{setup['server']['id']}/action"
    assert api.post(server_path, token=token, headers=at("2.35"), json=action).status_code == 202
    shown = api.get(path, token=token, headers=at("2.35")).json()["floating_ip"]
    assert shown["instance_id"] == setup["server"]["id"] and shown["fixed_ip"]
    remove = {"removeFloatingIp": {"address": new["ip"]}}
    assert api.post(server_path, token=token, headers=at("2.35"), json=remove).status_code == 202
    unknown = api.post("/os-floating-ips", token=token, headers=at("2.35"), json={"pool": "x"})
    fault(unknown, 404, "itemNotFound")
    assert api.delete(path, token=token, headers=at("2.35")).status_code == 202
    fault(api.get(path, token=token, headers=at("2.35")), 404, "itemNotFound")
    fault(api.get("/os-floating-ips", token=token, headers=at("2.36")), 404, "itemNotFound")
