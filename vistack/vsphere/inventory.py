"""A live, read-only picture of one vCenter: clusters, hosts, datastores, switches, VMs.

A background thread keeps it current with `WaitForUpdatesEx` on a private PropertyCollector
whose filter covers a ContainerView of the datacenter. The first answer of a new filter lists
every object (`enter`), which is the full read; later answers carry only changes. The filter is
thrown away and rebuilt (a full resync) every `resync_seconds`, after any error, and after the
session logged in again (vCenter restarted: every session-scoped object is gone, and the
simulator loses all state), because not every change is published: the simulator does not
report maintenance mode, portgroup reconfiguration or leaf `config.*` paths.

Paths are coarse where values change (`runtime`, `summary`, `config` of small objects) and
leaves where a whole `config` would be costly (VMs: only `config.instanceUuid`/`template`,
which do not change once set). Derived facts are computed from the reliable side of each
relation: a datastore's clusters from `host.datastore` (the simulator's `datastore.host` lists
only the last host), a VM's cluster from its `runtime.host`.

Readers call `snapshot()`: an immutable `InventorySnapshot` they may keep as long as they like.
Connection loss and recovery are logged by the session (once each); the inventory rebuilds
itself with backoff while vCenter is down.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vistack.drivers.errors import DriverError, NotFoundError, TransientError
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.properties import (
    PropertyCollector,
    moref_of,
    plain,
    retrieve,
    retrieve_one,
    to_object_props,
    type_of,
    vim_type,
)
from vistack.vsphere.session import Client, HealthState, VCenterSession
from vistack.vsphere.vmomi import vim

LOG = logging.getLogger("vistack.vsphere")

#: What the inventory reads of each type.
WATCHED: dict[str, tuple[str, ...]] = {
    "ClusterComputeResource": ("name", "host", "summary", "configurationEx"),
    "HostSystem": ("name", "summary", "datastore"),
    "Datastore": ("name", "summary"),
    "DistributedVirtualSwitch": ("name", "uuid", "portgroup", "config", "summary"),
    "DistributedVirtualPortgroup": ("name", "key", "config"),
    "VirtualMachine": ("name", "runtime", "config.instanceUuid", "config.template"),
}

MIB = 1024 * 1024


@dataclass(frozen=True)
class ClusterInfo:
    """A cluster: one Nova compute node. CPU in MHz, memory in MiB."""

    moref: str
    name: str
    hosts: tuple[str, ...]
    drs_enabled: bool
    total_cpu_mhz: int
    used_cpu_mhz: int
    total_memory_mb: int
    used_memory_mb: int
    num_cpu_cores: int
    #: Hosts connected and out of maintenance mode.
    num_usable_hosts: int
    #: Datastores mounted by at least one of its hosts.
    datastores: tuple[str, ...]
    #: Listed in the endpoint's `clusters` (or that list is empty).
    managed: bool

    @property
    def free_cpu_mhz(self) -> int:
        return max(0, self.total_cpu_mhz - self.used_cpu_mhz)

    @property
    def free_memory_mb(self) -> int:
        return max(0, self.total_memory_mb - self.used_memory_mb)


@dataclass(frozen=True)
class HostInfo:
    moref: str
    name: str
    cluster: str | None
    cpu_cores: int
    #: Per core.
    cpu_mhz: int
    memory_mb: int
    used_cpu_mhz: int
    used_memory_mb: int
    connection_state: str
    power_state: str
    in_maintenance: bool
    datastores: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return self.connection_state == "connected" and not self.in_maintenance


@dataclass(frozen=True)
class DatastoreInfo:
    moref: str
    name: str
    type: str
    url: str
    capacity_bytes: int
    free_bytes: int
    accessible: bool
    #: Hosts that mount it (from `host.datastore`).
    hosts: tuple[str, ...]
    #: Clusters with at least one host that mounts it.
    clusters: tuple[str, ...]
    managed: bool


@dataclass(frozen=True)
class SwitchInfo:
    """A distributed virtual switch."""

    moref: str
    name: str
    uuid: str
    portgroups: tuple[str, ...]
    #: Member hosts.
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class PortgroupInfo:
    """A distributed portgroup; its `key` equals its moref."""

    key: str
    moref: str
    name: str
    switch: str
    switch_uuid: str
    #: The access VLAN (0: untagged), or None for trunk/private-VLAN portgroups.
    vlan_id: int | None
    #: Trunked ranges (inclusive), for trunk portgroups such as the uplinks.
    vlan_ranges: tuple[tuple[int, int], ...]
    uplink: bool


@dataclass(frozen=True)
class VMInfo:
    moref: str
    #: `config.instanceUuid`: the Nova server id for VMs vistack created.
    instance_uuid: str | None
    name: str
    power_state: str
    connection_state: str
    host: str | None
    cluster: str | None
    template: bool


@dataclass(frozen=True)
class InventorySnapshot:
    """One consistent picture; the tuples are sorted by name (VMs by moref)."""

    vcenter: str
    datacenter: str | None
    clusters: tuple[ClusterInfo, ...] = ()
    hosts: tuple[HostInfo, ...] = ()
    datastores: tuple[DatastoreInfo, ...] = ()
    switches: tuple[SwitchInfo, ...] = ()
    portgroups: tuple[PortgroupInfo, ...] = ()
    vms: tuple[VMInfo, ...] = ()
    #: Session health when the snapshot was handed out.
    state: HealthState | None = None
    #: Wall-clock time of the last full read, None before the first one.
    synced_at: float | None = None
    #: Increments with every change applied.
    version: int = 0
    #: Wall-clock time just before vCenter was asked for what this snapshot shows: every change
    #: vCenter made before this instant is in it (None for snapshots not read from vCenter).
    observed_at: float | None = None

    @functools.cached_property
    def _by_moref(self) -> dict[str, Any]:
        items: Iterable[Any] = (
            *self.clusters,
            *self.hosts,
            *self.datastores,
            *self.switches,
            *self.portgroups,
            *self.vms,
        )
        return {item.moref: item for item in items}

    @functools.cached_property
    def _vms_by_uuid(self) -> dict[str, VMInfo]:
        return {vm.instance_uuid: vm for vm in self.vms if vm.instance_uuid}

    @property
    def synced(self) -> bool:
        return self.synced_at is not None

    def get(self, moref: str) -> Any:
        """The object of any kind with that moref, or None."""
        return self._by_moref.get(moref)

    def cluster(self, name: str) -> ClusterInfo | None:
        return next((c for c in self.clusters if c.name == name), None)

    def datastore(self, name: str) -> DatastoreInfo | None:
        return next((d for d in self.datastores if d.name == name), None)

    def portgroup(self, name: str) -> PortgroupInfo | None:
        return next((p for p in self.portgroups if p.name == name), None)

    def vm(self, instance_uuid: str) -> VMInfo | None:
        return self._vms_by_uuid.get(instance_uuid)

    def name_of(self, moref: str) -> str:
        item = self.get(moref)
        return str(item.name) if item is not None else moref


# -- reading ---------------------------------------------------------------------------------


def find_datacenter(client: Client, endpoint: VCenterEndpoint) -> tuple[Any, str | None]:
    """The datacenter to watch (reference and name): the configured one, or the only one.

    With several datacenters and none configured, the root folder (all of them) is used.

    :raises NotFoundError: the configured datacenter does not exist.
    """
    datacenters = retrieve(client, "Datacenter", ["name"])
    if endpoint.datacenter:
        for dc in datacenters:
            if dc.props.get("name") == endpoint.datacenter:
                return client.moref("Datacenter", dc.moref), endpoint.datacenter
        names = ", ".join(sorted(str(dc.props.get("name")) for dc in datacenters)) or "none"
        raise NotFoundError(
            f"datacenter {endpoint.datacenter!r} not found in vCenter {endpoint.name} "
            f"(it has: {names})"
        )
    if len(datacenters) == 1:
        return client.moref("Datacenter", datacenters[0].moref), datacenters[0].props.get("name")
    return client.content.rootFolder, None


def _filter(client: Client, root: Any, types: Iterable[str] = WATCHED) -> tuple[Any, Any]:
    """(FilterSpec, ContainerView) over `types` under `root`."""
    names = list(types)
    view = client.content.viewManager.CreateContainerView(
        root, [vim_type(name) for name in names], True
    )
    spec = PropertyCollector.FilterSpec(
        objectSet=[
            PropertyCollector.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[
                    PropertyCollector.TraversalSpec(
                        name="view", path="view", skip=False, type=vim.view.ContainerView
                    )
                ],
            )
        ],
        propSet=[
            PropertyCollector.PropertySpec(
                type=vim_type(name), pathSet=list(WATCHED[name]), all=False
            )
            for name in names
        ],
    )
    return spec, view


def read_all(client: Client, root: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every watched object under `root` in one RetrievePropertiesEx: moref → (type, props)."""
    spec, view = _filter(client, root)
    try:
        collector = client.content.propertyCollector
        result = collector.RetrievePropertiesEx([spec], PropertyCollector.RetrieveOptions())
        objects: dict[str, tuple[str, dict[str, Any]]] = {}
        while result is not None:
            for content in result.objects or ():
                found = to_object_props(content)
                objects[found.moref] = (found.type, found.props)
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
        return objects
    finally:
        view.DestroyView()


def build_snapshot(
    endpoint: VCenterEndpoint,
    datacenter: str | None,
    objects: dict[str, tuple[str, dict[str, Any]]],
    *,
    state: HealthState | None = None,
    synced_at: float | None = None,
    version: int = 0,
    observed_at: float | None = None,
) -> InventorySnapshot:
    """Turn raw properties into the typed, cross-referenced snapshot."""
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {name: [] for name in WATCHED}
    for moref, (kind, props) in objects.items():
        by_type.setdefault(_watched_type(kind), []).append((moref, props))

    cluster_of_host: dict[str, str] = {}
    for moref, props in by_type["ClusterComputeResource"]:
        for host in props.get("host") or ():
            cluster_of_host[host] = moref

    hosts = [
        _host(moref, props, cluster_of_host.get(moref))
        for moref, props in _sorted(by_type, "HostSystem")
    ]
    hosts_by_moref = {h.moref: h for h in hosts}
    hosts_of_datastore: dict[str, list[str]] = {}
    for host in hosts:
        for ds in host.datastores:
            hosts_of_datastore.setdefault(ds, []).append(host.moref)

    clusters = []
    for moref, props in _sorted(by_type, "ClusterComputeResource"):
        members = [hosts_by_moref[h] for h in props.get("host") or () if h in hosts_by_moref]
        clusters.append(_cluster(endpoint, moref, props, members))

    datastores = []
    for moref, props in _sorted(by_type, "Datastore"):
        mounted = tuple(sorted(hosts_of_datastore.get(moref, ())))
        in_clusters = tuple(sorted({cluster_of_host[h] for h in mounted if h in cluster_of_host}))
        datastores.append(_datastore(endpoint, moref, props, mounted, in_clusters))

    switches = [
        _switch(moref, props) for moref, props in _sorted(by_type, "DistributedVirtualSwitch")
    ]
    uuid_of_switch = {s.moref: s.uuid for s in switches}
    uplinks = {pg for s in by_type["DistributedVirtualSwitch"] for pg in _uplink_portgroups(s[1])}
    portgroups = [
        _portgroup(moref, props, uuid_of_switch, uplinks)
        for moref, props in _sorted(by_type, "DistributedVirtualPortgroup")
    ]
    vms = [
        _vm(moref, props, cluster_of_host)
        for moref, props in sorted(by_type["VirtualMachine"], key=lambda item: item[0])
    ]
    return InventorySnapshot(
        vcenter=endpoint.name,
        datacenter=datacenter,
        clusters=tuple(clusters),
        hosts=tuple(hosts),
        datastores=tuple(datastores),
        switches=tuple(switches),
        portgroups=tuple(portgroups),
        vms=tuple(vms),
        state=state,
        synced_at=synced_at,
        version=version,
        observed_at=observed_at,
    )


def _watched_type(kind: str) -> str:
    # A real vCenter reports VmwareDistributedVirtualSwitch, the simulator the base type.
    return "DistributedVirtualSwitch" if kind.endswith("DistributedVirtualSwitch") else kind


def _sorted(
    by_type: dict[str, list[tuple[str, dict[str, Any]]]], kind: str
) -> list[tuple[str, dict[str, Any]]]:
    return sorted(by_type.get(kind, ()), key=lambda item: (str(item[1].get("name")), item[0]))


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _host(moref: str, props: dict[str, Any], cluster: str | None) -> HostInfo:
    summary = props.get("summary")
    hardware = getattr(summary, "hardware", None)
    stats = getattr(summary, "quickStats", None)
    runtime = getattr(summary, "runtime", None)
    return HostInfo(
        moref=moref,
        name=str(props.get("name", moref)),
        cluster=cluster,
        cpu_cores=_int(getattr(hardware, "numCpuCores", 0)),
        cpu_mhz=_int(getattr(hardware, "cpuMhz", 0)),
        memory_mb=_int(getattr(hardware, "memorySize", 0)) // MIB,
        used_cpu_mhz=_int(getattr(stats, "overallCpuUsage", 0)),
        used_memory_mb=_int(getattr(stats, "overallMemoryUsage", 0)),
        connection_state=str(getattr(runtime, "connectionState", None) or "unknown"),
        power_state=str(getattr(runtime, "powerState", None) or "unknown"),
        in_maintenance=bool(getattr(runtime, "inMaintenanceMode", False)),
        datastores=tuple(props.get("datastore") or ()),
    )


def _cluster(
    endpoint: VCenterEndpoint, moref: str, props: dict[str, Any], hosts: list[HostInfo]
) -> ClusterInfo:
    name = str(props.get("name", moref))
    summary = props.get("summary")
    drs = getattr(props.get("configurationEx"), "drsConfig", None)
    usable = [h for h in hosts if h.usable]
    return ClusterInfo(
        moref=moref,
        name=name,
        hosts=tuple(h.moref for h in hosts),
        drs_enabled=bool(getattr(drs, "enabled", False)),
        total_cpu_mhz=_int(getattr(summary, "totalCpu", 0)),
        used_cpu_mhz=sum(h.used_cpu_mhz for h in usable),
        total_memory_mb=_int(getattr(summary, "totalMemory", 0)) // MIB,
        used_memory_mb=sum(h.used_memory_mb for h in usable),
        num_cpu_cores=_int(getattr(summary, "numCpuCores", 0)),
        num_usable_hosts=len(usable),
        datastores=tuple(sorted({ds for h in hosts for ds in h.datastores})),
        managed=not endpoint.clusters or name in endpoint.clusters,
    )


def _datastore(
    endpoint: VCenterEndpoint,
    moref: str,
    props: dict[str, Any],
    hosts: tuple[str, ...],
    clusters: tuple[str, ...],
) -> DatastoreInfo:
    name = str(props.get("name", moref))
    summary = props.get("summary")
    return DatastoreInfo(
        moref=moref,
        name=name,
        type=str(getattr(summary, "type", None) or ""),
        url=str(getattr(summary, "url", None) or ""),
        capacity_bytes=_int(getattr(summary, "capacity", 0)),
        free_bytes=_int(getattr(summary, "freeSpace", 0)),
        accessible=bool(getattr(summary, "accessible", False)),
        hosts=hosts,
        clusters=clusters,
        managed=not endpoint.datastores or name in endpoint.datastores,
    )


def _switch(moref: str, props: dict[str, Any]) -> SwitchInfo:
    # summary.hostMember on both; the simulator leaves config.host empty.
    members = list(getattr(props.get("summary"), "hostMember", None) or ())
    if not members:
        members = [
            member.config.host
            for member in getattr(props.get("config"), "host", None) or ()
            if getattr(member.config, "host", None) is not None
        ]
    return SwitchInfo(
        moref=moref,
        name=str(props.get("name", moref)),
        uuid=str(props.get("uuid") or ""),
        portgroups=tuple(props.get("portgroup") or ()),
        hosts=tuple(sorted(moref_of(h) for h in members)),
    )


def _uplink_portgroups(props: dict[str, Any]) -> set[str]:
    config = props.get("config")
    return {moref_of(pg) for pg in getattr(config, "uplinkPortgroup", None) or ()}


def _portgroup(
    moref: str, props: dict[str, Any], uuid_of_switch: dict[str, str], uplinks: set[str]
) -> PortgroupInfo:
    config = props.get("config")
    switch_ref = getattr(config, "distributedVirtualSwitch", None)
    switch = moref_of(switch_ref) if switch_ref is not None else ""
    vlan = getattr(getattr(config, "defaultPortConfig", None), "vlan", None)
    vlan_id: int | None = None
    ranges: tuple[tuple[int, int], ...] = ()
    if isinstance(vlan, vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec):
        vlan_id = _int(vlan.vlanId)
    elif isinstance(vlan, vim.dvs.VmwareDistributedVirtualSwitch.TrunkVlanSpec):
        ranges = tuple((_int(r.start), _int(r.end)) for r in vlan.vlanId or ())
    return PortgroupInfo(
        key=str(props.get("key") or moref),
        moref=moref,
        name=str(props.get("name", moref)),
        switch=switch,
        switch_uuid=uuid_of_switch.get(switch, ""),
        vlan_id=vlan_id,
        vlan_ranges=ranges,
        uplink=moref in uplinks or bool(getattr(config, "uplink", False)),
    )


def _vm(moref: str, props: dict[str, Any], cluster_of_host: dict[str, str]) -> VMInfo:
    runtime = props.get("runtime")
    host_ref = getattr(runtime, "host", None)
    host = moref_of(host_ref) if host_ref is not None else None
    return VMInfo(
        moref=moref,
        instance_uuid=props.get("config.instanceUuid"),
        name=str(props.get("name", moref)),
        power_state=str(getattr(runtime, "powerState", None) or "unknown"),
        connection_state=str(getattr(runtime, "connectionState", None) or "unknown"),
        host=host,
        cluster=cluster_of_host.get(host) if host else None,
        template=bool(props.get("config.template", False)),
    )


def _assign_nested(props: dict[str, Any], path: str, value: Any) -> bool:
    """Apply a change reported below a watched path ("runtime.powerState" under "runtime").

    The simulator reports leaves even when the filter names their parent; vCenter may too.
    False when the path cannot be followed (an array element, an unset parent).
    """
    if "[" in path:
        return False
    for watched, current in props.items():
        if path.startswith(watched + "."):
            *parents, leaf = path[len(watched) + 1 :].split(".")
            for name in parents:
                current = getattr(current, name, None)
            if current is None or not hasattr(current, leaf):
                return False
            setattr(current, leaf, value)
            return True
    return False


def _wait_for_updates(collector: Any, version: str, options: Any, _client: Client) -> Any:
    return collector.WaitForUpdatesEx(version, options)


# -- the live cache --------------------------------------------------------------------------


class Inventory:
    """The live inventory of one vCenter, fed by a background thread (`start`/`stop`).

    :param resync_seconds: period of the full re-read.
    :param max_wait_seconds: longest single `WaitForUpdatesEx`; bounds how long `stop` waits
        and must stay below the session's read timeout.
    """

    def __init__(
        self,
        session: VCenterSession,
        *,
        resync_seconds: float = 60,
        max_wait_seconds: int = 10,
    ) -> None:
        self.session = session
        self.endpoint = session.endpoint
        self.resync_seconds = resync_seconds
        self.max_wait_seconds = max_wait_seconds
        self._snapshot = InventorySnapshot(vcenter=self.endpoint.name, datacenter=None)
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._resync = threading.Event()
        self._thread: threading.Thread | None = None
        self._collector: Any = None
        self._listeners: list[Callable[[InventorySnapshot], None]] = []
        #: Session generation of the last full read: a new one means vCenter was re-logged into.
        self._synced_generation = 0

    # -- readers ------------------------------------------------------------------------------

    def snapshot(self) -> InventorySnapshot:
        """The latest picture, stamped with the session's current health."""
        snapshot = self._snapshot
        state = self.session.state
        if snapshot.state != state:
            snapshot = dataclasses.replace(snapshot, state=state)
        return snapshot

    def wait_until(
        self, predicate: Callable[[InventorySnapshot], bool], timeout: float
    ) -> InventorySnapshot:
        """Block until `predicate(snapshot)` holds.

        :raises TransientError: it did not within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.snapshot()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransientError(
                        f"inventory of vCenter {self.endpoint.name} did not reach the expected "
                        f"state within {timeout:g} s (state: {self.session.state.state})"
                    )
                self._changed.wait(remaining)
        return self.snapshot()

    def wait_synced(self, timeout: float) -> InventorySnapshot:
        """Block until the first full read is done."""
        return self.wait_until(lambda s: s.synced, timeout)

    def add_listener(self, listener: Callable[[InventorySnapshot], None]) -> None:
        """Call `listener(snapshot)` from the inventory thread after every change."""
        self._listeners.append(listener)

    def request_resync(self) -> None:
        """Re-read everything soon (after the current long poll ends)."""
        self._resync.set()
        self._cancel_wait()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"vcenter-inventory-{self.endpoint.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            deadline = time.monotonic() + self.max_wait_seconds + self.session.connect_timeout + 5
            while self._thread.is_alive() and time.monotonic() < deadline:
                # A cancel that lands just before the thread's next long poll starts is lost:
                # repeat it until the thread has seen `_stopping`.
                self._cancel_wait()
                self._thread.join(timeout=0.1)
            self._thread = None
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Inventory:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            generation = self.session.generation
            try:
                self._watch()
                backoff = 1.0
            except DriverError as exc:
                if self._stopping.is_set():
                    break
                # The session logs outages; here only what the inventory itself does.
                LOG.debug("inventory of vCenter %s: %s", self.endpoint.name, exc)
                if self.session.generation != generation and not isinstance(exc, TransientError):
                    continue  # logged in again meanwhile: rebuild at once
                self._notify()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _watch(self) -> None:
        """One full read, then changes until a resync is due; raises on any failure."""
        session = self.session
        generation = session.generation
        root, datacenter = session.call(lambda c: find_datacenter(c, self.endpoint))
        collector, owned = session.call(lambda c: self._create_collector(c, root))
        self._collector = collector
        self._resync.clear()
        try:
            options = PropertyCollector.WaitOptions(maxWaitSeconds=self.max_wait_seconds)
            asked = time.time()
            update = session.call(lambda c: collector.WaitForUpdatesEx("", options), long_poll=True)
            objects: dict[str, tuple[str, dict[str, Any]]] = {}
            version = self._apply(objects, update) if update is not None else ""
            self._publish(datacenter, objects, full=True, observed_at=asked)
            deadline = time.monotonic() + self.resync_seconds
            while (
                not self._stopping.is_set()
                and not self._resync.is_set()
                and time.monotonic() < deadline
                and session.generation == generation
            ):
                # Wake up for the resync on time rather than after a whole long poll.
                wait = max(1, min(self.max_wait_seconds, math.ceil(deadline - time.monotonic())))
                options = PropertyCollector.WaitOptions(maxWaitSeconds=wait)
                asked = time.time()
                update = session.call(
                    functools.partial(_wait_for_updates, collector, version, options),
                    long_poll=True,
                )
                if update is None:
                    continue
                version = self._apply(objects, update)
                self._publish(datacenter, objects, full=False, observed_at=asked)
        finally:
            self._collector = None
            # Both live as long as the session; after a re-login they are gone already.
            if session.generation == generation:
                self._destroy(collector, owned)

    @staticmethod
    def _create_collector(client: Client, root: Any) -> tuple[Any, list[Any]]:
        """A private PropertyCollector (nobody else's filters), and its filters and views.

        One filter per type: the simulator's WaitForUpdatesEx panics when an object is
        destroyed while a filter's property specs name other types as well.
        """
        collector = client.content.propertyCollector.CreatePropertyCollector()
        owned = []
        for name in WATCHED:
            spec, view = _filter(client, root, [name])
            owned += [collector.CreateFilter(spec, True), view]
        return collector, owned

    def _destroy(self, collector: Any, owned: list[Any]) -> None:
        def destroy(_client: Client) -> None:
            # Filters one by one first: the simulator's DestroyPropertyCollector skips every
            # other filter of a collector (it removes from the list it iterates) and panics.
            for item in owned:
                if isinstance(item, vim.view.ContainerView):
                    item.DestroyView()
                else:
                    item.DestroyPropertyFilter()
            collector.DestroyPropertyCollector()

        try:
            self.session.call(destroy)
        except DriverError as exc:
            LOG.debug("inventory of vCenter %s: cleanup failed: %s", self.endpoint.name, exc)

    def _cancel_wait(self) -> None:
        collector = self._collector
        if collector is None:
            return
        try:
            self.session.call(lambda _c: collector.CancelWaitForUpdates())
        except DriverError as exc:
            LOG.debug("inventory of vCenter %s: cancel failed: %s", self.endpoint.name, exc)

    def _apply(self, objects: dict[str, tuple[str, dict[str, Any]]], update: Any) -> str:
        """Fold one `UpdateSet` into `objects`; returns its version."""
        stale: list[Any] = []
        for filter_set in update.filterSet or ():
            for change in filter_set.objectSet or ():
                moref = moref_of(change.obj)
                if change.kind == "leave":
                    objects.pop(moref, None)
                    continue
                if change.kind == "enter" or moref not in objects:
                    objects[moref] = (type_of(change.obj), {})
                kind, props = objects[moref]
                watched = WATCHED.get(_watched_type(kind), ())
                for item in change.changeSet or ():
                    if item.name in watched or change.kind == "enter":
                        if item.op in ("remove", "indirectRemove"):
                            props.pop(item.name, None)
                        else:
                            props[item.name] = plain(item.val)
                    elif not _assign_nested(props, item.name, item.val):
                        # An array element, or below an unset value: re-read the object.
                        stale.append(change.obj)
        for obj in stale:
            self._reread(objects, obj)
        return str(update.version)

    def _reread(self, objects: dict[str, tuple[str, dict[str, Any]]], obj: Any) -> None:
        kind = _watched_type(type_of(obj))
        found = self.session.call(lambda c: retrieve_one(c, obj, WATCHED[kind]))
        if found is None:
            objects.pop(moref_of(obj), None)
        else:
            objects[found.moref] = (found.type, found.props)

    def _publish(
        self,
        datacenter: str | None,
        objects: dict[str, tuple[str, dict[str, Any]]],
        *,
        full: bool,
        observed_at: float | None = None,
    ) -> None:
        previous = self._snapshot
        snapshot = build_snapshot(
            self.endpoint,
            datacenter,
            objects,
            state=self.session.state,
            synced_at=time.time() if full else previous.synced_at,
            version=previous.version + 1,
            observed_at=observed_at,
        )
        self._snapshot = snapshot
        if full:
            generation = self.session.generation
            recovered = previous.synced and generation != self._synced_generation
            self._synced_generation = generation
            log = LOG.info if recovered else LOG.debug
            log(
                "inventory of vCenter %s %s: %d clusters, %d hosts, %d datastores, "
                "%d portgroups, %d VMs",
                self.endpoint.name,
                "re-read after reconnecting" if recovered else "read",
                len(snapshot.clusters),
                len(snapshot.hosts),
                len(snapshot.datastores),
                len(snapshot.portgroups),
                len(snapshot.vms),
            )
        self._notify()
        for listener in list(self._listeners):
            listener(snapshot)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()
