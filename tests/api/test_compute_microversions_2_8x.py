"""Compute microversions 2.86 and 2.88 at their boundaries (2.87 and 2.89, the volume ones, are
in the volume suites): the behaviour at N and not at N-1, and each refusal in Nova's fault
format."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import unique
from tests.api.test_compute_microversions import at
from tests.api.test_compute_servers import fault
from vistack.compute.api import microversion


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


@pytest.fixture(scope="module")
def flavor_id(compute_api: ComputeApi) -> str:
    body = {"flavor": {"name": unique("f"), "ram": 256, "vcpus": 2, "disk": 1}}
    made = compute_api.post("/flavors", json=body)
    assert made.status_code == 200, made.text
    flavor: str = made.json()["flavor"]["id"]
    return flavor


def set_specs(api: ComputeApi, flavor_id: str, version: str, specs: dict[str, Any]) -> Any:
    body = {"extra_specs": specs}
    return api.post(f"/flavors/{flavor_id}/os-extra_specs", headers=at(version), json=body)


def put_spec(api: ComputeApi, flavor_id: str, version: str, key: str, value: Any) -> Any:
    path = f"/flavors/{flavor_id}/os-extra_specs/{key}"
    return api.put(path, headers=at(version), json={key: value})


def stored(api: ComputeApi, flavor_id: str) -> dict[str, str]:
    specs: dict[str, str] = api.get(f"/flavors/{flavor_id}/os-extra_specs").json()["extra_specs"]
    return specs


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("hw:no_such_spec", "1", "does not appear to be a valid extra spec"),
        ("hw:cpu_policy", "pinned", "is not one of: dedicated, shared, mixed"),
        ("hw:numa_nodes", "0", "less than the min value of '1'"),
        ("hw_rng:allowed", "perhaps", "not a valid boolean-like value"),
        ("quota:disk_io_limit", "lots", "not a valid integer value"),
        ("os:secure_boot", "maybe", "is not one of: disabled, required"),
        ("vmware:no_such_spec", "x", "does not appear to be a valid extra spec"),
        ("pci_passthrough:alias", "gpu", "is not of the format"),
        ("resources:NO_SUCH_CLASS", "1", "does not appear to be a valid extra spec"),
        ("trait:HW_CPU_X86_AVX2", "wanted", "is not one of: required, forbidden"),
        ("capabilities:no_such_field", "1", "does not appear to be a valid extra spec"),
    ],
)
def test_2_86_known_extra_specs_are_validated(
    compute_api: ComputeApi, flavor_id: str, key: str, value: str, why: str
) -> None:
    assert set_specs(compute_api, flavor_id, "2.85", {key: value}).status_code == 200
    assert stored(compute_api, flavor_id)[key] == value  # 2.85: stored unchecked, as Nova does
    assert compute_api.delete(f"/flavors/{flavor_id}/os-extra_specs/{key}").status_code == 200
    refused = set_specs(compute_api, flavor_id, "2.86", {key: value})
    message = fault(refused, 400, "badRequest")
    assert message.startswith("Validation failed; ") and why in message, message
    refused = put_spec(compute_api, flavor_id, "2.86", key, value)
    assert why in fault(refused, 400, "badRequest")
    assert key not in stored(compute_api, flavor_id)  # nothing written


def test_2_86_valid_and_unknown_namespaces_are_kept(
    compute_api: ComputeApi, flavor_id: str
) -> None:
    specs = {
        "hw:cpu_policy": "shared",
        "hw:cpu_cores": "2",
        "hw:numa_cpus.0": "0-1",
        "hw:mem_page_size": "2MB",
        "hw_rng:allowed": "True",
        "quota:cpu_limit": "1000",
        "quota:cpu_shares_level": "high",
        "vmware:hw_version": "vmx-19",
        "resources1:CUSTOM_GPU": "1",
        "resources:VCPU": "2",
        "trait:CUSTOM_FAST": "required",
        "capabilities:cpu_info:arch": "x86_64",
        "aggregate_instance_extra_specs:ssd": "true",
        "group_policy": "none",
        "mycompany:tier": "gold",  # a namespace Nova does not know: the operator's own
        "no_namespace": "anything",
    }
    made = set_specs(compute_api, flavor_id, "2.86", specs)
    assert made.status_code == 200, made.text
    assert made.json()["extra_specs"] == specs
    assert put_spec(compute_api, flavor_id, "2.86", "hw:cpu_policy", "dedicated").json() == {
        "hw:cpu_policy": "dedicated"
    }
    assert stored(compute_api, flavor_id)["mycompany:tier"] == "gold"


def test_2_86_one_bad_spec_writes_none(compute_api: ComputeApi, flavor_id: str) -> None:
    specs = {"hw:cpu_threads": "1", "hw:watchdog_action": "explode"}
    fault(set_specs(compute_api, flavor_id, "2.86", specs), 400, "badRequest")
    assert "hw:cpu_threads" not in stored(compute_api, flavor_id)


def test_vsphere_values_are_checked_at_every_version(
    compute_api: ComputeApi, flavor_id: str
) -> None:
    """What the vSphere build could not apply is refused before 2.86 too (not Nova's
    permissive mode: a flavor that cannot boot is no flavor)."""
    for version in ("2.1", "2.85", "2.86"):
        refused = set_specs(compute_api, flavor_id, version, {"quota:cpu_shares_level": "max"})
        assert "low, normal, high, custom" in fault(refused, 400, "badRequest")
        refused = set_specs(compute_api, flavor_id, version, {"hw:cpu_cores": "0"})
        fault(refused, 400, "badRequest")


def test_2_88_hypervisor_uptime_in_list_detail(compute_api: ComputeApi) -> None:
    """2.88: each hypervisor of the detail list carries `uptime` and none of the 12 figures;
    the list itself and the 2.53 parameters are unchanged."""
    gone = {
        "current_workload",
        "cpu_info",
        "vcpus",
        "vcpus_used",
        "free_disk_gb",
        "local_gb",
        "local_gb_used",
        "disk_available_least",
        "free_ram_mb",
        "memory_mb",
        "memory_mb_used",
        "running_vms",
    }
    detail = compute_api.get("/os-hypervisors/detail", headers=at("2.88")).json()["hypervisors"]
    assert detail and all("uptime" in h and not gone & set(h) for h in detail)
    before = compute_api.get("/os-hypervisors/detail", headers=at("2.87")).json()["hypervisors"]
    assert all(gone <= set(h) and "uptime" not in h for h in before)
    listed = compute_api.get("/os-hypervisors?with_servers=true", headers=at("2.88")).json()
    assert all("uptime" not in h and "servers" in h for h in listed["hypervisors"])
    shown = compute_api.get(f"/os-hypervisors/{detail[0]['id']}", headers=at("2.88")).json()
    assert not gone & set(shown["hypervisor"])
    fault(compute_api.get("/os-hypervisors/statistics", headers=at("2.96")), 404, "itemNotFound")
