"""Rebuild of a volume-backed server (microversion 2.93): its root volume re-imaged in place.

Nova's 2.93 rebuild keeps the server's volumes (same ids, same attachments) and has Cinder
rewrite the root volume from the new image. Here the job follows the image-backed rebuild's
steps (`rebuild.py`) with the volume in place of the template: the VM is powered off, the
volumes' disks come off it and it is destroyed (vCenter would delete disks still attached),
Cinder replaces the root volume's disk through the `VolumePort` while no VM holds it, and a
new VM with the same instance UUID and ports boots from the root volume with the other
volumes attached again; the build's before-power-on hooks run (a config drive is written
again with the rebuild's user data, key and metadata). The server has no image of its own
before or after (Nova shows `image: ""` for a volume-backed server); the volume's
`volume_image_metadata` names the image it now holds.

A failure (Cinder refused, the copy failed, the VM could not be made) leaves the server in
ERROR with the fault, as the image-backed rebuild does; a failed copy also leaves the volume
in `error` with the reason. Each step is safe to repeat, so a restart redoes the rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict
from vistack.compute.domain import states
from vistack.compute.domain.boot_volumes import BootDisks, ServerVolumes
from vistack.compute.domain.lifecycle import (
    ActionDeps,
    destroy_vm,
    nics_of,
    power_off_quietly,
    realize_vm,
    step,
)
from vistack.compute.domain.models import Server
from vistack.compute.domain.remade import spawn_rebuilt
from vistack.compute.domain.scheduler import NO_VALID_HOST, pick_cluster, pick_datastore
from vistack.compute.domain.templates import image_disk
from vistack.compute.domain.vm_spec import server_vm_spec
from vistack.drivers.errors import NoCapacityError
from vistack.drivers.models import VMInfo
from vistack.image.domain.models import Image

GB = 2**30


def server_volumes(deps: ActionDeps) -> ServerVolumes:
    """The servers' volume side. :raises Conflict: this cloud cannot run the rebuild."""
    volumes = deps.work.volumes if deps.work is not None else None
    if volumes is None:
        raise Conflict("This cloud has no vCenter: volume-backed servers cannot be rebuilt.")
    return volumes


def check_image_for_volume(image: Image, flavor: Mapping[str, Any], volume_gb: int) -> None:
    """The checks Nova makes of the image a volume-backed server is rebuilt with (400 each):
    active, a VMDK on a datastore, the flavor's memory enough for its `min_ram`, and the root
    volume (not the flavor's disk, which a volume-backed server does not use) at least its
    `min_disk` and its size."""
    if image.status != "active":
        raise BadRequest(f"Image {image.id} is not active.")
    image_disk(image)
    if image.min_ram and int(flavor["ram"]) < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if image.min_disk and volume_gb < image.min_disk:
        raise BadRequest(
            f"The root volume ({volume_gb} GB) is smaller than the minimum disk of image "
            f"{image.id} ({image.min_disk} GB)."
        )
    image_gb = -(-int(image.virtual_size or image.size or 0) // GB)
    if image_gb > volume_gb:
        raise BadRequest(
            f"The root volume ({volume_gb} GB) is smaller than image {image.id} ({image_gb} GB)."
        )


def rebuild_volume_backed(
    deps: ActionDeps, server: Server, context: RequestContext, image_id: str, stopped: bool
) -> None:
    """The job half: re-image the root volume and boot a new VM from the server's volumes.

    :raises VistackError, DriverError: a step failed (the caller records the fault).
    """
    volumes = server_volumes(deps)
    current = server.task_state or states.REBUILDING
    deps.images.visible_image(context, image_id)  # still there and visible, or fail here
    step(deps, server.id, current, task_state=states.REBUILD_BLOCK_DEVICE_MAPPING)
    old = power_off_quietly(deps, server.id)
    destroy_vm(deps, server.id)  # the volumes' disks come off the VM first
    volumes.reimage_root(server.id, context, image_id)
    disks = volumes.boot_disks(server.id)
    if disks.root is None:
        raise Conflict(f"Server {server.id} has no root volume attached to boot from.")
    cluster, datastore = _where(deps, server, disks, old)
    spawn_rebuilt(
        deps,
        server.id,
        cluster,
        lambda: _make_vm(deps, context, server, disks, cluster, datastore, power_on=not stopped),
        stopped=stopped,
    )


def _where(
    deps: ActionDeps, server: Server, disks: BootDisks, old: VMInfo | None
) -> tuple[str, str]:
    """(cluster, datastore) of the new VM: the server's cluster (a rebuild is no move), the
    VM's files beside its boot volume when the cluster sees that datastore, else where the
    old VM's were. A server that never had a cluster is scheduled as a build is."""
    candidates = deps.clusters.candidates(None if server.cluster else server.availability_zone)
    if server.cluster:
        found = next((c for c in candidates if c.name == server.cluster), None)
        if found is None:
            if old is not None and old.datastore:
                return server.cluster, old.datastore
            raise NoCapacityError(f"Cluster {server.cluster} is not available for the VM.")
        cluster = found
    else:
        if deps.work is not None:
            for narrow in deps.work.placement_filters:
                candidates = narrow(server, candidates)
        flavor = server.flavor
        picked = pick_cluster(
            candidates, vcpus=int(flavor["vcpus"]), memory_mb=int(flavor["ram"]), disk_gb=0
        )
        if picked is None:
            raise NoCapacityError(NO_VALID_HOST)
        cluster = picked
    preferred = disks.root_datastore
    if preferred not in cluster.datastores and old is not None and old.datastore:
        preferred = old.datastore
    datastore = pick_datastore(cluster, preferred)
    if datastore is None:
        raise NoCapacityError(f"Cluster {cluster.name} sees no datastore.")
    return cluster.name, datastore


def _make_vm(
    deps: ActionDeps,
    context: RequestContext,
    server: Server,
    disks: BootDisks,
    cluster: str,
    datastore: str,
    *,
    power_on: bool,
) -> VMInfo:
    """The server's VM made again as the build makes a volume-backed one (no template: the
    root volume is its first disk), its hooks run, powered on when asked. A VM that a resumed
    job made already is reused."""
    nics = nics_of(deps, context, server.id)
    spec = server_vm_spec(server, cluster, datastore, template=None, disks=disks.specs(), nics=nics)
    # The volumes are the spec's disks: nothing to attach again.
    return realize_vm(deps, server, spec, power_on=power_on, reattach_volumes=False)
