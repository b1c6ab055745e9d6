"""The network driver on vSphere: distributed port groups with a VLAN id.

`AddDVPortgroup_Task` returns nothing useful (vcsim: None), so the new port group is found by
name afterwards. A reconfigure would have to send the whole config (vcsim replaces it wholesale),
which is why no partial update is offered here.

Ports are plugged into VMs with one `ReconfigVM_Task` each: a NIC whose backing is a distributed
virtual port connection (switch UUID + port group key), with the Neutron MAC as a manual address
and the Neutron port id as the device's `externalId`. The NIC is read back afterwards because
vSphere assigns the device key. On vcsim the switch must have every host of the VM's cluster as
a member, and `port.portKey` stays unset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.models import NicInfo, PortgroupInfo
from vistack.drivers.networks import normal_mac
from vistack.vsphere import devices
from vistack.vsphere.lookup import Lookup, SwitchRef
from vistack.vsphere.properties import ObjectProps, retrieve, retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim, vmodl

T = TypeVar("T")

PORTGROUP_PATHS = ("name", "key", "config.distributedVirtualSwitch", "config.defaultPortConfig")
#: Ports per new port group; early binding grows them on vCenter when autoExpand is set.
DEFAULT_PORTS = 8


class VSphereNetworks:
    """`NetworkDriver` on a `VCenterSession`."""

    def __init__(
        self, session: VCenterSession, lookup: Lookup, *, task_timeout: float = 600.0
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout

    def create_portgroup(self, dvs: str, name: str, vlan_id: int) -> PortgroupInfo:
        if not 0 <= vlan_id <= 4094:
            raise InvalidStateError(f"VLAN id {vlan_id} is outside 0..4094")

        def run(client: Client) -> PortgroupInfo:
            switch = self._lookup.switch(client, dvs)
            spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                name=name,
                type="earlyBinding",
                numPorts=DEFAULT_PORTS,
                autoExpand=True,
                defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                    vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(
                        vlanId=vlan_id, inherited=False
                    )
                ),
            )
            moref = client.moref("DistributedVirtualSwitch", switch.moref)
            wait_for_task(client, moref.AddDVPortgroup_Task([spec]), self._timeout)
            for pg in self._portgroups(client, switch):
                if pg.name == name:
                    return pg
            raise NotFoundError(f"port group {name!r} vanished right after it was made")

        return self._session.call(run, idempotent=False)

    def delete_portgroup(self, key: str) -> None:
        def run(client: Client) -> None:
            moref = self._find(client, key)[0]
            pg = client.moref("DistributedVirtualPortgroup", moref)
            wait_for_task(client, pg.Destroy_Task(), self._timeout)
            # The lookup caches port group → switch UUID; a stale entry would let plug_port
            # send vCenter a key that is gone instead of answering NotFoundError itself.
            self._lookup.forget()

        self._session.call(run, idempotent=False)

    def get_portgroup(self, key: str) -> PortgroupInfo:
        return self._session.call(lambda c: self._find(c, key)[1])

    def list_portgroups(self, dvs: str | None = None) -> list[PortgroupInfo]:
        def run(client: Client) -> list[PortgroupInfo]:
            switch = None if dvs is None else self._lookup.switch(client, dvs)
            return self._portgroups(client, switch)

        return self._session.call(run)

    # -- ports on VMs ---------------------------------------------------------------------------

    def plug_port(
        self, vm: str, portgroup_key: str, mac: str, port_id: str, *, adapter: str = "vmxnet3"
    ) -> NicInfo:
        address = normal_mac(mac)
        devices.nic_class(adapter)  # refuse a bad adapter before any round trip

        def run(client: Client, target: Any) -> NicInfo:
            if any(devices.nic_mac(n) == address for n in self._nics(client, target)):
                raise AlreadyExistsError(f"VM {vm} already has a NIC with MAC {address}")
            switch_uuid = self._lookup.portgroup_switch_uuid(client, portgroup_key)
            change = devices.new_nic(
                -1, switch_uuid, portgroup_key, address, adapter=adapter, external_id=port_id
            )
            config = vim.vm.ConfigSpec(deviceChange=[change])
            wait_for_task(client, target.ReconfigVM_Task(spec=config), self._timeout)
            for nic in self._nics(client, target):
                if devices.nic_mac(nic) == address:
                    return devices.nic_info(nic)
            raise NotFoundError(f"the NIC with MAC {address} vanished from VM {vm}")

        return self._session.call(lambda c: self._on_vm(c, vm, run), idempotent=False)

    def unplug_port(self, vm: str, mac: str) -> None:
        address = mac.strip().lower()

        def run(client: Client, target: Any) -> None:
            found = [n for n in self._nics(client, target) if devices.nic_mac(n) == address]
            if not found:
                raise NotFoundError(f"VM {vm} has no NIC with MAC {address}")
            config = vim.vm.ConfigSpec(deviceChange=[devices.remove(found[0])])
            wait_for_task(client, target.ReconfigVM_Task(spec=config), self._timeout)

        self._session.call(lambda c: self._on_vm(c, vm, run), idempotent=False)

    def list_nics(self, vm: str) -> list[NicInfo]:
        def run(client: Client, target: Any) -> list[NicInfo]:
            return [devices.nic_info(n) for n in self._nics(client, target)]

        return self._session.call(lambda c: self._on_vm(c, vm, run))

    def _on_vm(self, client: Client, vm: str, fn: Callable[[Client, Any], T]) -> T:
        """Run `fn(client, vm)`; a cached moref that went stale is looked up once more.

        The instance UUID → moref cache is the one the compute driver fills (same `Lookup`).
        """
        target = self._lookup.vm(client, vm)
        try:
            return fn(client, target)
        except vmodl.fault.ManagedObjectNotFound:
            self._lookup.forget_vm(vm)
            fresh = self._lookup.vm(client, vm)
            if client.ref(fresh) == client.ref(target):
                raise
            return fn(client, fresh)

    @staticmethod
    def _nics(client: Client, vm: Any) -> list[Any]:
        props = retrieve_one(client, vm, ["config.hardware.device"])
        if props is None:
            raise vmodl.fault.ManagedObjectNotFound(obj=vm)
        return devices.nics(props.get("config.hardware.device") or ())

    # -- helpers -------------------------------------------------------------------------------

    def _find(self, client: Client, key: str) -> tuple[str, PortgroupInfo]:
        for props in self._read(client):
            info = self._info(client, props)
            if info is not None and info.key == key:
                return props.moref, info
        raise NotFoundError(f"no distributed port group with key {key!r}")

    def _portgroups(self, client: Client, switch: SwitchRef | None) -> list[PortgroupInfo]:
        found = [self._info(client, props) for props in self._read(client)]
        return [pg for pg in found if pg is not None and (switch is None or pg.dvs == switch.name)]

    def _read(self, client: Client) -> list[ObjectProps]:
        return retrieve(
            client,
            "DistributedVirtualPortgroup",
            PORTGROUP_PATHS,
            root=self._lookup.datacenter(client),
        )

    def _info(self, client: Client, props: ObjectProps) -> PortgroupInfo | None:
        """A VM port group's info; None for uplink port groups, which carry no VMs."""
        switches = {s.moref: s for s in self._lookup.switches(client).values()}
        owner = props.get("config.distributedVirtualSwitch")
        switch = switches.get(owner if isinstance(owner, str) else getattr(owner, "_moId", ""))
        if switch is None or props.moref in switch.uplinks:
            return None
        return PortgroupInfo(
            key=str(props.get("key")),
            name=str(props.get("name")),
            vlan_id=_vlan(props.get("config.defaultPortConfig")),
            dvs=switch.name,
        )


def _vlan(port_config: Any) -> int:
    """The VLAN id of a VLAN-id spec; 0 for none or a trunk (which has no single id)."""
    vlan = getattr(port_config, "vlan", None)
    value = getattr(vlan, "vlanId", 0)
    return value if isinstance(value, int) else 0
