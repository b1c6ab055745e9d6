"""`os-server-password`: the password a guest posted to the metadata service, shown to the
server's project (`""` when none) and cleared by its members, after which the guest may post
a new one; 404 for a server unknown or of another project."""

from __future__ import annotations

from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, persona_fixture
from tests.api.test_compute_servers import fault
from vistack.compute.domain.instance_facts import InstanceFactsSource

member = persona_fixture("compute_api")

UNKNOWN = "0d7cf3b4-6f7e-4d0c-9a8c-2b1f4f0e9a11"


def _facts(compute_api: ComputeApi) -> InstanceFactsSource:
    facts = compute_api.cloud.compute.instance_facts
    assert facts is not None
    return facts


def test_none_posted_shows_empty(compute_api: ComputeApi, member: Persona) -> None:
    server_id = insert_server(compute_api, member.project_id)
    response = compute_api.get(f"/servers/{server_id}/os-server-password", token=member.token)
    assert response.status_code == 200, response.text
    assert response.json() == {"password": ""}


def test_the_posted_password_is_shown_then_cleared(
    compute_api: ComputeApi, member: Persona
) -> None:
    server_id = insert_server(compute_api, member.project_id)
    path = f"/servers/{server_id}/os-server-password"
    facts = _facts(compute_api)
    assert facts.set_password(server_id, "ZW5jcnlwdGVk")
    assert compute_api.get(path, token=member.token).json() == {"password": "ZW5jcnlwdGVk"}
    assert compute_api.get(path).json() == {"password": "ZW5jcnlwdGVk"}  # an administrator
    # The guest may not replace it until it is cleared.
    assert not facts.set_password(server_id, "b3RoZXI=")
    cleared = compute_api.delete(path, token=member.token)
    assert cleared.status_code == 204, cleared.text
    assert cleared.content == b""
    assert compute_api.get(path, token=member.token).json() == {"password": ""}
    found = facts.facts(server_id)
    assert found is not None and found.password == ""
    # Clearing again is fine; then the guest may post a new one.
    assert compute_api.delete(path, token=member.token).status_code == 204
    assert facts.set_password(server_id, "bmV3")
    assert compute_api.get(path, token=member.token).json() == {"password": "bmV3"}


def test_clearing_keeps_the_rest_of_system_metadata(
    compute_api: ComputeApi, member: Persona
) -> None:
    server_id = insert_server(
        compute_api, member.project_id, system_metadata={"launch_index": 2, "password": "cHc="}
    )
    path = f"/servers/{server_id}/os-server-password"
    assert compute_api.delete(path, token=member.token).status_code == 204
    found = _facts(compute_api).facts(server_id)
    assert found is not None and found.launch_index == 2 and found.password == ""


def test_unknown_and_foreign_servers_are_404(compute_api: ComputeApi, member: Persona) -> None:
    for method in ("GET", "DELETE"):
        unknown = compute_api.request(
            method, f"/servers/{UNKNOWN}/os-server-password", token=member.token
        )
        fault(unknown, 404, "itemNotFound")
    other = persona(compute_api.identity)
    server_id = insert_server(compute_api, other.project_id, system_metadata={"password": "eA=="})
    path = f"/servers/{server_id}/os-server-password"
    fault(compute_api.get(path, token=member.token), 404, "itemNotFound")
    fault(compute_api.delete(path, token=member.token), 404, "itemNotFound")
    assert compute_api.get(path, token=other.token).json() == {"password": "eA=="}


def test_a_reader_sees_but_may_not_clear(compute_api: ComputeApi, member: Persona) -> None:
    reader = persona(compute_api.identity, role="reader")
    server_id = insert_server(compute_api, reader.project_id, system_metadata={"password": "cg=="})
    path = f"/servers/{server_id}/os-server-password"
    assert compute_api.get(path, token=reader.token).json() == {"password": "cg=="}
    fault(compute_api.delete(path, token=reader.token), 403, "forbidden")
    assert compute_api.get(path, token=reader.token).json() == {"password": "cg=="}
