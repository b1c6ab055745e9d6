"""`vistack vcenter check`: can vistack use this vCenter, and what does it offer?

Connects once (no keep-alive, no inventory thread), reads the inventory in one
RetrievePropertiesEx, probes the privileges vistack needs, and lists problems: errors make the
command fail (cluster without DRS, missing privileges, configured names that do not exist, an ESXi
host instead of vCenter), warnings do not. Connection failures are not problems but the
`DriverError` the session raises, whose message is already the one line to show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vistack.drivers.errors import NotFoundError
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.inventory import InventorySnapshot, build_snapshot, find_datacenter, read_all
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client, VCenterAbout, VCenterSession
from vistack.vsphere.vmomi import vim, vmodl

#: What the drivers do, as vCenter privileges, checked on the datacenter (propagating).
REQUIRED_PRIVILEGES = (
    "System.View",
    "Datastore.AllocateSpace",
    "Datastore.Browse",
    "Datastore.FileManagement",
    "DVPortgroup.Create",
    "DVPortgroup.Delete",
    "DVPortgroup.Modify",
    "Network.Assign",
    "Resource.AssignVMToPool",
    "VirtualMachine.Config.AddExistingDisk",
    "VirtualMachine.Config.AddNewDisk",
    "VirtualMachine.Config.AddRemoveDevice",
    "VirtualMachine.Config.CPUCount",
    "VirtualMachine.Config.DiskExtend",
    "VirtualMachine.Config.EditDevice",
    "VirtualMachine.Config.Memory",
    "VirtualMachine.Config.RemoveDisk",
    "VirtualMachine.Config.Settings",
    "VirtualMachine.Interact.PowerOff",
    "VirtualMachine.Interact.PowerOn",
    "VirtualMachine.Interact.Reset",
    "VirtualMachine.Interact.Suspend",
    "VirtualMachine.Inventory.Create",
    "VirtualMachine.Inventory.CreateFromExisting",
    "VirtualMachine.Inventory.Delete",
    "VirtualMachine.Inventory.Move",
    "VirtualMachine.Provisioning.Clone",
    "VirtualMachine.Provisioning.MarkAsTemplate",
    "VirtualMachine.State.CreateSnapshot",
    "VirtualMachine.State.RemoveSnapshot",
    "VirtualMachine.State.RevertToSnapshot",
)

GIB = 1024**3


@dataclass(frozen=True)
class Problem:
    """Something that stops (`error`) or hinders (`warning`) vistack on this vCenter."""

    severity: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class HostReport:
    name: str
    cpu_cores: int
    cpu_mhz: int
    memory_mb: int
    connection_state: str
    in_maintenance: bool


@dataclass(frozen=True)
class ClusterReport:
    name: str
    moref: str
    drs_enabled: bool
    managed: bool
    total_cpu_mhz: int
    free_cpu_mhz: int
    total_memory_mb: int
    free_memory_mb: int
    hosts: tuple[HostReport, ...]


@dataclass(frozen=True)
class DatastoreReport:
    name: str
    type: str
    managed: bool
    accessible: bool
    capacity_bytes: int
    free_bytes: int
    #: Names of the clusters with a host that mounts it.
    clusters: tuple[str, ...]


@dataclass(frozen=True)
class PortgroupReport:
    name: str
    key: str
    vlan: str
    uplink: bool


@dataclass(frozen=True)
class SwitchReport:
    name: str
    uuid: str
    hosts: int
    portgroups: tuple[PortgroupReport, ...]


@dataclass(frozen=True)
class VCenterReport:
    """What `vistack vcenter check` prints, as text (`render_text`) or JSON (`to_json`)."""

    name: str
    url: str
    availability_zone: str
    about: VCenterAbout
    datacenter: str | None
    clusters: tuple[ClusterReport, ...] = ()
    datastores: tuple[DatastoreReport, ...] = ()
    switches: tuple[SwitchReport, ...] = ()
    vms: int = 0
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    #: What a running cloud's session saw (outages), when checked through its data dir.
    cloud_health: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "url": self.url,
            "availability_zone": self.availability_zone,
            "ok": self.ok,
            "about": self.about.to_json(),
            "datacenter": self.datacenter,
            "clusters": [
                {
                    "name": c.name,
                    "moref": c.moref,
                    "drs_enabled": c.drs_enabled,
                    "managed": c.managed,
                    "cpu_mhz": {"total": c.total_cpu_mhz, "free": c.free_cpu_mhz},
                    "memory_mb": {"total": c.total_memory_mb, "free": c.free_memory_mb},
                    "hosts": [
                        {
                            "name": h.name,
                            "cpu_cores": h.cpu_cores,
                            "cpu_mhz": h.cpu_mhz,
                            "memory_mb": h.memory_mb,
                            "connection_state": h.connection_state,
                            "in_maintenance": h.in_maintenance,
                        }
                        for h in c.hosts
                    ],
                }
                for c in self.clusters
            ],
            "datastores": [
                {
                    "name": d.name,
                    "type": d.type,
                    "managed": d.managed,
                    "accessible": d.accessible,
                    "capacity_bytes": d.capacity_bytes,
                    "free_bytes": d.free_bytes,
                    "clusters": list(d.clusters),
                }
                for d in self.datastores
            ],
            "distributed_switches": [
                {
                    "name": s.name,
                    "uuid": s.uuid,
                    "hosts": s.hosts,
                    "portgroups": [
                        {"name": p.name, "key": p.key, "vlan": p.vlan, "uplink": p.uplink}
                        for p in s.portgroups
                    ],
                }
                for s in self.switches
            ],
            "vms": self.vms,
            "problems": [p.to_json() for p in self.problems],
            "notes": list(self.notes),
        }
        if self.cloud_health is not None:
            document["cloud_health"] = self.cloud_health
        return document

    def render_text(self) -> str:
        about = self.about
        lines = [
            f"vCenter {self.name}  {self.url}  (availability zone {self.availability_zone})",
            f"  {about.full_name or about.version} (API {about.api_version}, "
            f"instance {about.instance_uuid})",
            f"  datacenter {self.datacenter or '(all)'}, {self.vms} VMs",
        ]
        if self.cloud_health is not None:
            lines.append(f"  running cloud's session: {_health_text(self.cloud_health)}")
        lines.append("clusters")
        for c in self.clusters:
            lines.append(
                f"  {c.name}{'' if c.managed else ' (not used)'}: DRS "
                f"{'on' if c.drs_enabled else 'OFF'}, {len(c.hosts)} hosts, "
                f"CPU {_ghz(c.free_cpu_mhz)} free of {_ghz(c.total_cpu_mhz)}, "
                f"memory {_gib(c.free_memory_mb * 1024**2)} free of "
                f"{_gib(c.total_memory_mb * 1024**2)}"
            )
            for h in c.hosts:
                state = h.connection_state + (", maintenance" if h.in_maintenance else "")
                lines.append(
                    f"    {h.name}: {h.cpu_cores} cores x {h.cpu_mhz} MHz, "
                    f"{_gib(h.memory_mb * 1024**2)}, {state}"
                )
        lines.append("datastores")
        for d in self.datastores:
            lines.append(
                f"  {d.name}{'' if d.managed else ' (not used)'} ({d.type or '?'}): "
                f"{_gib(d.free_bytes)} free of {_gib(d.capacity_bytes)}, "
                f"seen by {', '.join(d.clusters) or 'no cluster'}"
            )
        lines.append("distributed switches")
        for s in self.switches:
            lines.append(f"  {s.name} ({s.hosts} hosts, uuid {s.uuid})")
            for p in s.portgroups:
                lines.append(f"    {p.name}: VLAN {p.vlan}{' (uplinks)' if p.uplink else ''}")
        if self.problems or self.notes:
            lines.append("problems")
            lines.extend(f"  {p.severity}: {p.message}" for p in self.problems)
            lines.extend(f"  note: {note}" for note in self.notes)
        errors = len(self.errors)
        lines.append("OK" if not errors else f"FAILED: {errors} error{'s' * (errors != 1)}")
        return "\n".join(lines)


def check_vcenter(endpoint: VCenterEndpoint, *, timeout: float = 10) -> VCenterReport:
    """Connect to `endpoint`, read its inventory and privileges, and list problems.

    :raises TransientError: unreachable.
    :raises TLSVerificationError: certificate not trusted (the message has its thumbprint).
    :raises AuthError: wrong user name or password.
    """
    session = VCenterSession(endpoint, pool_size=1, keepalive_seconds=0, connect_timeout=timeout)
    try:
        session.connect()
        about = session.about()
        problems: list[Problem] = []
        notes: list[str] = []
        if about.api_type and about.api_type != "VirtualCenter":
            problems.append(
                Problem(
                    "error",
                    "not_vcenter",
                    f"{endpoint.address} is {about.full_name or about.api_type}, not vCenter: "
                    f"vistack needs vCenter for clusters, DRS and distributed switches",
                )
            )
        try:
            snapshot = session.call(lambda c: _read(c, endpoint))
        except NotFoundError as exc:
            problems.append(Problem("error", "datacenter_not_found", exc.message))
            snapshot = InventorySnapshot(vcenter=endpoint.name, datacenter=endpoint.datacenter)
        problems.extend(inventory_problems(endpoint, snapshot))
        if snapshot.clusters or snapshot.datacenter:
            missing = session.call(lambda c: _missing_privileges(c, endpoint, notes))
            if missing:
                problems.append(
                    Problem(
                        "error",
                        "missing_privileges",
                        f"user {endpoint.username!r} lacks privileges on datacenter "
                        f"{snapshot.datacenter or '(root)'}: {', '.join(missing)}",
                    )
                )
        return _report(endpoint, about, snapshot, problems, notes)
    finally:
        session.close()


def _read(client: Client, endpoint: VCenterEndpoint) -> InventorySnapshot:
    root, datacenter = find_datacenter(client, endpoint)
    return build_snapshot(endpoint, datacenter, read_all(client, root))


def _missing_privileges(client: Client, endpoint: VCenterEndpoint, notes: list[str]) -> list[str]:
    content = client.content
    root, _name = find_datacenter(client, endpoint)
    manager = content.authorizationManager
    current = retrieve_one(client, content.sessionManager, ["currentSession"])
    session_key = current.get("currentSession").key if current is not None else None
    try:
        result = manager.HasPrivilegeOnEntities([root], session_key, list(REQUIRED_PRIVILEGES))
    except (vmodl.fault.MethodNotFound, vmodl.fault.NotSupported) as exc:
        notes.append(f"privileges not checked: this server cannot tell ({type(exc).__name__})")
        return []
    except vim.fault.NoPermission as exc:
        if isinstance(exc, vim.fault.NotAuthenticated):
            raise  # the session logs in again and retries
        notes.append(
            f"privileges not checked: the account may not query its own privileges "
            f"({exc.privilegeId or 'NoPermission'})"
        )
        return []
    missing = [
        availability.privId
        for entity in result or ()
        for availability in entity.privAvailability or ()
        if not availability.isGranted
    ]
    return sorted(set(missing))


def inventory_problems(endpoint: VCenterEndpoint, snapshot: InventorySnapshot) -> list[Problem]:
    """What in the inventory keeps vistack from working (errors) or working well (warnings)."""
    problems: list[Problem] = []
    names = {c.name for c in snapshot.clusters}
    for name in endpoint.clusters:
        if name not in names:
            problems.append(
                Problem(
                    "error",
                    "cluster_not_found",
                    f"configured cluster {name!r} does not exist in datacenter "
                    f"{snapshot.datacenter or '(all)'}",
                )
            )
    datastore_names = {d.name for d in snapshot.datastores}
    for name in endpoint.datastores:
        if name not in datastore_names:
            problems.append(
                Problem(
                    "error", "datastore_not_found", f"configured datastore {name!r} does not exist"
                )
            )
    managed = [c for c in snapshot.clusters if c.managed]
    if (snapshot.datacenter is not None or snapshot.clusters) and not (
        managed or endpoint.clusters
    ):
        problems.append(Problem("error", "no_clusters", "the datacenter has no cluster"))
    for cluster in managed:
        if not cluster.drs_enabled:
            problems.append(
                Problem(
                    "error",
                    "drs_disabled",
                    f"cluster {cluster.name} has DRS disabled: vistack lets DRS place VMs and "
                    f"enforce server groups; enable DRS (fully automated) or leave the cluster "
                    f"out of [vcenter] clusters",
                )
            )
        if not cluster.num_usable_hosts:
            problems.append(
                Problem(
                    "warning",
                    "no_usable_hosts",
                    f"cluster {cluster.name} has no connected host out of maintenance mode",
                )
            )
    managed_ids = {c.moref for c in managed}
    for datastore in snapshot.datastores:
        if datastore.managed and not managed_ids.intersection(datastore.clusters):
            problems.append(
                Problem(
                    "warning",
                    "datastore_unreachable",
                    f"datastore {datastore.name} is not mounted by any host of a used cluster",
                )
            )
    if managed and not snapshot.switches:
        problems.append(
            Problem(
                "warning",
                "no_distributed_switch",
                "no distributed switch: networks (port groups) cannot be created",
            )
        )
    return problems


def _report(
    endpoint: VCenterEndpoint,
    about: VCenterAbout,
    snapshot: InventorySnapshot,
    problems: Sequence[Problem],
    notes: Sequence[str],
) -> VCenterReport:
    hosts = {h.moref: h for h in snapshot.hosts}
    portgroups = {p.moref: p for p in snapshot.portgroups}
    return VCenterReport(
        name=endpoint.name,
        url=endpoint.url,
        availability_zone=endpoint.zone,
        about=about,
        datacenter=snapshot.datacenter,
        clusters=tuple(
            ClusterReport(
                name=c.name,
                moref=c.moref,
                drs_enabled=c.drs_enabled,
                managed=c.managed,
                total_cpu_mhz=c.total_cpu_mhz,
                free_cpu_mhz=c.free_cpu_mhz,
                total_memory_mb=c.total_memory_mb,
                free_memory_mb=c.free_memory_mb,
                hosts=tuple(
                    HostReport(
                        name=h.name,
                        cpu_cores=h.cpu_cores,
                        cpu_mhz=h.cpu_mhz,
                        memory_mb=h.memory_mb,
                        connection_state=h.connection_state,
                        in_maintenance=h.in_maintenance,
                    )
                    for h in (hosts[m] for m in c.hosts if m in hosts)
                ),
            )
            for c in snapshot.clusters
        ),
        datastores=tuple(
            DatastoreReport(
                name=d.name,
                type=d.type,
                managed=d.managed,
                accessible=d.accessible,
                capacity_bytes=d.capacity_bytes,
                free_bytes=d.free_bytes,
                clusters=tuple(snapshot.name_of(c) for c in d.clusters),
            )
            for d in snapshot.datastores
        ),
        switches=tuple(
            SwitchReport(
                name=s.name,
                uuid=s.uuid,
                hosts=len(s.hosts),
                portgroups=tuple(
                    PortgroupReport(p.name, p.key, _vlan_text(p.vlan_id, p.vlan_ranges), p.uplink)
                    for p in sorted(
                        (portgroups[k] for k in s.portgroups if k in portgroups),
                        key=lambda p: p.name,
                    )
                ),
            )
            for s in snapshot.switches
        ),
        vms=len(snapshot.vms),
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _vlan_text(vlan_id: int | None, ranges: tuple[tuple[int, int], ...]) -> str:
    if vlan_id is not None:
        return str(vlan_id)
    if ranges:
        return "trunk " + ",".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)
    return "other"


def _ghz(mhz: int) -> str:
    return f"{mhz / 1000:.1f} GHz"


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"


def _health_text(health: dict[str, Any]) -> str:
    text = str(health.get("state", "unknown"))
    if health.get("last_error"):
        text += f" ({health['last_error']})"
    outages = health.get("outages") or []
    if outages:
        last = outages[-1]
        duration = last.get("duration_seconds")
        text += f"; {len(outages)} outage(s), last: {last.get('error')}" + (
            f", lasted {duration:.1f} s" if isinstance(duration, int | float) else ", ongoing"
        )
    return text


def render_json(reports: Sequence[VCenterReport]) -> str:
    return json.dumps(
        {"ok": all(r.ok for r in reports), "vcenters": [r.to_json() for r in reports]}, indent=2
    )
