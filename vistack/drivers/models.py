"""The frozen dataclasses that cross the driver boundary, in both directions.

Services build specs and read infos; no pyVmomi object, moref instance or dict ever crosses.
Backend identifiers (`id` fields) are opaque strings: a vSphere moref value, or a fake's counter.
Sizes are integers in the unit their name says (MB, GB, MHz), never "whatever vSphere uses".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PowerState(StrEnum):
    """The power states services reason about; each backend maps its own onto these."""

    ON = "on"
    OFF = "off"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


class Provisioning(StrEnum):
    """How a virtual disk's blocks are allocated (Cinder's `vmware:vmdk_type`)."""

    THIN = "thin"
    THICK = "thick"
    EAGER_ZEROED_THICK = "eagerZeroedThick"


@dataclass(frozen=True)
class ClusterInfo:
    """A vSphere cluster, i.e. one Nova compute node: its hosts, capacity and datastores.

    Free figures are totals minus what the backend reports in use; they are hints for the
    scheduler, not reservations.
    """

    id: str
    name: str
    hosts: tuple[str, ...]
    cpu_cores: int
    cpu_mhz_total: int
    cpu_mhz_free: int
    memory_mb_total: int
    memory_mb_free: int
    datastores: tuple[str, ...]


@dataclass(frozen=True)
class DatastoreInfo:
    """A datastore a volume or image may be placed on."""

    id: str
    name: str
    capacity_gb: int
    free_gb: int


@dataclass(frozen=True)
class TemplateRef:
    """A template VM made from an image on one datastore; clones start from it."""

    id: str
    name: str
    datastore: str


@dataclass(frozen=True)
class DiskSpec:
    """One disk of a new VM: a new empty disk of `size_gb`, or the existing `path` attached.

    For a VM cloned from a template the template's disks come first; a `size_gb` larger than
    the template's root disk grows it (first DiskSpec with `root=True`).
    """

    size_gb: int = 0
    path: str | None = None
    provisioning: Provisioning = Provisioning.THIN
    root: bool = False


@dataclass(frozen=True)
class NicSpec:
    """One NIC: the port group key it plugs into, and the MAC Neutron allocated."""

    portgroup: str
    mac: str


@dataclass(frozen=True)
class VMSpec:
    """Everything needed to build one VM for a Nova server.

    `instance_uuid` is the Nova server id and becomes `config.instanceUuid`, the VM's identity
    for every later call. `annotation` is informational only: metadata lives in vistack's DB
    because vcsim's extraConfig only appends and annotations are user-editable in vCenter.
    """

    instance_uuid: str
    name: str
    cluster: str
    datastore: str
    cpus: int
    memory_mb: int
    cores_per_socket: int = 1
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    annotation: str = ""
    template: TemplateRef | None = None


@dataclass(frozen=True)
class AttachedDisk:
    """A disk as a VM sees it: `path` is the datastore path, e.g. `[ds1] volumes/v1.vmdk`."""

    path: str
    capacity_gb: int


@dataclass(frozen=True)
class NicInfo:
    """A NIC as the VM has it."""

    mac: str
    portgroup: str


@dataclass(frozen=True)
class VMInfo:
    """A VM as the backend reports it now."""

    instance_uuid: str
    id: str
    name: str
    cluster: str
    host: str
    power_state: PowerState
    cpus: int
    cores_per_socket: int
    memory_mb: int
    disks: tuple[AttachedDisk, ...] = ()
    nics: tuple[NicInfo, ...] = ()
    annotation: str = ""
    datastore: str = ""


@dataclass(frozen=True)
class PortgroupInfo:
    """A distributed port group: `key` is what NICs reference; VLAN 0 means untagged."""

    key: str
    name: str
    vlan_id: int
    dvs: str


@dataclass(frozen=True)
class DiskInfo:
    """A stand-alone virtual disk (a Cinder volume's backing).

    `capacity_gb` is the size the disk was created or extended to, as far as the backend reports
    it; vcsim does not store capacities in its descriptor files, so the vSphere driver reports
    what it knows from the creating call (see `vistack.vsphere.volumes`).
    """

    path: str
    datastore: str
    capacity_gb: int
    provisioning: Provisioning = Provisioning.THIN


@dataclass(frozen=True)
class ImageFile:
    """A file stored on a datastore for an image (a VMDK, an ISO)."""

    datastore: str
    path: str
    size: int


@dataclass(frozen=True)
class DatastoreSpace:
    """A datastore's size and free space in bytes, as the backend reports them now.

    Bytes, not the GB of `DatastoreInfo`: Glance reports store sizes in bytes and must tell
    whether one image fits, which whole gigabytes rounded down cannot answer.
    """

    capacity: int
    free: int


@dataclass(frozen=True)
class Topology:
    """What a backend was set up with, so tests and the composition root can name things."""

    datacenter: str
    clusters: tuple[str, ...]
    datastores: tuple[str, ...]
    dvs: str
    portgroups: tuple[str, ...] = field(default_factory=tuple)
