"""A flavor's `quota:*` and `vmware:hw_version` extra specs reach the VM (on the fake vCenter):
at the build, at a resize to a flavor with other specs, and back at a revert."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_compute_resize import act, resize
from tests.api.test_compute_servers import (  # noqa: F401  (module fixtures)
    boot,
    image_id,
    network,
    wait_gone,
    wait_status,
)
from vistack.drivers.models import Allocation

member = persona_fixture("compute_api")

TUNED_SPECS = {
    "quota:cpu_limit": "2000",
    "quota:cpu_reservation": "500",
    "quota:cpu_shares_level": "high",
    "quota:memory_shares_level": "custom",
    "quota:memory_shares_share": "3000",
    "quota:memory_reservation": "256",
    "vmware:hw_version": "vmx-15",
}


def flavor_with(api: ComputeApi, specs: dict[str, str], vcpus: int = 1) -> str:
    body = {"flavor": {"name": unique("tuned"), "ram": 512, "vcpus": vcpus, "disk": 1}}
    created = api.post("/flavors", json=body)
    assert created.status_code == 200, created.text
    flavor_id: str = created.json()["flavor"]["id"]
    added = api.post(f"/flavors/{flavor_id}/os-extra_specs", json={"extra_specs": specs})
    assert added.status_code == 200, added.text
    return flavor_id


def test_the_flavors_specs_are_applied_and_follow_a_resize(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,  # noqa: F811
    network: dict[str, Any],  # noqa: F811
) -> None:
    tuned = flavor_with(compute_api, TUNED_SPECS)
    plain = flavor_with(compute_api, {"quota:cpu_limit": "-1"}, vcpus=2)
    server = boot(compute_api, member, image_id, network["id"], flavorRef=tuned)
    wait_status(compute_api, server, member.token, "ACTIVE")
    tuning = compute_api.fake.state.vms[server].tuning
    assert tuning.cpu == Allocation(limit=2000, reservation=500, shares_level="high")
    assert tuning.memory == Allocation(reservation=256, shares_level="custom", shares=3000)
    assert tuning.hw_version == "vmx-15"

    assert resize(compute_api, server, member.token, plain).status_code == 202
    wait_status(compute_api, server, member.token, "VERIFY_RESIZE")
    tuning = compute_api.fake.state.vms[server].tuning
    assert (tuning.cpu, tuning.memory) == (Allocation(), Allocation())
    assert tuning.hw_version == "vmx-15"  # never lowered

    assert act(compute_api, server, member.token, {"revertResize": None}).status_code == 202
    wait_status(compute_api, server, member.token, "ACTIVE")
    tuning = compute_api.fake.state.vms[server].tuning
    assert tuning.cpu == Allocation(limit=2000, reservation=500, shares_level="high")
    compute_api.delete(f"/servers/{server}", token=compute_api.admin_token)
    wait_gone(compute_api, server, member.token)


def test_a_flavor_asking_to_lower_the_hardware_version_fails_the_build_cleanly(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,  # noqa: F811
    network: dict[str, Any],  # noqa: F811
) -> None:
    older = flavor_with(compute_api, {"vmware:hw_version": "vmx-11"})  # the fake's is vmx-13
    server = boot(compute_api, member, image_id, network["id"], flavorRef=older)
    shown = wait_status(compute_api, server, member.token, "ERROR")
    assert "cannot downgrade virtual hardware" in shown["fault"]["message"]
    assert server not in compute_api.fake.state.vms
    compute_api.delete(f"/servers/{server}", token=compute_api.admin_token)
    wait_gone(compute_api, server, member.token)
