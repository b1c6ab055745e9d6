"""What the actions that remake or copy a server's disk share (snapshots, backups, rebuild,
shelve, rescue): their dependencies, the API half's state check, and the job half's steps.

The API half (`begin`) runs under the server's row lock: it checks visibility (404), policy,
the lock (409) and the state machine (409, Nova's InstanceInvalidState message), then sets the
action's first task state and records the instance action, all in one transaction, so two
actions can never both start. The job half runs on the bus under the server's job lock
(`ServerLocks`) and moves the task state on with conditional writes (`step`): when a delete
took the server over meanwhile, the write finds another task and the job stops (`Aborted`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import Conflict
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.models import Server
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.scheduler import NO_VALID_HOST, pick_cluster, pick_datastore
from vistack.compute.domain.servers import NO_BACKEND, server_not_found, state_conflict
from vistack.compute.domain.templates import TemplateCache, image_disk
from vistack.compute.domain.vm_spec import root_disk, server_vm_spec
from vistack.compute.domain.work import ServerLocks, context_of, owner_context
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.models import NicSpec, PowerState, TemplateRef, VMInfo, VMSpec
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image
from vistack.network.domain.service import NetworkService


class Aborted(Exception):
    """The server's task is not this job's any more (a delete took over): stop here."""


@dataclass
class ActionDeps:
    """What the disk actions need, built once by the composition root."""

    store: ComputeStore
    policy: PolicyEngine
    bus: WorkQueue
    drivers: Drivers | None
    work: ServerWork | None
    images: ImageService
    image_data: ImageDataService
    networks: NetworkService
    clusters: ClusterService
    quotas: ComputeQuotas
    keypairs: KeypairService
    templates: TemplateCache | None
    #: The jobs of one server never overlap: shared by every disk action.
    locks: ServerLocks

    @property
    def backend(self) -> Drivers:
        """The drivers. :raises Conflict: this cloud has no vCenter."""
        if self.drivers is None:
            raise Conflict(NO_BACKEND)
        return self.drivers


def is_admin(context: RequestContext) -> bool:
    return "admin" in context.roles or context.is_system_admin


def begin(
    deps: ActionDeps,
    context: RequestContext,
    server_id: str,
    *,
    rule: str,
    action: str,
    allowed: tuple[str, ...],
    task_state: str,
    check: Callable[[ServerRow], None] | None = None,
    changes: Callable[[ServerRow], Mapping[str, Any]] | None = None,
) -> Server:
    """Start an action: checks, then the first task state and the instance action.

    `allowed` are the vm_states the action starts from (with no task in progress); `check`
    refuses more (raising), `changes` gives further columns to write with the task state.
    Returns the server as it was before the change.
    """
    deps.backend  # noqa: B018  (no vCenter: refused before any state changes)
    with deps.store.transaction() as unit:
        row = queries.locked(unit, server_id)
        target = {"project_id": row.project_id} if row is not None else {}
        if row is None or not deps.policy.check("os_compute_api:servers:show", context, target):
            raise server_not_found(server_id)
        deps.policy.authorize(rule, context, target)
        if row.locked and not is_admin(context):
            raise Conflict(f"Instance {server_id} is locked")
        if row.vm_state not in allowed or row.task_state is not None:
            raise state_conflict(row, action)
        if check is not None:
            check(row)
        before = queries.to_server(row)
        extra = dict(changes(row)) if changes is not None else {}
        queries.set_fields(unit, server_id, task_state=task_state, **extra)
        queries.start_action(
            unit,
            server_id,
            action,
            request_id=context.request_id,
            user_id=context.user_id,
            project_id=context.project_id,
        )
        return before


def job_context(payload: Mapping[str, Any], server: Server) -> RequestContext:
    """The caller's context the job was queued with, or the owner's after a restart."""
    raw = payload.get("context")
    if isinstance(raw, dict):
        return context_of(raw)
    return owner_context(server.project_id, server.user_id)


def load(deps: ActionDeps, server_id: str) -> tuple[Server, dict[str, Any]] | None:
    """The live server and its `system_metadata`, or None when it is gone."""
    with deps.store.transaction() as unit:
        row = queries.get(unit, server_id)
        if row is None:
            return None
        return queries.to_server(row), dict(row.system_metadata or {})


def step(deps: ActionDeps, server_id: str, current: str, **values: Any) -> None:
    """Write `values` (a next task state, what a step made) while the task is `current`.

    :raises Aborted: it is not (a delete took the server over).
    """
    with deps.store.transaction() as unit:
        if not queries.set_if_task(unit, server_id, current, **values):
            raise Aborted(server_id)


def remember(deps: ActionDeps, server_id: str, key: str, value: Any) -> None:
    """Keep `value` under `key` in the server's `system_metadata` (None removes it): what a
    job made, so a restart can finish or undo it. Other keys (other features') are kept."""
    with deps.store.transaction() as unit:
        row = queries.locked(unit, server_id)
        if row is None:
            return
        kept = dict(row.system_metadata or {})
        if value is None:
            kept.pop(key, None)
        else:
            kept[key] = value
        queries.set_fields(unit, server_id, system_metadata=kept)


def finish_action(deps: ActionDeps, server_id: str, request_id: str, result: str) -> None:
    with deps.store.transaction() as unit:
        queries.finish_action(unit, server_id, request_id, result)


def interrupted(deps: ActionDeps, tasks: tuple[str, ...]) -> list[str]:
    """The live servers a restart left in one of `tasks`."""
    with deps.store.transaction() as unit:
        return queries.live_in_build(unit, tasks)


def nics_of(deps: ActionDeps, context: RequestContext, server_id: str) -> tuple[NicSpec, ...]:
    """The NICs of the server's ports, as they are (same port groups, same MACs): a VM made
    again keeps its addresses."""
    with deps.store.transaction() as unit:
        row = queries.get(unit, server_id)
        port_ids = list(row.port_ids or []) if row is not None else []
    nics = []
    for port_id in port_ids:
        port = deps.networks.get_port(context, port_id)
        _, portgroup = deps.networks.portgroup_of(context, port["network_id"])
        nics.append(NicSpec(portgroup, port["mac_address"]))
    return tuple(nics)


def vm_spec(
    server: Server, cluster: str, datastore: str, template: TemplateRef, nics: tuple[NicSpec, ...]
) -> VMSpec:
    """The VM a server is (re)made as: what the build makes (`ServerWork._build`)."""
    disks = root_disk(server.flavor)
    return server_vm_spec(server, cluster, datastore, template=template, disks=disks, nics=nics)


def place(deps: ActionDeps, server: Server, image: Image, zone: str | None) -> tuple[str, str]:
    """(cluster, datastore) for a server's new VM: scheduled as a build is (the zone's
    clusters, the placement filters, the flavor's fit), on the image's datastore when the
    cluster sees it. :raises NoCapacityError: no cluster fits."""
    flavor = server.flavor
    candidates = deps.clusters.candidates(zone)
    if deps.work is not None:
        for narrow in deps.work.placement_filters:
            candidates = narrow(server, candidates)
    cluster = pick_cluster(
        candidates,
        vcpus=int(flavor["vcpus"]),
        memory_mb=int(flavor["ram"]),
        disk_gb=int(flavor["disk"]),
    )
    if cluster is None:
        raise NoCapacityError(NO_VALID_HOST)
    datastore = pick_datastore(cluster, image_disk(image)[0])
    if datastore is None:
        raise NoCapacityError(f"Cluster {cluster.name} sees no datastore.")
    return cluster.name, datastore


def datastore_in(deps: ActionDeps, cluster: str, image: Image) -> str:
    """The datastore for a VM made again in its own cluster (the image's when it sees it)."""
    for candidate in deps.clusters.candidates(None):
        if candidate.name == cluster:
            found = pick_datastore(candidate, image_disk(image)[0])
            if found is not None:
                return found
    raise NoCapacityError(f"Cluster {cluster} is not available for the server's VM.")


def make_vm(
    deps: ActionDeps,
    context: RequestContext,
    server: Server,
    image: Image,
    cluster: str,
    datastore: str,
    *,
    power_on: bool,
) -> VMInfo:
    """Clone the image's template into the server's VM (same instance UUID, its own ports'
    NICs), run the build's before-power-on hooks, and power it on when asked. A VM that a
    resumed job made already is reused."""
    if deps.templates is None:
        raise Conflict(NO_BACKEND)
    flavor = server.flavor
    template = deps.templates.template_for(
        image, cluster, datastore, cpus=int(flavor["vcpus"]), memory_mb=int(flavor["ram"])
    )
    spec = vm_spec(server, cluster, datastore, template, nics_of(deps, context, server.id))
    return realize_vm(deps, server, spec, power_on=power_on, reattach_volumes=True)


def realize_vm(
    deps: ActionDeps, server: Server, spec: VMSpec, *, power_on: bool, reattach_volumes: bool
) -> VMInfo:
    """Create the VM of `spec` (one a resumed job made already is reused), attach the
    server's volumes again when asked (they are not in the spec), run the build's
    before-power-on hooks and power it on when asked."""
    compute = deps.backend.compute
    try:
        vm = compute.create_vm(spec)
    except AlreadyExistsError:
        vm = compute.get_vm(server.id)
    if reattach_volumes and deps.work is not None and deps.work.volumes is not None:
        deps.work.volumes.attach_disks(server.id)  # the server's volumes stay its own
    if deps.work is not None:
        for hook in deps.work.before_power_on:
            hook(server, spec)
    if power_on and vm.power_state != PowerState.ON:
        compute.power_on(server.id)
        vm = compute.get_vm(server.id)
    return vm


def power_off_quietly(deps: ActionDeps, server_id: str) -> VMInfo | None:
    """Power the VM off if it is on; its state after, None when it has no VM."""
    compute = deps.backend.compute
    try:
        vm = compute.get_vm(server_id)
    except NotFoundError:
        return None
    if vm.power_state == PowerState.ON:
        with contextlib.suppress(InvalidStateError):
            compute.power_off(server_id)
        vm = compute.get_vm(server_id)
    return vm


def destroy_vm(deps: ActionDeps, server_id: str) -> None:
    """Power off and destroy the server's VM; no VM is not an error."""
    compute = deps.backend.compute
    if power_off_quietly(deps, server_id) is None:
        return
    if deps.work is not None and deps.work.volumes is not None:
        # vCenter deletes the disks a destroyed VM still has: the volumes come off first.
        deps.work.volumes.detach_disks(server_id)
    with contextlib.suppress(NotFoundError):
        compute.destroy_vm(server_id)


def recorded(
    deps: ActionDeps, server: Server, request_id: str, event: str
) -> AbstractContextManager[None]:
    """The job's step as an instance action event (Nova's `compute_*_instance` names)."""
    if deps.work is None:
        return contextlib.nullcontext()
    return deps.work.events.record(server.id, request_id, event, host=server.cluster)
