"""The generic volume group services, built together (`build_group_services`) because they
share the group rules: group types, groups, group snapshots, create-from-src and their jobs."""

from __future__ import annotations

from dataclasses import dataclass

from vistack.common.bus import WorkQueue
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain.group_snapshots import GroupSnapshotService
from vistack.volume.domain.group_sources import GroupFromSource
from vistack.volume.domain.group_types import GroupTypeService
from vistack.volume.domain.group_work import GroupWork
from vistack.volume.domain.groups import GroupService
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.types import VolumeTypeService
from vistack.volume.domain.work import VolumeWork


@dataclass(frozen=True)
class GroupServices:
    types: GroupTypeService
    groups: GroupService
    snapshots: GroupSnapshotService
    sources: GroupFromSource
    #: The vCenter side (None without a vCenter).
    work: GroupWork | None = None

    def recover(self, bus: WorkQueue) -> None:
        """Settle what a restart interrupted; call after `VolumeWork.recover`."""
        if self.work is not None:
            self.work.recover(bus)


def build_group_services(
    store: VolumeStore,
    policy: PolicyEngine,
    settings: VolumeSettings,
    *,
    quotas: VolumeQuotas,
    types: VolumeTypeService,
    bus: WorkQueue | None,
    work: VolumeWork | None,
) -> GroupServices:
    """Without a vCenter (`work` None) group types and groups work; what copies disks says
    why it cannot."""
    group_types = GroupTypeService(store, policy, settings.default_group_type)
    live_bus = bus if work is not None else None
    groups = GroupService(
        store,
        policy,
        settings,
        quotas=quotas,
        types=types,
        group_types=group_types,
        bus=live_bus,
    )
    snapshots = GroupSnapshotService(groups, has_vcenter=work is not None)
    group_work = None
    if work is not None and bus is not None:
        group_work = GroupWork(store, work)
        group_work.register(bus)
    return GroupServices(
        types=group_types,
        groups=groups,
        snapshots=snapshots,
        sources=GroupFromSource(groups, snapshots, has_vcenter=work is not None),
        work=group_work,
    )
