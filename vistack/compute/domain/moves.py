"""Resize, cold and live migration: the API half (checks, the target cluster, the migration
record, the state change), with `resize.MoveWork` doing the vSphere half in the background.

Nova's rules, as its API answers them:

- resize (the owner): ACTIVE or SHUTOFF, no task; another flavor (400 "Resize requires a flavor
  change."), known (400 "Unable to locate requested flavor."), whose root disk is not smaller
  (a VMware disk never shrinks: 400); the extra cores and RAM within quota (403). The server
  stays on its cluster when the cluster has room (Nova's `allow_resize_to_same_host`, which
  every single-cluster vSphere cloud needs), else moves to one that has.
- migrate (admin): the same states; another cluster, the named one from 2.56 (400 when unknown
  or the current one), else the scheduler's; none fits: 400 NoValidHost.
- confirmResize / revertResize: VERIFY_RESIZE with a `finished` migration (400 "Instance has
  not been resized." otherwise); a revert re-checks the quota when the old flavor is bigger.
- os-migrateLive (admin): ACTIVE, no task; the named cluster or the scheduler's; before 2.34 a
  refused move answers 400, from 2.34 it answers 202 and the migration ends in `error`.

A locked server refuses its owner's moves (409), and every move is an instance action
(`resize`, `migrate`, `confirmResize`, `revertResize`, `live-migration`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict
from vistack.common.policy import PolicyEngine
from vistack.compute.db import migrations as moves_db
from vistack.compute.db import servers as queries
from vistack.compute.db import services as services_db
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.clusters import COMPUTE, ClusterCapacity, ClusterService
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.resize import (
    CONFIRM_TOPIC,
    JOBS,
    LIVE_TOPIC,
    RESIZE_TOPIC,
    REVERT_TOPIC,
    MoveWork,
)
from vistack.compute.domain.scheduler import NO_VALID_HOST, pick_cluster
from vistack.compute.domain.servers import NO_BACKEND, server_not_found, state_conflict
from vistack.drivers.bundle import Drivers

NOT_RESIZED = "Instance has not been resized."
#: Nova's CannotMigrateToSameHost (a cold migration to the server's own cluster).
SAME_HOST = "Cannot migrate to the host where the server exists."


@dataclass(frozen=True)
class LiveRequest:
    """A checked `os-migrateLive`: where to (None: the scheduler's choice), whether to skip
    the scheduler's checks (`force`, 2.30-2.67), and whether refusals are asynchronous (2.34)."""

    host: str | None
    force: bool = False
    asynchronous: bool = False


class MoveRefused(BadRequest):
    """A move no cluster can take (NoValidHost and its kin): 400, recorded on the migration."""


class MoveService:
    """resize, migrate, confirmResize, revertResize and os-migrateLive."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        bus: WorkQueue,
        drivers: Drivers | None,
        *,
        work: ServerWork | None,
        flavors: FlavorService,
        quotas: ComputeQuotas,
        clusters: ClusterService,
    ) -> None:
        self._store = store
        self._policy = policy
        self._bus = bus
        self._flavors = flavors
        self._quotas = quotas
        self._clusters = clusters
        self._server_work = work
        self.work: MoveWork | None = None
        if drivers is not None and work is not None:
            self.work = MoveWork(store, drivers, work.locks, work.events)
            for topic, job in JOBS.items():
                bus.register(topic, job(self.work))
            work.after_undo.append(self.work.drop_backup)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Resume the moves a restart interrupted (each job goes on from its last step)."""
        if self.work is None:
            return
        with self._store.transaction() as unit:
            tasks = (*states.RESIZE_TASKS, states.RESIZE_REVERTING, states.MIGRATING)
            rows = [queries.get(unit, i) for i in queries.live_in_build(unit, tasks)]
            found = [(r.id, r.task_state) for r in rows if r is not None]
            confirming = moves_db.in_status(unit, ("confirming",))
            # A MIGRATING server's newest live migration: the job goes on with it, or (when
            # it ended or was cancelled) just ends the task.
            live = {
                server_id: lives[0].id
                for server_id, task in found
                if task == states.MIGRATING
                and (lives := moves_db.of_server(unit, server_id, migration_type="live-migration"))
            }
        for server_id, task in found:
            payload: dict[str, Any] = {"server_id": server_id, "request_id": ""}
            if task == states.RESIZE_REVERTING:
                self._bus.submit(REVERT_TOPIC, payload)
            elif task == states.MIGRATING and server_id in live:
                self._bus.submit(LIVE_TOPIC, {**payload, "migration_id": live[server_id]})
            elif task in states.RESIZE_TASKS:
                self._bus.submit(RESIZE_TOPIC, payload)
        for migration in confirming:
            self._bus.submit(CONFIRM_TOPIC, {"server_id": migration.server_id, "request_id": ""})

    def stop(self) -> None:
        """Nothing runs outside the bus's jobs; a restart resumes them."""

    # ------------------------------------------------------------------ resize and migrate

    def resize(self, context: RequestContext, server_id: str, flavor_ref: str) -> None:
        """Queue a resize to `flavor_ref` (an id, or a link ending in one)."""
        flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
        project_id = self._owner(server_id)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)  # the quota check below holds until commit
            row = self._acted_on(unit, context, server_id, "os_compute_api:servers:resize")
            self._check_state(row, "resize", (states.ACTIVE, states.STOPPED))
            try:
                new = self._flavors.for_build(context, flavor_id)
            except BadRequest:
                raise BadRequest("Unable to locate requested flavor.") from None
            old = dict(row.flavor)
            if str(old.get("id")) == str(new["id"]):
                raise BadRequest("Resize requires a flavor change.")
            # A volume-backed server's root is its volume (Cinder's size, extended there):
            # the flavor's disk means nothing to it, as in Nova.
            volume_backed = not row.image_id
            if not volume_backed and int(new["disk"]) == 0 and int(old.get("disk", 0)) != 0:
                raise BadRequest(
                    "Server disk was unable to be resized because: Resize to zero disk flavor "
                    "is not allowed."
                )
            if not volume_backed and int(new["disk"]) < int(old.get("disk", 0)):
                # The VMware driver's refusal (its disks never shrink), said before anything
                # moves rather than after a rollback.
                raise BadRequest("Resize error: Unable to shrink disk.")
            self._check_upsize(unit, row, old, new)
            refused: MoveRefused | None = None
            try:
                dest = self._resize_target(unit, row, old, new)
            except MoveRefused as exc:
                self._refused(unit, context, row, "resize", "resize", new_flavor=new)
                refused = exc
            else:
                self._start_move(unit, context, row, "resize", old, new, dest)
        if refused is not None:
            raise refused
        self._bus.submit(RESIZE_TOPIC, {"server_id": server_id, "request_id": context.request_id})

    def migrate(self, context: RequestContext, server_id: str, host: str | None) -> None:
        """Queue a cold migration to `host` (a cluster) or the scheduler's choice."""
        self._policy.authorize("os_compute_api:os-migrate-server:migrate", context, {})
        with self._store.transaction() as unit:
            row = self._acted_on(unit, context, server_id, "os_compute_api:servers:show")
            self._check_state(row, "migrate", (states.ACTIVE, states.STOPPED))
            flavor = dict(row.flavor)
            refused: MoveRefused | None = None
            try:
                dest = self._other_cluster(unit, row, flavor, host, same_host=BadRequest(SAME_HOST))
            except MoveRefused as exc:
                self._refused(unit, context, row, "migration", "migrate")
                refused = exc
            else:
                self._start_move(unit, context, row, "migration", flavor, flavor, dest)
        if refused is not None:
            raise refused
        self._bus.submit(RESIZE_TOPIC, {"server_id": server_id, "request_id": context.request_id})

    def _start_move(
        self,
        unit: ComputeUnit,
        context: RequestContext,
        row: ServerRow,
        kind: str,
        old: dict[str, Any],
        new: dict[str, Any],
        dest: str,
    ) -> None:
        migration = moves_db.add(
            unit,
            row,
            kind,
            "pre-migrating",
            dest=dest,
            old_flavor_id=str(old.get("id")),
            new_flavor_id=str(new.get("id")),
        )
        move = {
            "migration_id": migration.id,
            "kind": kind,
            "old_flavor": old,
            "new_flavor": new,
            "old_vm_state": row.vm_state,
            "source": row.cluster,
            "source_host": row.vm_host,
            "dest": dest,
            "step": "prep",
            "volume_backed": not row.image_id,
        }
        # Quota and capacity count the larger of the two flavors until the move settles.
        queries.set_fields(
            unit,
            row.id,
            task_state=states.RESIZE_PREP,
            vcpus=max(int(old["vcpus"]), int(new["vcpus"])),
            memory_mb=max(int(old["ram"]), int(new["ram"])),
            root_gb=max(int(old["disk"]), int(new["disk"])),
        )
        moves_db.write_move(unit, row.id, move)
        self._action(unit, context, row.id, kind if kind == "resize" else "migrate")

    def _check_upsize(
        self, unit: ComputeUnit, row: ServerRow, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        """The extra cores and RAM within the project's quota (403, Nova's message)."""
        self._quotas.check_servers(
            unit,
            row.project_id,
            instances=0,
            cores=max(0, int(new["vcpus"]) - int(old["vcpus"])),
            ram=max(0, int(new["ram"]) - int(old["ram"])),
        )

    def _resize_target(
        self, unit: ComputeUnit, row: ServerRow, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> str:
        """The server's own cluster when it has room for the growth, else another."""
        candidates = self._candidates(row)
        own = next((c for c in candidates if c.name == row.cluster), None)
        if own is not None:
            grows = pick_cluster(
                [own],
                vcpus=max(0, int(new["vcpus"]) - int(old["vcpus"])),
                memory_mb=max(0, int(new["ram"]) - int(old["ram"])),
                disk_gb=max(0, int(new["disk"]) - int(old["disk"])),
            )
            if grows is not None:
                return own.name
        return self._other_cluster(unit, row, new, None, same_host=BadRequest(SAME_HOST))

    def _other_cluster(
        self,
        unit: ComputeUnit,
        row: ServerRow,
        flavor: Mapping[str, Any],
        host: str | None,
        *,
        same_host: BadRequest,
    ) -> str:
        """Another cluster with room for `flavor` (`host` when named).

        :raises BadRequest: `host` is no compute host; `same_host` when it is the current one.
        :raises MoveRefused: no other cluster can take the server.
        """
        if host is not None:
            self._known_host(unit, host)
            if host == row.cluster:
                raise same_host
        candidates = [c for c in self._candidates(row) if c.name != row.cluster]
        if host is not None:
            candidates = [c for c in candidates if c.name == host]
        chosen = pick_cluster(
            candidates,
            vcpus=int(flavor["vcpus"]),
            memory_mb=int(flavor["ram"]),
            disk_gb=int(flavor["disk"]),
        )
        if chosen is None:
            raise MoveRefused(NO_VALID_HOST)
        return chosen.name

    def _candidates(self, row: ServerRow) -> list[ClusterCapacity]:
        candidates = self._clusters.candidates(None)
        zone = row.availability_zone
        if zone is not None:
            candidates = [c for c in candidates if c.zone == zone]
        if self._server_work is not None:
            server = queries.to_server(row)
            for narrow in self._server_work.placement_filters:
                candidates = narrow(server, candidates)
        return candidates

    @staticmethod
    def _known_host(unit: ComputeUnit, host: str) -> None:
        """:raises BadRequest: Nova's ComputeHostNotFound."""
        if services_db.by_host(unit, COMPUTE, host) is None:
            raise BadRequest(f"Compute host {host} could not be found.")

    # ------------------------------------------------------------------ confirm and revert

    def confirm(self, context: RequestContext, server_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._acted_on(unit, context, server_id, "os_compute_api:servers:confirm_resize")
            self._check_state(row, "confirmResize", (states.RESIZED,))
            migration = self._finished(unit, row)
            moves_db.set_status(unit, migration.id, "confirming")
            self._action(unit, context, server_id, "confirmResize")
        self._bus.submit(CONFIRM_TOPIC, {"server_id": server_id, "request_id": context.request_id})

    def revert(self, context: RequestContext, server_id: str) -> None:
        project_id = self._owner(server_id)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            row = self._acted_on(unit, context, server_id, "os_compute_api:servers:revert_resize")
            self._check_state(row, "revertResize", (states.RESIZED,))
            migration = self._finished(unit, row)
            move = moves_db.move_of(row) or {}
            old = move.get("old_flavor") or dict(row.flavor)
            new = dict(row.flavor)
            self._check_upsize(unit, row, new, old)  # going back may take more again
            moves_db.set_status(unit, migration.id, "reverting")
            queries.set_fields(
                unit,
                server_id,
                task_state=states.RESIZE_REVERTING,
                vcpus=max(int(old["vcpus"]), int(new["vcpus"])),
                memory_mb=max(int(old["ram"]), int(new["ram"])),
                root_gb=max(int(old["disk"]), int(new["disk"])),
            )
            self._action(unit, context, server_id, "revertResize")
        self._bus.submit(REVERT_TOPIC, {"server_id": server_id, "request_id": context.request_id})

    def _finished(self, unit: ComputeUnit, row: ServerRow) -> moves_db.Migration:
        found = moves_db.of_server(unit, row.id, statuses=("finished",))
        if not found or moves_db.move_of(row) is None:
            raise BadRequest(NOT_RESIZED)
        return found[0]

    # ------------------------------------------------------------------ live migration

    def live_migrate(self, context: RequestContext, server_id: str, asked: LiveRequest) -> None:
        self._policy.authorize("os_compute_api:os-migrate-server:migrate_live", context, {})
        with self._store.transaction() as unit:
            row = self._acted_on(unit, context, server_id, "os_compute_api:servers:show")
            self._check_state(row, "os-migrateLive", (states.ACTIVE,))
            if asked.host is not None:
                self._known_host(unit, asked.host)  # 400 at every version, as Nova
            self_error = (
                f"Unable to migrate instance ({server_id}) to current host ({row.cluster})."
            )
            try:
                if asked.force and asked.host is not None and asked.host != row.cluster:
                    dest = asked.host
                else:
                    dest = self._other_cluster(
                        unit, row, row.flavor, asked.host, same_host=MoveRefused(self_error)
                    )
            except MoveRefused as exc:
                self._refused(unit, context, row, "live-migration", "live-migration")
                refused: MoveRefused | None = exc
            else:
                refused = None
                migration = moves_db.add(
                    unit, row, "live-migration", "accepted", dest=dest,
                    old_flavor_id=str(row.flavor.get("id")),
                    new_flavor_id=str(row.flavor.get("id")),
                )  # fmt: skip
                queries.set_fields(unit, server_id, task_state=states.MIGRATING)
                self._action(unit, context, server_id, "live-migration")
        if refused is not None:
            if asked.asynchronous:
                return  # 2.34+: accepted, and the migration says it ended in error
            raise refused
        self._bus.submit(
            LIVE_TOPIC,
            {
                "server_id": server_id,
                "request_id": context.request_id,
                "migration_id": migration.id,
            },
        )

    # ------------------------------------------------------------------ shared checks

    def _owner(self, server_id: str) -> str:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            return row.project_id

    def _acted_on(
        self, unit: ComputeUnit, context: RequestContext, server_id: str, rule: str
    ) -> ServerRow:
        """The server row-locked, once the caller may see it, may act, and it is unlocked."""
        row = queries.locked(unit, server_id)
        target = {"project_id": row.project_id} if row is not None else {}
        if row is None or not self._policy.check("os_compute_api:servers:show", context, target):
            raise server_not_found(server_id)
        self._policy.authorize(rule, context, target)
        if row.locked and "admin" not in context.roles:
            raise Conflict(f"Instance {server_id} is locked")
        if self.work is None:
            raise Conflict(NO_BACKEND)
        return row

    @staticmethod
    def _check_state(row: ServerRow, action: str, allowed: tuple[str, ...]) -> None:
        if row.vm_state not in allowed or row.task_state is not None:
            raise state_conflict(row, action)

    def _refused(
        self,
        unit: ComputeUnit,
        context: RequestContext,
        row: ServerRow,
        kind: str,
        action: str,
        *,
        new_flavor: Mapping[str, Any] | None = None,
    ) -> None:
        """Nova records a refused move too: a migration in `error`, a failed action."""
        moves_db.add(
            unit,
            row,
            kind,
            "error",
            dest=None,
            old_flavor_id=str(row.flavor.get("id")),
            new_flavor_id=str((new_flavor or row.flavor).get("id")),
        )
        self._action(unit, context, row.id, action)
        queries.finish_action(unit, row.id, context.request_id, "Error")

    @staticmethod
    def _action(unit: ComputeUnit, context: RequestContext, server_id: str, name: str) -> None:
        queries.start_action(
            unit,
            server_id,
            name,
            request_id=context.request_id,
            user_id=context.user_id,
            project_id=context.project_id,
        )
