"""VM-VM placement rules inside a cluster (vSphere DRS affinity / anti-affinity rules), as they
cross the driver boundary: VMs named by instance UUID, never by moref."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RuleKind(StrEnum):
    """Keep the VMs on one ESXi host, or each on a different one."""

    AFFINITY = "affinity"
    ANTI_AFFINITY = "anti-affinity"


@dataclass(frozen=True)
class VmGroupRule:
    """A VM-VM rule of a cluster.

    `vm_uuids` are the instance UUIDs of its VMs, sorted (VMs without one are left out);
    `mandatory` is vSphere's flag (DRS never violates the rule, and refuses a power-on that
    would); `key` is the backend's identifier for the rule, opaque.
    """

    name: str
    kind: RuleKind
    vm_uuids: tuple[str, ...]
    mandatory: bool
    enabled: bool
    key: str = ""
