"""The network driver on vSphere: distributed port groups with a VLAN id.

`AddDVPortgroup_Task` returns nothing useful (vcsim: None), so the new port group is found by
name afterwards. A reconfigure would have to send the whole config (vcsim replaces it wholesale),
which is why no partial update is offered here.
"""

from __future__ import annotations

from typing import Any

from vistack.drivers.errors import InvalidStateError, NotFoundError
from vistack.drivers.models import PortgroupInfo
from vistack.vsphere.lookup import Lookup, SwitchRef
from vistack.vsphere.properties import ObjectProps, retrieve
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

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

        self._session.call(run, idempotent=False)

    def get_portgroup(self, key: str) -> PortgroupInfo:
        return self._session.call(lambda c: self._find(c, key)[1])

    def list_portgroups(self, dvs: str | None = None) -> list[PortgroupInfo]:
        def run(client: Client) -> list[PortgroupInfo]:
            switch = None if dvs is None else self._lookup.switch(client, dvs)
            return self._portgroups(client, switch)

        return self._session.call(run)

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
