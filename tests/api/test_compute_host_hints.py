"""Nova's `same_host` and `different_host` scheduler hints through HTTP on the fake vCenter
(two clusters): the host is the cluster, the hints are checked as Nova's schema checks them,
and a hint no cluster satisfies is "No valid host" on the server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_servers import fault, wait_status

pytestmark = COMPUTE_ON_SQLITE_ONLY
member = persona_fixture("compute_api")
env = env_fixture("10.52.0.0/24")
UNKNOWN = "5d1f7e0a-3c38-4c0e-9d7e-6f1b8c2a4e11"


def boot_hinted(api: ComputeApi, env: Env, key: str = "os:scheduler_hints", **hints: Any) -> Any:
    server = {
        "name": "hinted",
        "imageRef": env.image_id,
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
    }
    return api.post("/servers", token=env.member.token, json={"server": server, key: hints})


def cluster_of(api: ComputeApi, server_id: str) -> str:
    host: str = api.get(f"/servers/{server_id}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    return host


def hinted_server(api: ComputeApi, env: Env, status: str, **hints: Any) -> dict[str, Any]:
    response = boot_hinted(api, env, **hints)
    assert response.status_code == 202, response.text
    return wait_status(api, response.json()["server"]["id"], env.member.token, status)


def test_same_host_and_different_host_choose_the_cluster(compute_api: ComputeApi, env: Env) -> None:
    first = active_server(compute_api, env)
    home = cluster_of(compute_api, first)
    for _ in range(2):  # the weigher alone would spread them; the hint keeps them together
        near = hinted_server(compute_api, env, "ACTIVE", same_host=[first])
        assert cluster_of(compute_api, near["id"]) == home
    apart = hinted_server(compute_api, env, "ACTIVE", different_host=first)  # one UUID
    other = cluster_of(compute_api, apart["id"])
    assert other != home
    legacy = boot_hinted(compute_api, env, "OS-SCH-HNT:scheduler_hints", same_host=apart["id"])
    assert legacy.status_code == 202, legacy.text
    wait_status(compute_api, legacy.json()["server"]["id"], env.member.token, "ACTIVE")
    assert cluster_of(compute_api, legacy.json()["server"]["id"]) == other

    # Both clusters hold one of them: nowhere is different from both.
    nowhere = hinted_server(compute_api, env, "ERROR", different_host=[first, apart["id"]])
    assert "No valid host" in nowhere["fault"]["message"]
    # Same as a server that does not exist: nowhere either, as in Nova.
    ghost = hinted_server(compute_api, env, "ERROR", same_host=[UNKNOWN])
    assert "No valid host" in ghost["fault"]["message"]
    # Unrelated hints stay ignored, as Nova ignores those of filters it does not run.
    assert boot_hinted(compute_api, env, query='[">=", "$free_ram_mb", 1]').status_code == 202


@pytest.mark.parametrize(
    "hints",
    [{"same_host": "not-a-uuid"}, {"different_host": [UNKNOWN, 7]}, {"same_host": {"a": 1}}],
)
def test_malformed_host_hints_are_refused(
    compute_api: ComputeApi, env: Env, hints: dict[str, Any]
) -> None:
    message = fault(boot_hinted(compute_api, env, **hints), 400, "badRequest")
    assert "Invalid input for field/attribute" in message and next(iter(hints)) in message
