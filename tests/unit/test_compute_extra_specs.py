"""Flavor extra specs: Nova's 2.86 validation of the specs it knows (`extra_spec_rules`) and the
checks of what the vSphere build applies (`flavors.parse_extra_specs`, every version)."""

from __future__ import annotations

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.domain import extra_spec_rules
from vistack.compute.domain.extra_spec_rules import NAMESPACES, validate
from vistack.compute.domain.flavors import parse_extra_specs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hw:cpu_policy", "mixed"),
        ("hw:cpu_realtime_mask", "^0-1"),
        ("hw:cpu_dedicated_mask", "0-3,^2"),
        ("hw:numa_cpus.1", "2,3"),
        ("hw:numa_mem.0", "1024"),
        ("hw:mem_page_size", "large"),
        ("hw:mem_page_size", "2048KiB"),
        ("hw:pmem", "small,medium"),
        ("hw:serial_port_count", "0"),
        ("hw:tpm_version", "2.0"),
        ("hw:locked_memory", "TRUE"),
        ("hw:boot_menu", " yes "),
        ("hw_video:ram_max_mb", "64"),
        ("quota:cpu_limit", "-1"),  # no minimum for the VMware quotas
        ("quota:vif_shares_level", "custom"),
        ("quota:disk_total_iops_sec", "500"),
        ("vmware:storage_policy", "gold"),
        ("accel:device_profile", "fpga-1"),
        ("pci_passthrough:alias", "a1:2, b2:1"),
        ("capabilities:hypervisor_type", "s== VMware vCenter Server"),
        ("capabilities:stats:num_instances", "<= 10"),
        ("aggregate_instance_extra_specs:any:thing", "<in> x"),
        ("resources:DISK_GB", "10"),
        ("resources_g-1:NET_BW_EGR_KILOBIT_PER_SEC", "1000"),
        ("resourcesX:CUSTOM_MAGIC", "1"),
        ("trait:CUSTOM_X", "forbidden"),
        ("trait1:COMPUTE_STATUS_DISABLED", "forbidden"),
        ("hide_hypervisor_id", "false"),
        ("group_policy", "isolate"),
        ("unknown_ns:whatever", "any value"),
        ("plain", "any value"),
    ],
)
def test_valid_specs(name: str, value: str) -> None:
    validate(name, value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("hw:cpu_polic", "shared", "extra spec 'hw:cpu_polic' does not appear to be a valid"),
        ("hw:numa_cpus.", "0", "does not appear to be a valid extra spec"),
        ("hw:numa_cpus.0", "zero", "is not of the format"),
        ("hw:numa_mem.0", "0", "'0' is less than the min value of '1'"),
        ("hw:cpu_cores", "1.5", "'1.5' is not a valid integer value"),
        ("hw:serial_port_count", "-1", "less than the min value of '0'"),
        ("hw:mem_page_size", "huge", "is not of the format"),
        ("hw:tpm_model", "tpm", "is not one of: tpm-tis, tpm-crb"),
        ("hw:pmu", "2", "not a valid boolean-like value"),
        ("hw_rng:rate_bytes", "-5", "less than the min value of '0'"),
        ("hw_video:colour", "x", "does not appear to be a valid extra spec"),
        ("quota:cpu_limit", "1e3", "not a valid integer value"),
        ("quota:bogus", "1", "does not appear to be a valid extra spec"),
        ("os:secure_boot", "optional", "is not one of: disabled, required"),
        ("os:type", "linux", "does not appear to be a valid extra spec"),
        ("accel:profile", "x", "does not appear to be a valid extra spec"),
        ("pci_passthrough:alias", "a1", "is not of the format"),
        ("pci_passthrough:other", "a1:1", "does not appear to be a valid extra spec"),
        ("capabilities:cpu_info:", "x", "does not appear to be a valid extra spec"),
        ("aggregate_instance_extra_specs:", "x", "does not appear to be a valid extra spec"),
        ("resources:VCPU", "two", "not a valid integer value"),
        ("resources:custom_lower", "1", "does not appear to be a valid extra spec"),
        ("resources:CUSTOM_", "1", "does not appear to be a valid extra spec"),
        ("trait:CUSTOM_X", "optional", "is not one of: required, forbidden"),
        ("trait:lower_case", "required", "does not appear to be a valid extra spec"),
        ("vmware:hw", "vmx-19", "does not appear to be a valid extra spec"),
        ("group_policy", "all", "is not one of: isolate, none"),
        ("hide_hypervisor_id", "maybe", "not a valid boolean-like value"),
    ],
)
def test_refused_specs(name: str, value: str, message: str) -> None:
    with pytest.raises(BadRequest, match=r"^Validation failed; ") as raised:
        validate(name, value)
    assert message in str(raised.value)


def test_namespaces_are_novas() -> None:
    plain = {n for n in NAMESPACES if n.isidentifier()}
    assert plain == {
        "accel",
        "aggregate_instance_extra_specs",
        "capabilities",
        "hw",
        "hw_rng",
        "hw_video",
        "os",
        "pci_passthrough",
        "quota",
        "vmware",
    }
    assert {n.split("(")[0] for n in NAMESPACES if not n.isidentifier()} == {"resources", "trait"}


def test_every_known_name_is_unique() -> None:
    names = [rule.name for rule in extra_spec_rules.RULES]
    assert len(names) == len(set(names))


def test_parse_validates_only_when_asked() -> None:
    assert parse_extra_specs({"hw:made_up": "1"}) == {"hw:made_up": "1"}  # before 2.86
    with pytest.raises(BadRequest, match="hw:made_up"):
        parse_extra_specs({"hw:made_up": "1"}, validated=True)
    # JSON numbers and booleans are stored as strings, then checked as such.
    assert parse_extra_specs({"hw:cpu_cores": 2, "hw:pmu": True}, validated=True) == {
        "hw:cpu_cores": "2",
        "hw:pmu": "True",
    }


@pytest.mark.parametrize("validated", [False, True])
def test_vsphere_values_are_checked_either_way(validated: bool) -> None:
    for specs in (
        {"quota:memory_limit": "-2"},
        {"quota:cpu_shares_level": "max"},
        {"vmware:hw_version": "19"},
        {"hw:cpu_sockets": "0"},
    ):
        with pytest.raises(BadRequest, match="Invalid extra spec"):
            parse_extra_specs(specs, validated=validated)
