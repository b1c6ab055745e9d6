"""Build the four vSphere drivers over one session, sharing one name → moref lookup."""

from __future__ import annotations

from vistack.drivers.bundle import Drivers
from vistack.drivers.models import Topology
from vistack.vsphere.compute import VSphereCompute
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.images import VSphereImages
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.networks import VSphereNetworks
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.volumes import VSphereVolumes


def vsphere_drivers(
    session: VCenterSession, endpoint: VCenterEndpoint, *, task_timeout: float = 600.0
) -> Drivers:
    """The drivers of one vCenter; `topology` is read from it now (clusters, datastores, DVS)."""
    lookup = Lookup(endpoint.datacenter)
    volumes = VSphereVolumes(session, lookup, task_timeout=task_timeout)

    def topology(client: Client) -> Topology:
        clusters = sorted(lookup.clusters(client))
        if endpoint.clusters:
            clusters = [c for c in clusters if c in endpoint.clusters]
        datastores = sorted(lookup.datastores(client))
        if endpoint.datastores:
            datastores = [d for d in datastores if d in endpoint.datastores]
        switches = sorted(lookup.switches(client))
        return Topology(
            datacenter=lookup.datacenter_name(client),
            clusters=tuple(clusters),
            datastores=tuple(datastores),
            dvs=switches[0] if switches else "",
        )

    networks = VSphereNetworks(session, lookup, task_timeout=task_timeout)
    found = session.call(topology)
    portgroups = tuple(pg.name for pg in networks.list_portgroups())
    return Drivers(
        compute=VSphereCompute(session, lookup, task_timeout=task_timeout),
        images=VSphereImages(session, lookup, volumes, task_timeout=task_timeout),
        networks=networks,
        volumes=volumes,
        topology=Topology(
            found.datacenter, found.clusters, found.datastores, found.dvs, portgroups
        ),
    )
