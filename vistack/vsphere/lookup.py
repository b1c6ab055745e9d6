"""Names to morefs for the drivers: datacenter, folders, clusters, datastores, switches, VMs.

Every driver call names things the way OpenStack does (a cluster name, a datastore name, a port
group key, a Nova server id); vSphere wants morefs. The answers are read through the
PropertyCollector once and cached, because inventory of this kind changes rarely and a round
trip per name would dominate short operations. A cache entry is dropped when the object turns
out to be gone, and the whole cache when the session logged in again (a restarted vCenter, and
notably vcsim, reuses moref values for different objects).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from vistack.drivers.errors import NotFoundError
from vistack.vsphere.properties import retrieve, retrieve_one
from vistack.vsphere.session import Client


@dataclass(frozen=True)
class ClusterRef:
    moref: str
    name: str
    pool: str
    hosts: tuple[str, ...]
    datastores: tuple[str, ...]


@dataclass(frozen=True)
class SwitchRef:
    moref: str
    name: str
    uuid: str
    uplinks: frozenset[str]


@dataclass
class _Cache:
    generation: int
    datacenter: str | None = None
    datacenter_name: str | None = None
    vm_folder: str | None = None
    clusters: dict[str, ClusterRef] | None = None
    host_cluster: dict[str, tuple[str, str]] | None = None
    datastores: dict[str, str] | None = None
    switches: dict[str, SwitchRef] | None = None
    portgroup_switch: dict[str, str] | None = None


class Lookup:
    """Cached name → moref resolution for one vCenter datacenter. Thread-safe."""

    def __init__(self, datacenter: str | None) -> None:
        self._datacenter_name = datacenter
        self._lock = threading.Lock()
        self._cache = _Cache(generation=-1)
        self._vms: dict[str, str] = {}

    def _fresh(self, client: Client) -> _Cache:
        """The cache, emptied first if the session logged in again since it was filled."""
        cache = self._cache  # fast path without the lock: the usual case, nothing changed
        if cache.generation == client.generation:
            return cache
        with self._lock:
            if self._cache.generation != client.generation:
                self._cache = _Cache(generation=client.generation)
                self._vms.clear()
            return self._cache

    def forget(self) -> None:
        """Drop everything (after an inventory change made by this process: new port group)."""
        with self._lock:
            self._cache = _Cache(generation=-1)
            self._vms.clear()

    # -- datacenter and folders ---------------------------------------------------------------

    def datacenter(self, client: Client) -> Any:
        cache = self._fresh(client)
        if cache.datacenter is None:
            found = retrieve(client, "Datacenter", ["name", "vmFolder"])
            for dc in found:
                if self._datacenter_name in (None, dc.get("name")):
                    cache.vm_folder = dc.get("vmFolder")
                    cache.datacenter_name = dc.get("name")
                    cache.datacenter = dc.moref
                    break
            else:
                raise NotFoundError(f"no datacenter named {self._datacenter_name!r}")
        return client.moref("Datacenter", cache.datacenter)

    def datacenter_name(self, client: Client) -> str:
        self.datacenter(client)
        name = self._fresh(client).datacenter_name
        assert name is not None
        return name

    def vm_folder(self, client: Client) -> Any:
        self.datacenter(client)
        folder = self._fresh(client).vm_folder
        assert folder is not None
        return client.moref("Folder", folder)

    # -- clusters and hosts -------------------------------------------------------------------

    def clusters(self, client: Client) -> dict[str, ClusterRef]:
        cache = self._fresh(client)
        if cache.clusters is None:
            root = self.datacenter(client)
            found = retrieve(
                client,
                "ClusterComputeResource",
                ["name", "resourcePool", "host", "datastore"],
                root=root,
            )
            datastores = {v: k for k, v in self.datastores(client).items()}
            clusters = {}
            host_cluster = {}
            for c in found:
                ref = ClusterRef(
                    moref=c.moref,
                    name=c.get("name"),
                    pool=c.get("resourcePool"),
                    hosts=tuple(c.get("host") or ()),
                    datastores=tuple(
                        datastores[d] for d in c.get("datastore") or () if d in datastores
                    ),
                )
                clusters[ref.name] = ref
                for host in ref.hosts:
                    host_cluster[host] = (ref.name, "")
            cache.clusters, cache.host_cluster = clusters, host_cluster
        return cache.clusters

    def cluster(self, client: Client, name: str) -> ClusterRef:
        found = self.clusters(client).get(name)
        if found is None:
            raise NotFoundError(f"no cluster named {name!r}")
        return found

    def host_names(self, client: Client) -> dict[str, tuple[str, str]]:
        """host moref → (cluster name, host name)."""
        cache = self._fresh(client)
        self.clusters(client)
        assert cache.host_cluster is not None
        if any(not name for _, name in cache.host_cluster.values()):
            names = {h.moref: h.get("name") for h in retrieve(client, "HostSystem", ["name"])}
            cache.host_cluster = {
                host: (cluster, names.get(host, host))
                for host, (cluster, _) in cache.host_cluster.items()
            }
        return cache.host_cluster

    # -- datastores ---------------------------------------------------------------------------

    def datastores(self, client: Client) -> dict[str, str]:
        """datastore name → moref."""
        cache = self._fresh(client)
        if cache.datastores is None:
            found = retrieve(client, "Datastore", ["name"], root=self.datacenter(client))
            cache.datastores = {d.get("name"): d.moref for d in found}
        return cache.datastores

    def datastore(self, client: Client, name: str) -> Any:
        moref = self.datastores(client).get(name)
        if moref is None:
            raise NotFoundError(f"no datastore named {name!r}")
        return client.moref("Datastore", moref)

    # -- distributed switches -----------------------------------------------------------------

    def switches(self, client: Client) -> dict[str, SwitchRef]:
        cache = self._fresh(client)
        if cache.switches is None:
            found = retrieve(
                client,
                "DistributedVirtualSwitch",
                ["name", "uuid", "config.uplinkPortgroup"],
                root=self.datacenter(client),
            )
            cache.switches = {
                s.get("name"): SwitchRef(
                    s.moref,
                    s.get("name"),
                    s.get("uuid"),
                    frozenset(_morefs(s.get("config.uplinkPortgroup"))),
                )
                for s in found
            }
        return cache.switches

    def switch(self, client: Client, name: str) -> SwitchRef:
        found = self.switches(client).get(name)
        if found is None:
            raise NotFoundError(f"no distributed switch named {name!r}")
        return found

    def portgroup_switch_uuid(self, client: Client, key: str) -> str:
        """The switch UUID a NIC backing on port group `key` must name."""
        cache = self._fresh(client)
        if cache.portgroup_switch is None or key not in cache.portgroup_switch:
            by_moref = {s.moref: s.uuid for s in self.switches(client).values()}
            found = retrieve(
                client,
                "DistributedVirtualPortgroup",
                ["key", "config.distributedVirtualSwitch"],
                root=self.datacenter(client),
            )
            cache.portgroup_switch = {}
            for p in found:
                owner = _moref(p.get("config.distributedVirtualSwitch")) or ""
                cache.portgroup_switch[p.get("key")] = by_moref.get(owner, "")
        uuid = cache.portgroup_switch.get(key)
        if not uuid:
            raise NotFoundError(f"no distributed port group with key {key!r}")
        return uuid

    # -- VMs ----------------------------------------------------------------------------------

    def vm(self, client: Client, instance_uuid: str) -> Any:
        """The VM with this instance UUID (cached; `forget_vm` when it turns out gone).

        :raises NotFoundError: no VM has it.
        """
        self._fresh(client)
        moref = self._vms.get(instance_uuid)
        if moref is None:
            found = self.find_vm(client, instance_uuid)
            if found is None:
                raise NotFoundError(f"no VM with instance UUID {instance_uuid}")
            moref = self.remember_vm(instance_uuid, found)
        return client.moref("VirtualMachine", moref)

    def find_vm(self, client: Client, instance_uuid: str) -> str | None:
        """Ask vCenter (uncached) for the VM with this instance UUID."""
        index = client.content.searchIndex
        found = index.FindByUuid(
            self.datacenter(client), instance_uuid, vmSearch=True, instanceUuid=True
        )
        return None if found is None else client.ref(found)

    def remember_vm(self, instance_uuid: str, moref: str) -> str:
        with self._lock:
            self._vms[instance_uuid] = moref
        return moref

    def forget_vm(self, instance_uuid: str) -> None:
        with self._lock:
            self._vms.pop(instance_uuid, None)


def _moref(value: Any) -> str | None:
    """A moref string from a value that may be a nested pyVmomi reference."""
    if value is None or isinstance(value, str):
        return value
    return str(value._moId)


def _morefs(values: Any) -> list[str]:
    return [m for m in (_moref(v) for v in values or ()) if m]


def exists(client: Client, moref: Any) -> bool:
    """Whether the object still exists (one cheap read)."""
    return retrieve_one(client, moref, ["name"]) is not None
