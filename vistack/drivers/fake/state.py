"""The in-memory backend's state: typed records in dicts, one lock, fault injection, latency.

Every fake driver shares one `FakeState`, as vSphere's drivers share one vCenter, so a disk
attached through compute is the disk volumes refuses to delete. Records are mutable on purpose
(they model a server's objects); only frozen `models` leave the fake.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import (
    DiskIo,
    NicInfo,
    PowerState,
    Provisioning,
    Topology,
    VMTuning,
)
from vistack.drivers.vm_rules import VmGroupRule


@dataclass
class FakeHost:
    name: str
    cpu_cores: int
    cpu_mhz_per_core: int
    memory_mb: int


@dataclass
class FakeCluster:
    id: str
    name: str
    hosts: list[FakeHost]
    datastores: list[str]


@dataclass
class FakeDatastore:
    id: str
    name: str
    capacity_gb: int


@dataclass
class FakeDisk:
    """A VMDK file; `vm` is the instance UUID it is attached to, if any."""

    path: str
    datastore: str
    capacity_gb: int
    provisioning: Provisioning
    vm: str | None = None
    #: The bytes written to its data extent (a backup reads them, a restore writes them).
    data: bytes = b""
    #: The IO allocation (QoS) the VM it is attached to gives it.
    io: DiskIo | None = None
    #: In multi-writer sharing on the VMs that hold it (a multiattach volume).
    shared: bool = False


#: vSphere numbers a VM's NICs from this device key up; the fake does the same.
FIRST_NIC_KEY = 4000


@dataclass
class FakeNic:
    """A NIC; `key` 0 means "give it the next free device key" (see `FakeState.add_nic`)."""

    mac: str
    portgroup: str
    key: int = 0
    adapter: str = "vmxnet3"
    external_id: str = ""


#: The hardware version of the fake's templates and of VMs built without one (vSphere 6.5's).
FAKE_HW_VERSION = "vmx-13"
#: What a fake VM or template has when nothing asked for more.
FAKE_TUNING = VMTuning(hw_version=FAKE_HW_VERSION)


@dataclass
class FakeVM:
    instance_uuid: str
    id: str
    name: str
    cluster: str
    host: str
    datastore: str
    cpus: int
    cores_per_socket: int
    memory_mb: int
    disks: list[str] = field(default_factory=list)
    nics: list[FakeNic] = field(default_factory=list)
    annotation: str = ""
    power_state: PowerState = PowerState.OFF
    template: bool = False
    #: Datastore paths of the ISO files its CD-ROMs hold (the config drive).
    isos: list[str] = field(default_factory=list)
    #: The datastore path its serial port writes the guest's console to, or None.
    serial_log: str | None = None
    #: Allocations and hardware version (`hw_version` always set, as vCenter reports it).
    tuning: VMTuning = FAKE_TUNING


@dataclass
class FakePortgroup:
    key: str
    name: str
    vlan_id: int
    dvs: str


@dataclass
class FakeFile:
    datastore: str
    path: str
    data: bytes


@dataclass(frozen=True)
class FakeTopology:
    """The inventory a fresh fake starts with; defaults mirror the embedded vCenter's launcher."""

    datacenter: str = "DC0"
    clusters: int = 2
    hosts_per_cluster: int = 3
    datastores: int = 2
    datastore_capacity_gb: int = 1024
    portgroups: int = 1
    host_cpu_cores: int = 32
    host_cpu_mhz: int = 2294
    host_memory_gib: int = 256


class FakeState:
    """The whole fake vCenter; drivers take `lock` for every read-modify-write."""

    def __init__(self, topology: FakeTopology | None = None, *, latency: float = 0.0) -> None:
        self.spec = topology or FakeTopology()
        self.latency = latency
        self.lock = threading.RLock()
        self._faults: dict[str, list[DriverError]] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the initial inventory, with no pending faults."""
        with self.lock:
            spec = self.spec
            self._ids = itertools.count(1)
            self._faults.clear()
            self.datastores: dict[str, FakeDatastore] = {}
            for d in range(spec.datastores):
                name = f"LocalDS_{d}"
                self.datastores[name] = FakeDatastore(
                    self.new_id("datastore"), name, spec.datastore_capacity_gb
                )
            self.clusters: dict[str, FakeCluster] = {}
            for c in range(spec.clusters):
                name = f"{spec.datacenter}_C{c}"
                hosts = [
                    FakeHost(
                        f"{name}_H{h}",
                        spec.host_cpu_cores,
                        spec.host_cpu_mhz,
                        spec.host_memory_gib * 1024,
                    )
                    for h in range(spec.hosts_per_cluster)
                ]
                self.clusters[name] = FakeCluster(
                    self.new_id("domain-c"), name, hosts, list(self.datastores)
                )
            self.dvs: set[str] = {"DVS0"}
            self.portgroups: dict[str, FakePortgroup] = {}
            for p in range(spec.portgroups):
                key = self.new_id("dvportgroup")
                self.portgroups[key] = FakePortgroup(key, f"{spec.datacenter}_DVPG{p}", 0, "DVS0")
            self.vms: dict[str, FakeVM] = {}
            self.disks: dict[str, FakeDisk] = {}
            self.files: dict[tuple[str, str], FakeFile] = {}
            #: (cluster, rule name) → its DRS VM-VM rule (what `configurationEx.rule` holds).
            self.vm_rules: dict[tuple[str, str], VmGroupRule] = {}
            #: The key providers (KMS clusters) vCenter has; none by default, as vcsim.
            self.key_providers: list[str] = []

    def topology(self) -> Topology:
        with self.lock:
            return Topology(
                datacenter=self.spec.datacenter,
                clusters=tuple(self.clusters),
                datastores=tuple(self.datastores),
                dvs="DVS0",
                portgroups=tuple(pg.name for pg in self.portgroups.values()),
            )

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def fail_next(self, operation: str, error: DriverError) -> None:
        """Make the next call of `operation` (a driver method name) raise `error`, once."""
        with self.lock:
            self._faults.setdefault(operation, []).append(error)

    @contextmanager
    def operation(self, name: str) -> Iterator[None]:
        """Enter a driver call: wait the configured latency, raise an injected fault, lock."""
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            pending = self._faults.get(name)
            if pending:
                raise pending.pop(0)
            yield

    def vm(self, instance_uuid: str, *, template: bool = False) -> FakeVM:
        """The VM (or template) with this UUID; the other kind counts as absent."""
        vm = self.vms.get(instance_uuid)
        if vm is None or vm.template != template:
            kind = "template" if template else "VM"
            raise NotFoundError(f"no {kind} with instance UUID {instance_uuid}")
        return vm

    def datastore(self, name: str) -> FakeDatastore:
        try:
            return self.datastores[name]
        except KeyError:
            raise NotFoundError(f"no datastore named {name!r}") from None

    def datastore_used_gb(self, name: str) -> int:
        used = sum(d.capacity_gb for d in self.disks.values() if d.datastore == name)
        files = sum(len(f.data) for f in self.files.values() if f.datastore == name)
        return used + -(-files // 2**30)

    def datastore_free_bytes(self, name: str) -> int:
        """Free bytes of a datastore: capacity minus disk capacities and file bytes.

        Image files are counted to the byte (Glance needs to know whether one image fits),
        unlike `datastore_used_gb`, which rounds them up for the GB-sized volume calls.
        """
        ds = self.datastore(name)
        disks = sum(d.capacity_gb for d in self.disks.values() if d.datastore == name)
        files = sum(len(f.data) for f in self.files.values() if f.datastore == name)
        return max(0, (ds.capacity_gb - disks) * 2**30 - files)

    def portgroup(self, key: str) -> FakePortgroup:
        try:
            return self.portgroups[key]
        except KeyError:
            raise NotFoundError(f"no port group with key {key!r}") from None

    def switch_uuid(self, dvs: str) -> str:
        """A stable UUID per switch name, standing in for a DVS's `uuid` in NIC backings."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vistack-fake:{self.spec.datacenter}/{dvs}"))

    def add_nic(self, vm: FakeVM, nic: FakeNic) -> FakeNic:
        """Append `nic` to `vm` with the next device key, as vSphere assigns them."""
        nic.key = max((n.key for n in vm.nics), default=FIRST_NIC_KEY - 1) + 1
        vm.nics.append(nic)
        return nic

    def nic_info(self, vm: FakeVM, nic: FakeNic) -> NicInfo:
        """The NIC as vCenter would report it: connected only while the VM is on."""
        pg = self.portgroups.get(nic.portgroup)
        return NicInfo(
            mac=nic.mac,
            portgroup=nic.portgroup,
            switch_uuid=self.switch_uuid(pg.dvs) if pg is not None else "",
            device_key=nic.key,
            connected=vm.power_state is PowerState.ON,
            external_id=nic.external_id,
            adapter=nic.adapter,
        )
