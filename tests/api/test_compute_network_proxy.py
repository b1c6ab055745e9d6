"""Nova's network proxies through HTTP (`/os-networks`, `/os-tenant-networks`, 2.1 to 2.35):
Neutron's networks in nova-network's shape, nova-network's changes 410, and 404 from 2.36."""

from __future__ import annotations

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import persona
from tests.api.test_compute_servers import fault, make_network
from vistack.compute.api import microversion
from vistack.compute.api.networks import ADMIN_FIELDS, FIELDS


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


def test_networks_and_tenant_networks(compute_api: ComputeApi) -> None:
    owner = persona(compute_api.identity)
    network = make_network(compute_api, owner.token, "10.77.0.0/24")
    listed = compute_api.get("/os-networks", token=owner.token).json()["networks"]
    mine = next(n for n in listed if n["id"] == network["id"])
    assert set(mine) == set(FIELDS) and mine["label"] == network["name"]
    as_admin = compute_api.get(f"/os-networks/{network['id']}").json()["network"]
    assert set(as_admin) == set(FIELDS) | set(ADMIN_FIELDS)
    tenant = compute_api.get("/os-tenant-networks", token=owner.token).json()["networks"]
    assert {"id": network["id"], "label": network["name"], "cidr": None} in tenant
    shown = compute_api.get(f"/os-tenant-networks/{network['id']}", token=owner.token)
    assert shown.json()["network"]["label"] == network["name"]
    stranger = persona(compute_api.identity)
    hidden = compute_api.get(f"/os-networks/{network['id']}", token=stranger.token)
    fault(hidden, 404, "itemNotFound")
    created = compute_api.post("/os-networks", json={"network": {"label": "x"}})
    assert created.status_code == 410
    late = {"OpenStack-API-Version": "compute 2.36"}
    fault(compute_api.get("/os-networks", token=owner.token, headers=late), 404, "itemNotFound")
    fault(compute_api.post("/os-networks", headers=late, json={}), 404, "itemNotFound")
