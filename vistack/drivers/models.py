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
    #: An existing disk's IO allocation on the VM (its volume type's front-end QoS).
    io: DiskIo | None = None
    #: An existing disk other VMs may hold too (a multiattach volume): multi-writer sharing.
    shared: bool = False


@dataclass(frozen=True)
class NicSpec:
    """One NIC: the port group key it plugs into, and the MAC Neutron allocated."""

    portgroup: str
    mac: str


@dataclass(frozen=True)
class Allocation:
    """A VM's share of one resource (CPU in MHz, memory in MB), as vSphere's
    ResourceAllocationInfo: `None` everywhere is vSphere's default (no limit, no reservation,
    normal shares), so a flavor without `quota:` extra specs asks for nothing."""

    limit: int | None = None
    reservation: int | None = None
    #: `low`, `normal`, `high` or `custom` (then `shares` is the number of shares).
    shares_level: str | None = None
    shares: int | None = None


@dataclass(frozen=True)
class VMTuning:
    """What a flavor's `quota:cpu_*`, `quota:memory_*` and `vmware:hw_version` extra specs ask
    of the VM. In a `VMInfo` it is what the VM has (`hw_version` always filled there)."""

    cpu: Allocation = Allocation()
    memory: Allocation = Allocation()
    #: The virtual hardware version, `vmx-NN`; None: the template's (or vSphere's default).
    hw_version: str | None = None


@dataclass(frozen=True)
class IsoImage:
    """An ISO image (a config drive) that `create_vm` writes into the new VM's folder as
    `name` and puts in a CD-ROM, connected from the first power-on."""

    name: str
    data: bytes = field(repr=False)


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
    tuning: VMTuning = VMTuning()
    #: Written into the VM's folder and attached as CD-ROMs before the first power-on.
    isos: tuple[IsoImage, ...] = ()
    #: Power the VM on once it is complete (a build with nothing to do in between).
    power_on: bool = False
    #: False when the caller knows no VM with this instance UUID can exist (a build's first
    #: attempt): the driver then skips its duplicate lookup, one round trip per boot.
    may_exist: bool = True


@dataclass(frozen=True)
class DiskIo:
    """What a volume type's front-end QoS asks of one attached disk: vSphere's
    `StorageIOAllocationInfo` (an IOPS limit, and shares as `low`/`normal`/`high` or `custom`
    with a number). None everywhere is vSphere's default (unlimited, normal shares)."""

    iops_limit: int | None = None
    shares_level: str | None = None
    shares: int | None = None


@dataclass(frozen=True)
class AttachedDisk:
    """A disk as a VM sees it: `path` is the datastore path, e.g. `[ds1] volumes/v1.vmdk`.
    `io` is the disk's IO allocation when it has a limit or shares other than the default;
    `shared` says its backing is in multi-writer sharing (a multiattach volume)."""

    path: str
    capacity_gb: int
    io: DiskIo | None = None
    shared: bool = False


#: The virtual NIC adapter types a port may be plugged in as (vSphere device classes).
NIC_ADAPTERS = ("vmxnet3", "e1000", "e1000e")


@dataclass(frozen=True)
class NicInfo:
    """A NIC as the VM has it.

    `portgroup` is the port group key the NIC's backing names, on the switch `switch_uuid`.
    `device_key` is the backend's device key (4000+ on vCenter, 200+ on vcsim), which identifies
    the NIC inside the VM while it exists. `external_id` is the Neutron port id the NIC was
    plugged for ("" for NICs made otherwise), so an operator reading the VM's devices in vCenter
    can tell which port it is.
    `connected` is what the backend reports now: vCenter says False while the VM is off
    (vcsim keeps whatever the spec said, True).
    """

    mac: str
    portgroup: str
    switch_uuid: str = ""
    device_key: int = 0
    connected: bool = False
    external_id: str = ""
    adapter: str = "vmxnet3"

    @property
    def portgroup_key(self) -> str:
        """The same as `portgroup`: the name the network driver's callers use for it."""
        return self.portgroup


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
    tuning: VMTuning = VMTuning()


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


@dataclass(frozen=True)
class ConsoleTicket:
    """A one-time WebMKS ticket for a VM's console (`VirtualMachine.AcquireTicket("webmks")`):
    a WebMKS client connects to `wss://{host}:{port}/ticket/{ticket}` within minutes, and the
    ticket is spent. `ssl_thumbprint` pins the ESXi host's certificate."""

    ticket: str
    host: str
    port: int
    ssl_thumbprint: str = ""
    #: The URL vCenter gave with the ticket (7.0 and later), else empty.
    given_url: str = ""

    @property
    def url(self) -> str:
        return self.given_url or f"wss://{self.host}:{self.port}/ticket/{self.ticket}"


@dataclass(frozen=True)
class VMStats:
    """What the backend reports about a running VM for Nova's diagnostics.

    `raw` holds the backend's own flat figures (vSphere's `summary.config`, `quickStats` and
    `runtime` fields by name), shown as they are by the pre-2.48 diagnostics; the typed fields
    are the ones the 2.48 standard format needs, None where the backend reports nothing (vcsim's
    quickStats are empty)."""

    power_state: PowerState
    cpus: int
    memory_mb: int
    uptime_seconds: int | None = None
    guest_memory_used_mb: int | None = None
    cpu_usage_mhz: int | None = None
    nic_macs: tuple[str, ...] = ()
    disk_paths: tuple[str, ...] = ()
    raw: dict[str, str | int | float | bool | None] = field(default_factory=dict)
