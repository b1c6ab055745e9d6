"""Nova's validation of known flavor extra specs (microversion 2.86).

From 2.86 Nova checks each extra spec set through `os-extra_specs` (create and update) against
its registry of known specs: a known name must have a value of its type (an integer within its
bounds, a boolean-like string, one of an enumeration, or a string of a pattern); a name in a
known namespace (`hw:`, `hw_rng:`, `hw_video:`, `os:`, `quota:`, `vmware:`, `accel:`,
`pci_passthrough:`, `capabilities:`, `aggregate_instance_extra_specs:`, `resources*:`,
`trait*:`) that is no known spec is refused; a name in any other namespace, or with none, is
the operator's own and is kept as given. The refusal is Nova's 400 "Validation failed; ...".

The registry here is Nova's (the specs its API validated by the 2024.1 and 2024.2 releases, the
last ones to top out at 2.96). Two approximations, both on the side of accepting:

- `trait*:` names: Nova accepts the standard traits of the `os-traits` library and
  `CUSTOM_*`; this project does not ship `os-traits`, so any upper-case trait-shaped name is
  accepted (its value is still checked: `required` or `forbidden`).
- `resources*:` names: the standard resource classes of `os-resource-classes` (listed below,
  a short and stable list) and `CUSTOM_*`, amounts integers, as Nova's.

Before 2.86 Nova stores any extra spec without checking it (`flavors.py` still refuses the values
the vSphere build could not apply, at every version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vistack.common.errors import BadRequest

#: The microversion from which extra specs are validated.
VALIDATED_FROM = "2.86"

_CPU_SET = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
_GROUP = r"([a-zA-Z0-9_-]{1,64})?"
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})

#: `os-resource-classes`' standard classes (a `resources*:` name Nova knows besides CUSTOM_*).
STANDARD_RESOURCE_CLASSES = (
    "VCPU",
    "MEMORY_MB",
    "DISK_GB",
    "PCI_DEVICE",
    "SRIOV_NET_VF",
    "NUMA_SOCKET",
    "NUMA_CORE",
    "NUMA_THREAD",
    "NUMA_MEMORY_MB",
    "IPV4_ADDRESS",
    "VGPU",
    "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC",
    "NET_BW_IGR_KILOBIT_PER_SEC",
    "PCPU",
    "MEM_ENCRYPTION_CONTEXT",
    "FPGA",
    "PGPU",
    "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
)


@dataclass(frozen=True)
class Rule:
    """One known extra spec: its name (a regular expression when it has parameters, such as
    `hw:numa_cpus.{id}`) and what its value must be."""

    name: str
    kind: type = str
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    #: The full-name regular expression (the name itself, escaped, when it has no parameter).
    name_regex: str = field(default="")

    def regex(self) -> str:
        return self.name_regex or re.escape(self.name)

    def check(self, name: str, value: str) -> None:
        """:raises BadRequest: Nova's "Validation failed; ..." for a bad value."""
        if self.kind is int:
            _check_int(self, value)
        elif self.kind is bool:
            if value.strip().lower() not in _TRUE | _FALSE:
                _fail(f"'{value}' is not a valid boolean-like value.")
        elif self.pattern is not None:
            if re.fullmatch(self.pattern, value) is None:
                _fail(f"'{value}' is not of the format '{self.pattern}'.")
        elif self.enum and value not in self.enum:
            _fail(f"'{value}' is not one of: {', '.join(self.enum)}.")


def _fail(detail: str) -> None:
    raise BadRequest(f"Validation failed; {detail}")


def _check_int(rule: Rule, value: str) -> None:
    try:
        number = int(value)
    except ValueError:
        _fail(f"'{value}' is not a valid integer value.")
        return
    if rule.maximum is not None and number > rule.maximum:
        _fail(f"'{number}' is greater than the max value of '{rule.maximum}'.")
    if rule.minimum is not None and number < rule.minimum:
        _fail(f"'{number}' is less than the min value of '{rule.minimum}'.")


def _int(name: str, minimum: int | None = None) -> Rule:
    return Rule(name, int, minimum=minimum)


def _bool(name: str) -> Rule:
    return Rule(name, bool)


def _enum(name: str, *values: str) -> Rule:
    return Rule(name, enum=values)


def _hw() -> list[Rule]:
    return [
        _bool("hw:cpu_realtime"),
        Rule("hw:cpu_realtime_mask", pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
        _bool("hw:hide_hypervisor_id"),
        _enum("hw:cpu_policy", "dedicated", "shared", "mixed"),
        _enum("hw:cpu_thread_policy", "prefer", "isolate", "require"),
        _enum("hw:emulator_threads_policy", "isolate", "share"),
        Rule("hw:cpu_dedicated_mask", pattern=_CPU_SET),
        Rule("hw:mem_page_size", pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)"),
        _int("hw:numa_nodes", 1),
        Rule("hw:numa_cpus.{id}", pattern=_CPU_SET, name_regex=r"hw:numa_cpus\.\d+"),
        Rule("hw:numa_mem.{id}", int, minimum=1, name_regex=r"hw:numa_mem\.\d+"),
        _enum("hw:pci_numa_affinity_policy", "required", "preferred", "legacy", "socket"),
        _int("hw:cpu_sockets", 1),
        _int("hw:cpu_cores", 1),
        _int("hw:cpu_threads", 1),
        _int("hw:max_cpu_sockets", 1),
        _int("hw:max_cpu_cores", 1),
        _int("hw:max_cpu_threads", 1),
        _bool("hw:boot_menu"),
        _bool("hw:mem_encryption"),
        Rule("hw:pmem", pattern=r"([a-zA-Z0-9_]+(,)?)+"),
        _bool("hw:pmu"),
        _int("hw:serial_port_count", 0),
        _enum("hw:tpm_model", "tpm-tis", "tpm-crb"),
        _enum("hw:tpm_version", "1.2", "2.0"),
        _enum("hw:watchdog_action", "none", "pause", "poweroff", "reset", "disabled"),
        _bool("hw:vif_multiqueue_enabled"),
        _bool("hw:locked_memory"),
        _bool("hw:virtio_packed_ring"),
        _enum("hw:viommu_model", "intel", "smmuv3", "virtio", "auto"),
        _bool("hw:ephemeral_encryption"),
        Rule("hw:ephemeral_encryption_format"),
        _enum("hw:maxphysaddr_mode", "emulate", "passthrough"),
        _int("hw:maxphysaddr_bits", 1),
    ]


def _quota() -> list[Rule]:
    rules: list[Rule] = []
    for resource in ("cpu", "memory", "disk_io", "vif"):  # the VMware driver's
        rules += [
            _int(f"quota:{resource}_limit"),
            _int(f"quota:{resource}_reservation"),
            Rule(f"quota:{resource}_shares_level"),
            _int(f"quota:{resource}_shares_share"),
        ]
    rules += [_int(f"quota:cpu_{key}", 0) for key in ("shares", "period", "quota")]
    rules += [
        _int(f"quota:disk_{stat}_{metric}_sec", 0)
        for stat in ("read", "write", "total")
        for metric in ("bytes", "iops")
    ]
    rules += [
        _int(f"quota:vif_{way}_{metric}", 0)
        for way in ("inbound", "outbound")
        for metric in ("average", "peak", "burst")
    ]
    return rules


_CAPABILITIES = [
    "id",
    "uuid",
    "service_id",
    "host",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "hypervisor_type",
    "hypervisor_version",
    "hypervisor_hostname",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
    "host_ip",
    "mapped",
    "cpu_allocation_ratio",
    "ram_allocation_ratio",
    "disk_allocation_ratio",
    "total_usable_ram_mb",
    "total_usable_disk_gb",
    "disk_mb_used",
    "free_disk_mb",
    "vcpus_total",
    "num_instances",
    "num_io_ops",
    "failed_builds",
    "aggregates",
    "cell_uuid",
    "updated",
]
_NESTED_CAPABILITIES = [
    "cpu_info",
    "metrics",
    "stats",
    "numa_topology",
    "supported_hv_specs",
    "pci_device_pools",
    "nodename",
    "pci_stats",
    "supported_instances",
    "limits",
    "instances",
]


def _others() -> list[Rule]:
    rules = [
        _bool("hw_rng:allowed"),
        _int("hw_rng:rate_bytes", 0),
        _int("hw_rng:rate_period", 0),
        _int("hw_video:ram_max_mb", 0),
        _enum("os:secure_boot", "disabled", "required"),
        Rule("vmware:hw_version"),
        Rule("vmware:storage_policy"),
        Rule("accel:device_profile"),
        Rule("pci_passthrough:alias", pattern=r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"),
        Rule(
            "aggregate_instance_extra_specs:{key}",
            name_regex=r"aggregate_instance_extra_specs:.+",
        ),
        _bool("hide_hypervisor_id"),
        _enum("group_policy", "isolate", "none"),
    ]
    rules += [Rule(f"capabilities:{name}") for name in _CAPABILITIES]
    rules += [
        Rule(f"capabilities:{name}{{filter}}", name_regex=rf"capabilities:{name}(:\w+)*")
        for name in _NESTED_CAPABILITIES
    ]
    standard = "|".join(STANDARD_RESOURCE_CLASSES)
    rules += [
        Rule("resources{group}:{class}", int, name_regex=rf"resources{_GROUP}:({standard})"),
        Rule(
            "resources{group}:CUSTOM_{resource}",
            int,
            name_regex=rf"resources{_GROUP}:CUSTOM_[A-Z0-9_]+",
        ),
        Rule(
            "trait{group}:{trait}",
            enum=("required", "forbidden"),
            name_regex=rf"trait{_GROUP}:[A-Z][A-Z0-9_]*",
        ),
    ]
    return rules


RULES: tuple[Rule, ...] = (*_hw(), *_quota(), *_others())
_BY_NAME = {rule.name: rule for rule in RULES if not rule.name_regex}
_PARAMETERIZED = tuple(rule for rule in RULES if rule.name_regex)
#: The namespaces (regular expressions of a name's part before the first ':') Nova knows.
NAMESPACES = tuple(sorted({rule.regex().split(":", 1)[0] for rule in RULES if ":" in rule.name}))


def _namespace_known(prefix: str) -> bool:
    return any(re.fullmatch(namespace, prefix) for namespace in NAMESPACES)


def validate(name: str, value: str) -> None:
    """Check one extra spec as Nova does from 2.86 (`value` as stored: a string).

    :raises BadRequest: a known spec with a bad value, or an unknown name in a known namespace.
    """
    rule = _BY_NAME.get(name)
    if rule is None:
        rule = next((r for r in _PARAMETERIZED if re.fullmatch(r.regex(), name)), None)
    if rule is not None:
        rule.check(name, value)
        return
    if ":" not in name or not _namespace_known(name.split(":", 1)[0]):
        return  # the operator's own: kept as given
    raise BadRequest(
        f"Validation failed; extra spec '{name}' does not appear to be a valid extra spec."
    )
