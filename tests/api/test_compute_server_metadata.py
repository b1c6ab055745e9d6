"""Server metadata (`/servers/{id}/metadata`) and addresses (`/servers/{id}/ips`) through
HTTP: merge, replace, one item at a time, Nova's refusals, the metadata quota, and who may see
and change them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, persona_fixture
from tests.api.test_compute_servers import boot, fault, image_id, make_network, wait_status

__all__ = ["image_id"]  # the module-scoped image fixture, shared

member = persona_fixture("compute_api")


@pytest.fixture(scope="module")
def server(compute_api: ComputeApi, member: Persona, image_id: str) -> dict[str, Any]:
    network = make_network(compute_api, member.token, "10.44.0.0/24")
    server_id = boot(compute_api, member, image_id, network["id"], metadata={"a": "1"})
    return wait_status(compute_api, server_id, member.token, "ACTIVE")


def test_metadata_merge_replace_and_items(
    compute_api: ComputeApi, member: Persona, server: dict[str, Any]
) -> None:
    path = f"/servers/{server['id']}/metadata"
    token = member.token
    assert compute_api.get(path, token=token).json() == {"metadata": {"a": "1"}}
    merged = compute_api.post(path, token=token, json={"metadata": {"b": "2"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    replaced = compute_api.put(path, token=token, json={"metadata": {"c": "3"}})
    assert replaced.json() == {"metadata": {"c": "3"}}
    one = compute_api.put(f"{path}/d", token=token, json={"meta": {"d": "4"}})
    assert one.status_code == 200 and one.json() == {"meta": {"d": "4"}}
    assert compute_api.get(f"{path}/d", token=token).json() == {"meta": {"d": "4"}}
    assert compute_api.delete(f"{path}/d", token=token).status_code == 204
    fault(compute_api.get(f"{path}/d", token=token), 404, "itemNotFound")
    fault(compute_api.delete(f"{path}/d", token=token), 404, "itemNotFound")
    mismatch = compute_api.put(f"{path}/e", token=token, json={"meta": {"x": "1"}})
    assert "mismatch" in fault(mismatch, 400, "badRequest")
    two = compute_api.put(f"{path}/e", token=token, json={"meta": {"e": "1", "f": "2"}})
    assert "too many" in fault(two, 400, "badRequest")
    fault(compute_api.post(path, token=token, json={"metadata": {"k": 7}}), 400, "badRequest")
    fault(compute_api.post(path, token=token, json={"meta": {}}), 400, "badRequest")
    shown = compute_api.get(f"/servers/{server['id']}", token=token).json()["server"]
    assert shown["metadata"] == {"c": "3"}


def test_metadata_quota_and_visibility(
    compute_api: ComputeApi, member: Persona, server: dict[str, Any]
) -> None:
    path = f"/servers/{server['id']}/metadata"
    body = {"quota_set": {"metadata_items": 2}}
    assert compute_api.put(f"/os-quota-sets/{member.project_id}", json=body).status_code == 200
    try:
        many = {"metadata": {"x": "1", "y": "2", "z": "3"}}
        fault(compute_api.put(path, token=member.token, json=many), 403, "forbidden")
        assert compute_api.get(path, token=member.token).json()["metadata"] == {"c": "3"}
    finally:
        compute_api.delete(f"/os-quota-sets/{member.project_id}")
    stranger = persona(compute_api.identity)
    fault(compute_api.get(path, token=stranger.token), 404, "itemNotFound")
    changed = compute_api.post(path, token=stranger.token, json={"metadata": {"q": "1"}})
    fault(changed, 404, "itemNotFound")
    reader = persona(compute_api.identity, role="reader")
    fault(compute_api.get("/servers/nope/metadata", token=reader.token), 404, "itemNotFound")


def test_ips_by_network(compute_api: ComputeApi, member: Persona, server: dict[str, Any]) -> None:
    ips = compute_api.get(f"/servers/{server['id']}/ips", token=member.token).json()["addresses"]
    ((name, entries),) = ips.items()
    assert entries == [{"version": 4, "addr": server["addresses"][name][0]["addr"]}]
    one = compute_api.get(f"/servers/{server['id']}/ips/{name}", token=member.token)
    assert one.json() == {name: entries}
    fault(
        compute_api.get(f"/servers/{server['id']}/ips/nowhere", token=member.token),
        404,
        "itemNotFound",
    )
