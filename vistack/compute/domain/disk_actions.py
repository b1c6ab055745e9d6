"""The server actions that copy or remake a server's disk, built together: createImage and
createBackup (`snapshots.py`), rebuild (`rebuild.py`), shelve (`shelve.py`) and rescue
(`rescue.py`). One `ActionDeps` serves them all, with the build's per-server locks and
template cache, so their jobs never overlap a build, a delete or each other on one server.
"""

from __future__ import annotations

from dataclasses import dataclass

from vistack.common.bus import WorkQueue
from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.lifecycle import ActionDeps
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.rebuild import RebuildService
from vistack.compute.domain.rescue import RescueService
from vistack.compute.domain.servers import ServerService
from vistack.compute.domain.shelve import ShelveService
from vistack.compute.domain.snapshots import SnapshotService
from vistack.compute.domain.work import ServerLocks
from vistack.drivers.bundle import Drivers
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageService
from vistack.network.domain.service import NetworkService


@dataclass(frozen=True)
class DiskActions:
    """The four services; a background service (`start` resumes or undoes each one's jobs)."""

    snapshots: SnapshotService
    rebuilds: RebuildService
    shelving: ShelveService
    rescues: RescueService

    def start(self) -> None:
        for service in (self.snapshots, self.rebuilds, self.shelving, self.rescues):
            service.start()

    def stop(self) -> None:
        for service in (self.rescues, self.shelving, self.rebuilds, self.snapshots):
            service.stop()


def build_disk_actions(
    store: ComputeStore,
    policy: PolicyEngine,
    bus: WorkQueue,
    drivers: Drivers | None,
    *,
    servers: ServerService,
    images: ImageService,
    image_data: ImageDataService,
    networks: NetworkService,
    clusters: ClusterService,
    quotas: ComputeQuotas,
    keypairs: KeypairService,
    shelved_offload_time: float,
) -> DiskActions:
    work = servers.work
    deps = ActionDeps(
        store=store,
        policy=policy,
        bus=bus,
        drivers=drivers,
        work=work,
        images=images,
        image_data=image_data,
        networks=networks,
        clusters=clusters,
        quotas=quotas,
        keypairs=keypairs,
        templates=work.templates if work is not None else None,
        locks=work.locks if work is not None else ServerLocks(),
    )
    snapshots = SnapshotService(deps)
    shelving = ShelveService(deps, snapshots, shelved_offload_time)
    if work is not None:
        work.after_undo.append(shelving.after_undo)
    return DiskActions(snapshots, RebuildService(deps), shelving, RescueService(deps))
