"""Many servers at once on the fake vCenter: 50 from one request (`min_count`) and 50 concurrent
creates all reach ACTIVE, the instance quota holds exactly under concurrency, and deleting them
all leaves no VM and no port behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import ComputeApi, NetworkApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import image_id, make_network, wait_gone, wait_status

__all__ = ["image_id"]  # the module-scoped image fixture, shared


@pytest.fixture(scope="module")
def owner(compute_api: ComputeApi) -> Persona:
    """A project allowed exactly 75 servers."""
    member = persona(compute_api.identity)
    body = {"quota_set": {"instances": 75, "cores": 200, "ram": 200 * 1024}}
    response = compute_api.put(f"/os-quota-sets/{member.project_id}", json=body)
    assert response.status_code == 200, response.text
    return member


def server_ids(api: ComputeApi, token: str, name: str) -> list[str]:
    listed = api.get(f"/servers?name=^{name}", token=token).json()["servers"]
    return [s["id"] for s in listed]


def test_fifty_at_once_and_fifty_concurrent_then_the_quota_holds(
    compute_api: ComputeApi, owner: Persona, image_id: str
) -> None:
    network = make_network(compute_api, owner.token, "10.60.0.0/22")
    fields: dict[str, Any] = {
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": [{"uuid": network["id"]}],
    }
    batch = unique("batch")
    body = {"server": {"name": batch, "min_count": 50, "max_count": 50, **fields}}
    assert compute_api.post("/servers", token=owner.token, json=body).status_code == 202

    crowd = unique("crowd")

    def create(index: int) -> int:
        payload = {"server": {"name": f"{crowd}-{index}", **fields}}
        status: int = compute_api.post("/servers", token=owner.token, json=payload).status_code
        return status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(create, range(50)))
    # 50 + 50 asked, 75 allowed: exactly 25 of the concurrent creates are refused.
    assert sorted(statuses) == [202] * 25 + [403] * 25
    ids = server_ids(compute_api, owner.token, batch) + server_ids(compute_api, owner.token, crowd)
    assert len(ids) == 75
    for server_id in ids:
        wait_status(compute_api, server_id, owner.token, "ACTIVE")
    assert {*ids} <= set(compute_api.fake.state.vms)
    limits = compute_api.get("/limits", token=owner.token).json()["limits"]["absolute"]
    assert (limits["totalInstancesUsed"], limits["maxTotalInstances"]) == (75, 75)
    over = compute_api.post(
        "/servers", token=owner.token, json={"server": {"name": unique("over"), **fields}}
    )
    assert over.status_code == 403, over.text

    for server_id in ids:
        assert compute_api.delete(f"/servers/{server_id}", token=owner.token).status_code == 204
    for server_id in ids:
        wait_gone(compute_api, server_id, owner.token)
    assert not set(ids) & set(compute_api.fake.state.vms)
    ports = compute_api.other(NetworkApi).get(f"/v2.0/ports?network_id={network['id']}")
    assert [p for p in ports.json()["ports"] if p["device_owner"].startswith("compute:")] == []
    limits = compute_api.get("/limits", token=owner.token).json()["limits"]["absolute"]
    assert limits["totalInstancesUsed"] == 0
