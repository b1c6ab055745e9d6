"""Clusters as Nova sees them: one `nova-compute` service and one hypervisor per vSphere cluster
(DRS picks the ESXi host inside it), availability zones, and the capacity the scheduler weighs.

Services are rows (`compute_service`): a `nova-compute` per cluster, registered at start from
vCenter's cluster list, plus this controller's `nova-scheduler` and `nova-conductor`. Their
numbers (the ids Nova shows before 2.53) come from a counter and are never reused. There is no
heartbeat: a service's `updated_at` is when a controller last started (registration) or when it
was last enabled or disabled.

What vCenter reports (clusters, their hosts, cores, memory and datastores) is read through the
drivers and kept `INVENTORY_SECONDS`: a list of services or hypervisors would otherwise walk the
inventory on each call. A cluster is `up` while it is in vCenter's last listing; an unreachable
vCenter makes every cluster `down` (and leaves the scheduler no candidate) without failing reads.

A cluster's availability zone is the zone of the aggregate it is in (`os-aggregates`), else
its `[compute] cluster_zones` entry, else the default zone.

Usage is what Nova reports: the sizes of the flavors of the cluster's live servers. Capacity:
physical cores, memory and the datastores the cluster sees; the scheduler applies the allocation
ratios of `[compute]` on top.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import aggregates as aggregate_queries
from vistack.compute.db import services as queries
from vistack.compute.db.services import ClusterUsage
from vistack.compute.db.store import Collision, ComputeStore
from vistack.compute.db.tables import ComputeServiceRow
from vistack.config import ComputeSettings, ConfigError
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import DriverError
from vistack.drivers.models import ClusterInfo, DatastoreInfo

#: The namespace of the hypervisors' uuids (2.53): one per compute service, derived from it.
NODE_NAMESPACE = uuid.UUID("0d6f3f55-2b8f-5b4e-9a0c-6a1e3c9d7b21")

LOG = logging.getLogger(__name__)

COMPUTE = "nova-compute"
SCHEDULER = "nova-scheduler"
CONDUCTOR = "nova-conductor"
#: Nova's zone of the services that are not compute nodes.
INTERNAL_ZONE = "internal"
HYPERVISOR_TYPE = "VMware vCenter Server"
#: Nova's integer form of vCenter's version (7.0.0 → 7000000). The drivers do not report the
#: version of the vCenter they talk to, so this is the oldest vistack supports.
HYPERVISOR_VERSION = 7000000
#: How long one vCenter listing of clusters and datastores is reused.
INVENTORY_SECONDS = 10.0
#: How long the zones aggregates give hosts are reused (this controller's own aggregate
#: changes drop them at once; another controller's are seen within this time).
AGGREGATE_ZONES_SECONDS = 10.0
#: Attempts at registering services when another controller registers at the same moment.
REGISTER_ATTEMPTS = 5
UPDATE_ACTIONS = ("enable", "disable", "disable-log-reason")


@dataclass(frozen=True)
class ClusterCapacity:
    """A cluster the scheduler may place a server on, with what is left after allocation
    ratios (free = capacity * ratio - the flavors of its live servers)."""

    name: str
    zone: str
    hosts: tuple[str, ...]
    datastores: tuple[str, ...]
    vcpus_free: int
    memory_mb_free: int
    disk_gb_free: int
    running: int


@dataclass(frozen=True)
class ServiceState:
    """A service as `os-services` shows it."""

    number: int
    binary: str
    host: str
    zone: str
    disabled: bool
    disabled_reason: str | None
    up: bool
    updated_at: datetime | None
    #: Told down from outside (`os-services/force-down`, 2.11): no new server goes there.
    forced_down: bool = False
    #: The service's uuid, its id from 2.53.
    uuid: str = ""


@dataclass(frozen=True)
class Hypervisor:
    """A cluster as `os-hypervisors` shows it (physical capacity, flavors' usage)."""

    number: int
    name: str
    up: bool
    disabled: bool
    disabled_reason: str | None
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    disk_available_least: int
    host_ip: str
    cpu_info: dict[str, Any]
    servers: tuple[tuple[str, str], ...] = ()
    #: The ids from 2.53: the compute node's (derived from its service's) and the service's.
    uuid: str = ""
    service_uuid: str = ""

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.local_gb - self.local_gb_used


@dataclass(frozen=True)
class ZoneState:
    """An availability zone; `hosts` (detail only) maps each host to its enabled services."""

    name: str
    available: bool
    hosts: dict[str, list[ServiceState]] | None = None


@dataclass(frozen=True)
class Inventory:
    """vCenter's last answer: clusters by name (None when it could not be reached) and
    datastores by name."""

    clusters: dict[str, ClusterInfo] | None
    datastores: dict[str, DatastoreInfo] = field(default_factory=dict)


class ClusterService:
    """Services, hypervisors, availability zones and the scheduler's view of clusters."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        drivers: Drivers | None,
        settings: ComputeSettings,
    ) -> None:
        self._store = store
        self._policy = policy
        self._drivers = drivers
        self._settings = settings
        self._zones = _cluster_zones(settings.cluster_zones)
        self._lock = threading.Lock()
        self._inventory: Inventory | None = None
        self._inventory_at = 0.0
        self._host_ip: str | None = None
        #: The zones aggregates put hosts in, when they were read, and a generation bumped by
        #: each `forget_aggregate_zones` (a read that overlapped one is not kept).
        self._aggregate_zones: dict[str, str] | None = None
        self._aggregate_zones_at = 0.0
        self._aggregate_generation = 0

    # ------------------------------------------------------------------ registration

    def register_services(self) -> None:
        """Make sure this controller's scheduler and conductor and a `nova-compute` per
        cluster vCenter lists have a service row (existing rows keep their state and number).

        An unreachable vCenter is logged and leaves the compute rows as they are: the cloud
        starts, its clusters show `down` until vCenter answers. Two controllers starting at
        once may both insert a row: the loser retries and finds it.
        """
        me = socket.gethostname()
        wanted = [(SCHEDULER, me), (CONDUCTOR, me)]
        inventory = self._refresh()
        if inventory.clusters is not None:
            wanted += [(COMPUTE, name) for name in sorted(inventory.clusters)]
        # The counter's row exists before the transactions that lock it (it is then an
        # UPDATE that waits, never two racing INSERTs).
        self._store.ensure_project(queries.NUMBER_COUNTER)
        for _ in range(REGISTER_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    known = {(row.binary, row.host): row for row in queries.services(unit)}
                    seen = [
                        known.get((binary, host)) or queries.add(unit, binary, host)
                        for binary, host in wanted
                    ]
                    queries.touch(unit, seen)
                return
            except Collision:
                LOG.info("another controller registered services at the same time; retrying")
        LOG.error(
            "could not register the compute services after %d attempts; they are registered "
            "at the next start",
            REGISTER_ATTEMPTS,
        )

    # ------------------------------------------------------------------ the scheduler's view

    def zone_of(self, cluster: str) -> str:
        """The availability zone of a cluster: its aggregate's zone, else `cluster_zones`,
        else the default zone. Called per server in list views, so it reads cached zones."""
        zone = self._host_zones().get(cluster)
        if zone is not None:
            return zone
        return self._zones.get(cluster, self._settings.default_availability_zone)

    def forget_aggregate_zones(self) -> None:
        """Aggregates changed: the next `zone_of` reads their zones again. Called by this
        controller's aggregate changes after they commit; another controller's changes show
        here within `AGGREGATE_ZONES_SECONDS`."""
        with self._lock:
            self._aggregate_zones = None
            self._aggregate_generation += 1

    def _host_zones(self) -> dict[str, str]:
        """The zones aggregates put hosts in, read at most every `AGGREGATE_ZONES_SECONDS`."""
        with self._lock:
            if (
                self._aggregate_zones is not None
                and time.monotonic() - self._aggregate_zones_at < AGGREGATE_ZONES_SECONDS
            ):
                return self._aggregate_zones
            generation = self._aggregate_generation
        with self._store.transaction() as unit:
            zones = aggregate_queries.host_zones(unit)
        with self._lock:
            if generation == self._aggregate_generation:  # no change committed meanwhile
                self._aggregate_zones, self._aggregate_zones_at = zones, time.monotonic()
        return zones

    def zones(self) -> list[str]:
        """The zones a server may be asked for: those with an enabled compute service."""
        with self._store.transaction() as unit:
            rows = queries.services(unit)
        return sorted(
            {self.zone_of(r.host) for r in rows if r.binary == COMPUTE and not r.disabled}
        )

    def candidates(self, zone: str | None) -> list[ClusterCapacity]:
        """The clusters a new server may go to: enabled, up (in vCenter's listing) and, with
        `zone`, in that zone; each with its free capacity after allocation ratios.

        :raises BadRequest: `zone` has no enabled compute service.
        """
        with self._store.transaction() as unit:
            rows = queries.services(unit)
            usage = queries.usage_by_cluster(unit)
        enabled = [r for r in rows if r.binary == COMPUTE and not r.disabled]
        if zone is not None and zone not in {self.zone_of(r.host) for r in enabled}:
            raise BadRequest("The requested availability zone is not available")
        inventory = self._current()
        s = self._settings
        found = []
        for row in enabled:
            info = (inventory.clusters or {}).get(row.host)
            if info is None or row.forced_down:
                continue
            if zone is not None and self.zone_of(row.host) != zone:
                continue
            used = usage.get(row.host, ClusterUsage())
            capacity, free = _datastore_space(info, inventory)
            found.append(
                ClusterCapacity(
                    name=info.name,
                    zone=self.zone_of(info.name),
                    hosts=info.hosts,
                    datastores=info.datastores,
                    vcpus_free=int(info.cpu_cores * s.cpu_allocation_ratio) - used.vcpus,
                    memory_mb_free=(
                        int(info.memory_mb_total * s.ram_allocation_ratio) - used.memory_mb
                    ),
                    disk_gb_free=min(int(capacity * s.disk_allocation_ratio) - used.disk_gb, free),
                    running=used.servers,
                )
            )
        return found

    # ------------------------------------------------------------------ os-hypervisors

    def hypervisors(self, context: RequestContext, *, detail: bool) -> list[Hypervisor]:
        rule = "list-detail" if detail else "list"
        self._policy.authorize(f"os_compute_api:os-hypervisors:{rule}", context, {})
        return self._hypervisors()

    def hypervisor(self, context: RequestContext, hypervisor_id: str) -> Hypervisor:
        """:raises NotFound: no hypervisor has this id (ids are integers at 2.1)."""
        self._policy.authorize("os_compute_api:os-hypervisors:show", context, {})
        return self._hypervisor(hypervisor_id)

    def uptime(self, context: RequestContext, hypervisor_id: str) -> tuple[Hypervisor, str]:
        """The hypervisor and its "uptime": a cluster has none (its ESXi hosts boot on their
        own), so, as Nova's VMware driver does, the answer says where to look.

        :raises NotFound: no hypervisor has this id.
        """
        self._policy.authorize("os_compute_api:os-hypervisors:uptime", context, {})
        hypervisor = self._hypervisor(hypervisor_id)
        return (
            hypervisor,
            f"Please refer to vCenter for the uptime of the hosts of {hypervisor.name}",
        )

    def statistics(self, context: RequestContext) -> dict[str, int]:
        """The sums over every hypervisor (Nova's `hypervisor_statistics`)."""
        self._policy.authorize("os_compute_api:os-hypervisors:statistics", context, {})
        found = self._hypervisors()
        fields = (
            "vcpus",
            "memory_mb",
            "local_gb",
            "vcpus_used",
            "memory_mb_used",
            "local_gb_used",
            "free_ram_mb",
            "free_disk_gb",
            "running_vms",
            "disk_available_least",
        )
        totals = {f: sum(int(getattr(h, f)) for h in found) for f in fields}
        return {"count": len(found), "current_workload": 0, **totals}

    def search(
        self, context: RequestContext, pattern: str, *, servers: bool = False
    ) -> list[Hypervisor]:
        """Hypervisors whose name contains `pattern` (any case), with their servers if asked.

        :raises NotFound: none matches.
        """
        rule = "servers" if servers else "search"
        self._policy.authorize(f"os_compute_api:os-hypervisors:{rule}", context, {})
        needle = pattern.lower()
        found = [h for h in self._hypervisors(servers=servers) if needle in h.name.lower()]
        if not found:
            raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return found

    # ------------------------------------------------------------------ os-services

    def services(
        self, context: RequestContext, *, binary: str | None = None, host: str | None = None
    ) -> list[ServiceState]:
        self._policy.authorize("os_compute_api:os-services:list", context, {})
        with self._store.transaction() as unit:
            rows = queries.services(unit)
        if binary:
            rows = [r for r in rows if r.binary == binary]
        if host:
            rows = [r for r in rows if r.host == host]
        inventory = self._current() if any(r.binary == COMPUTE for r in rows) else None
        return [self._state(r, inventory) for r in rows]

    def update_service(self, context: RequestContext, action: str, body: Any) -> ServiceState:
        """`PUT /os-services/{enable,disable,disable-log-reason}` with `{"host", "binary"}`:
        only a `nova-compute` can be disabled (its cluster then gets no new server).

        :raises NotFound: unknown action, or no compute service on that host.
        :raises BadRequest: malformed body, another binary, a missing reason.
        """
        self._policy.authorize("os_compute_api:os-services:update", context, {})
        if action not in UPDATE_ACTIONS:
            raise NotFound("Unknown action")
        host, binary, reason = _service_body(body)
        if action == "disable-log-reason" and reason is None:
            raise BadRequest("Missing disabled reason field")
        if binary != COMPUTE:
            raise BadRequest(
                f"Updating a {binary} service is not supported. Only nova-compute services can "
                "be updated."
            )
        disabled = action != "enable"
        with self._store.transaction() as unit:
            row = queries.by_host(unit, binary, host)
            if row is None:
                raise NotFound(f"Host '{host}' is not mapped to any cell")
            queries.set_status(
                unit,
                row,
                disabled=disabled,
                reason=reason if action == "disable-log-reason" else None,
            )
        return self._state(row, self._current())

    def force_down(self, context: RequestContext, body: Any) -> ServiceState:
        """`PUT /os-services/force-down` (2.11) with `{"host", "binary", "forced_down"}`: an
        outside monitor's word that a cluster's `nova-compute` is down (its cluster then gets
        no new server, and the service shows `down`) or back.

        :raises BadRequest: malformed body, another binary. :raises NotFound: unknown host.
        """
        self._policy.authorize("os_compute_api:os-services:update", context, {})
        if not isinstance(body, dict) or "forced_down" not in body:
            raise BadRequest("Missing forced_down field")
        forced = body["forced_down"]
        if not isinstance(forced, bool):
            raise BadRequest(
                f"Invalid input for field/attribute forced_down. Value: {forced}. "
                f"{forced!r} is not of type 'boolean'"
            )
        host, binary, _ = _service_body({k: v for k, v in body.items() if k != "forced_down"})
        if binary != COMPUTE:
            raise BadRequest(
                f"Updating a {binary} service is not supported. Only nova-compute services can "
                "be updated."
            )
        with self._store.transaction() as unit:
            row = queries.by_host(unit, binary, host)
            if row is None:
                raise NotFound(f"Host '{host}' is not mapped to any cell")
            queries.set_forced_down(unit, row, forced)
        return self._state(row, self._current())

    def update_service_v253(
        self, context: RequestContext, service_uuid: str, body: Any
    ) -> ServiceState:
        """`PUT /os-services/{uuid}` (2.53): `status` (`enabled`/`disabled`, with an optional
        `disabled_reason`) and/or `forced_down`, on a `nova-compute` only.

        :raises BadRequest: a malformed body, neither field, a reason with `enabled`, another
            binary. :raises NotFound: no service has this uuid.
        """
        self._policy.authorize("os_compute_api:os-services:update", context, {})
        status, reason, forced = _v253_body(body)
        with self._store.transaction() as unit:
            row = queries.by_uuid(unit, service_uuid)
            if row is None:
                raise NotFound(f"Service {service_uuid} could not be found.")
            if row.binary != COMPUTE:
                raise BadRequest(
                    f"Updating a {row.binary} service is not supported. Only nova-compute "
                    "services can be updated."
                )
            if status is not None:
                disabled = status == "disabled"
                queries.set_status(
                    unit, row, disabled=disabled, reason=reason if disabled else None
                )
            if forced is not None:
                queries.set_forced_down(unit, row, forced)
        return self._state(row, self._current())

    def delete_service(self, context: RequestContext, service_id: str) -> None:
        """Forget a service; a `nova-compute` only once its cluster runs no server (it comes
        back at the next start if vCenter still lists the cluster), and its host leaves every
        aggregate it was in, as in Nova.

        :raises BadRequest: the id is not an integer.
        :raises NotFound: no service has this id.
        :raises Conflict: the cluster still hosts servers.
        """
        self._policy.authorize("os_compute_api:os-services:delete", context, {})
        number = _integer(service_id)
        if number is None and not _is_uuid(service_id):  # a uuid from 2.53 (the API checks)
            raise BadRequest("Invalid input received: id must be an integer")
        aggregate_queries.prepare(self._store)
        try:
            with self._store.transaction() as unit:
                # Under the aggregates' lock: no add_host can see the service and add its host
                # after the host has left every aggregate.
                aggregate_queries.lock(unit)
                if number is not None:
                    row = queries.by_number(unit, number)
                else:
                    row = queries.by_uuid(unit, service_id)
                if row is None:
                    raise NotFound(f"Service {service_id} not found.")
                if row.binary == COMPUTE and queries.count_on(unit, row.host):
                    raise Conflict(
                        "Unable to delete compute service that is hosting instances. Migrate or "
                        "delete the instances first."
                    )
                if row.binary == COMPUTE:  # as Nova, the host leaves its aggregates
                    aggregate_queries.remove_host_everywhere(unit, row.host)
                queries.remove(unit, row)
        finally:
            self.forget_aggregate_zones()

    # ------------------------------------------------------------------ os-availability-zone

    def availability_zones(self, context: RequestContext, *, detail: bool) -> list[ZoneState]:
        """Nova's zones: available when one of their services is enabled, listed unavailable
        when all are disabled. The list hides the `internal` zone; the detail (admin) shows it
        and each available zone's hosts with their enabled services."""
        rule = "detail" if detail else "list"
        self._policy.authorize(f"os_compute_api:os-availability-zone:{rule}", context, {})
        with self._store.transaction() as unit:
            rows = queries.services(unit)
        states = [self._state(r, self._current() if detail else None) for r in rows]
        if not detail:
            states = [s for s in states if s.zone != INTERNAL_ZONE]
        available = sorted({s.zone for s in states if not s.disabled})
        unavailable = sorted({s.zone for s in states} - set(available))
        zones = []
        for name in available:
            hosts: dict[str, list[ServiceState]] | None = None
            if detail:
                hosts = {}
                for state in states:
                    if state.zone == name and not state.disabled:
                        hosts.setdefault(state.host, []).append(state)
            zones.append(ZoneState(name, True, hosts))
        zones += [ZoneState(name, False) for name in unavailable]
        return zones

    # ------------------------------------------------------------------ internals

    def _state(self, row: ComputeServiceRow, inventory: Inventory | None) -> ServiceState:
        """`inventory` None: the state is not needed (it shows as up)."""
        if row.binary == COMPUTE:
            zone = self.zone_of(row.host)
            up = inventory is None or row.host in (inventory.clusters or {})
        else:
            zone, up = INTERNAL_ZONE, True
        return ServiceState(
            number=row.number,
            binary=row.binary,
            host=row.host,
            zone=zone,
            disabled=row.disabled,
            disabled_reason=row.disabled_reason,
            up=up and not row.forced_down,
            updated_at=row.updated_at,
            forced_down=row.forced_down,
            uuid=row.id,
        )

    def _hypervisor(self, hypervisor_id: str) -> Hypervisor:
        number = _integer(hypervisor_id)  # the uuid from 2.53 (the API checks which it takes)
        found = [h for h in self._hypervisors() if h.number == number or h.uuid == hypervisor_id]
        if not found:
            raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        return found[0]

    def _hypervisors(self, *, servers: bool = False) -> list[Hypervisor]:
        with self._store.transaction() as unit:
            rows = [r for r in queries.services(unit) if r.binary == COMPUTE]
            usage = queries.usage_by_cluster(unit)
            hosted = {r.host: tuple(queries.servers_on(unit, r.host)) for r in rows if servers}
        inventory = self._current()
        return [
            self._hypervisor_of(row, inventory, usage.get(row.host, ClusterUsage()), hosted)
            for row in rows
        ]

    def _hypervisor_of(
        self,
        row: ComputeServiceRow,
        inventory: Inventory,
        used: ClusterUsage,
        hosted: dict[str, tuple[tuple[str, str], ...]],
    ) -> Hypervisor:
        info = (inventory.clusters or {}).get(row.host)
        capacity, free = _datastore_space(info, inventory) if info else (0, 0)
        return Hypervisor(
            number=row.number,
            name=row.host,
            up=info is not None and not row.forced_down,
            disabled=row.disabled,
            disabled_reason=row.disabled_reason,
            vcpus=info.cpu_cores if info else 0,
            memory_mb=info.memory_mb_total if info else 0,
            local_gb=capacity,
            vcpus_used=used.vcpus,
            memory_mb_used=used.memory_mb,
            local_gb_used=used.disk_gb,
            running_vms=used.servers,
            disk_available_least=free,
            host_ip=self._controller_ip(),
            cpu_info=_cpu_info(info),
            servers=hosted.get(row.host, ()),
            uuid=str(uuid.uuid5(NODE_NAMESPACE, row.id)),
            service_uuid=row.id,
        )

    def _controller_ip(self) -> str:
        """The address of this controller, where the `nova-compute` of every cluster runs
        (Nova's `host_ip` is the compute service's `my_ip`)."""
        if self._host_ip is None:
            try:
                self._host_ip = socket.gethostbyname(socket.gethostname())
            except OSError:
                self._host_ip = "127.0.0.1"
        return self._host_ip

    def _current(self) -> Inventory:
        """vCenter's clusters and datastores, listed at most every `INVENTORY_SECONDS`."""
        with self._lock:
            if (
                self._inventory is not None
                and time.monotonic() - self._inventory_at < INVENTORY_SECONDS
            ):
                return self._inventory
        return self._refresh()

    def _refresh(self) -> Inventory:
        inventory = self._list()
        with self._lock:
            self._inventory, self._inventory_at = inventory, time.monotonic()
        return inventory

    def _list(self) -> Inventory:
        if self._drivers is None:
            return Inventory(clusters={})
        try:
            clusters = {c.name: c for c in self._drivers.compute.list_clusters()}
        except DriverError as exc:
            LOG.warning("vCenter did not list its clusters (they show down): %s", exc.message)
            return Inventory(clusters=None)
        try:
            datastores = {d.name: d for d in self._drivers.volumes.list_datastores()}
        except DriverError as exc:
            LOG.warning("vCenter did not list its datastores (disk shows 0): %s", exc.message)
            datastores = {}
        return Inventory(clusters, datastores)


def _cluster_zones(entries: Iterable[str]) -> dict[str, str]:
    """`[compute] cluster_zones` (`cluster:zone` entries) as a mapping.

    :raises ConfigError: an entry is not `cluster:zone`.
    """
    zones = {}
    for entry in entries:
        cluster, sep, zone = entry.rpartition(":")
        if not sep or not cluster.strip() or not zone.strip():
            raise ConfigError(
                f"[compute] cluster_zones entry {entry!r} must be 'cluster:zone' (a cluster's "
                "name, a colon, the availability zone it is in)"
            )
        if zone.strip() == INTERNAL_ZONE:
            raise ConfigError(
                f"[compute] cluster_zones entry {entry!r}: {INTERNAL_ZONE!r} is Nova's zone of "
                "its control services, not one a cluster can be in"
            )
        zones[cluster.strip()] = zone.strip()
    return zones


def _datastore_space(info: ClusterInfo, inventory: Inventory) -> tuple[int, int]:
    """(capacity, free) in GB of the datastores a cluster sees."""
    seen = [inventory.datastores[d] for d in info.datastores if d in inventory.datastores]
    return sum(d.capacity_gb for d in seen), sum(d.free_gb for d in seen)


def _cpu_info(info: ClusterInfo | None) -> dict[str, Any]:
    """Nova's `cpu_info` shape. The drivers report a cluster's cores, not the CPUs' vendor,
    model or threads: sockets count the ESXi hosts, threads the cores."""
    if info is None:
        return {}
    return {
        "vendor": None,
        "model": None,
        "topology": {
            "sockets": len(info.hosts),
            "cores": info.cpu_cores,
            "threads": info.cpu_cores,
        },
        "features": [],
        "mhz": info.cpu_mhz_total,
    }


def _service_body(body: Any) -> tuple[str, str, str | None]:
    """(host, binary, disabled_reason) of an `os-services` update, checked as Nova's schema.

    :raises BadRequest: not an object, a field missing, of the wrong type or length, or extra.
    """
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute body. The body must be an object.")
    extra = sorted(k for k in body if k not in ("host", "binary", "disabled_reason"))
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")
    values: dict[str, str] = {}
    for name in ("host", "binary", "disabled_reason"):
        value = body.get(name)
        if value is None and name != "disabled_reason":
            raise BadRequest(
                f"Invalid input for field/attribute {name}. '{name}' is a required property"
            )
        if value is None:
            continue
        if not isinstance(value, str) or not 1 <= len(value) <= 255:
            raise BadRequest(
                f"Invalid input for field/attribute {name}. Value: {value}. It must be a string "
                "of 1 to 255 characters."
            )
        values[name] = value
    return values["host"], values["binary"], values.get("disabled_reason")


def _v253_body(body: Any) -> tuple[str | None, str | None, bool | None]:
    """(status, disabled_reason, forced_down) of a 2.53 service update, as Nova's schema and
    rules read it."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute body. The body must be an object.")
    extra = sorted(k for k in body if k not in ("status", "disabled_reason", "forced_down"))
    if extra:
        named = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")
    status, reason, forced = (
        body.get("status"),
        body.get("disabled_reason"),
        body.get("forced_down"),
    )
    if status is not None and status not in ("enabled", "disabled"):
        raise BadRequest(
            f"Invalid input for field/attribute status. Value: {status}. {status!r} is not one "
            "of ['enabled', 'disabled']"
        )
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= 255):
        raise BadRequest(
            "Invalid input for field/attribute disabled_reason. It must be a string of 1 to 255 "
            "characters."
        )
    if forced is not None and not isinstance(forced, bool):
        raise BadRequest(
            f"Invalid input for field/attribute forced_down. Value: {forced}. {forced!r} is not "
            "of type 'boolean'"
        )
    if status is None and forced is None:
        raise BadRequest(
            "At least one of 'status' or 'forced_down' must be specified in the request body."
        )
    if status != "disabled" and reason is not None:
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    return status, reason, forced


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _integer(text: str) -> int | None:
    """An id of ASCII digits as an integer (`int` would also take " 7", "+7" or "7_0")."""
    return int(text) if text.isascii() and text.isdigit() else None


def cpu_info_text(info: dict[str, Any]) -> str:
    """`cpu_info` as Nova 2.1 renders it: a JSON string."""
    return json.dumps(info, sort_keys=True)
