"""Shelve, shelveOffload and unshelve, in Nova's semantics on vSphere.

Shelve powers the VM off and snapshots its root disk into an image named `<server>-shelved`
(the snapshot pipeline of `snapshots.py`; task shelving → shelving_image_pending_upload →
shelving_image_uploading), and the server is SHELVED: its VM still exists, powered off, on its
cluster. Offloading destroys the VM (its ports stay the server's, with their MACs and
addresses) and frees the cluster: SHELVED_OFFLOADED, no host. `[compute]
shelved_offload_time` says when: 0 (Nova's default) at once, a number of seconds later by a
periodic check, -1 never; shelveOffload (an administrator's action by default) does it now.

Unshelve of a SHELVED server powers its VM on. Of an offloaded one it schedules again (2.77: in
another availability zone if asked; 2.91: `availability_zone: null` unpins the server from its
zone, and an administrator's `host` names the cluster, which must be in the zone the server is
or gets pinned to), clones the shelved image's template with the same instance UUID and the
same ports, and powers it on. Either way the shelved image is deleted afterwards,
as Nova does, and so is it when a shelved server is deleted (`after_undo`).

Failures give the server back as it was (Nova's behaviour for these): a failed shelve deletes
its image and leaves the server SHUTOFF or ACTIVE as its VM is; a failed offload leaves it
SHELVED; a failed unshelve destroys the VM it made and leaves it SHELVED_OFFLOADED (or
SHELVED), each with a fault. A restart undoes an interrupted shelve and redoes an interrupted
offload or unshelve (their steps are safe to repeat).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, VistackError
from vistack.compute.db import servers as queries
from vistack.compute.db import services as service_queries
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.build import fault_of
from vistack.compute.domain.clusters import COMPUTE, ClusterCapacity
from vistack.compute.domain.lifecycle import (
    Aborted,
    ActionDeps,
    begin,
    destroy_vm,
    finish_action,
    interrupted,
    job_context,
    load,
    make_vm,
    place,
    power_off_quietly,
    recorded,
    remember,
    step,
)
from vistack.compute.domain.models import Server, ServerQuery
from vistack.compute.domain.remade import record_made_vm
from vistack.compute.domain.snapshots import SNAPSHOT_STATES, SnapshotService
from vistack.compute.domain.work import context_payload, owner_context
from vistack.drivers.errors import DriverError, InvalidStateError, NotFoundError
from vistack.drivers.models import PowerState
from vistack.image.domain.models import Status

LOG = logging.getLogger(__name__)

SHELVE_TOPIC = "compute.shelve"
#: On the server (`system_metadata`): the shelved image and when the server was shelved.
KEY = "shelve"
#: On the server (`system_metadata`) while an unshelve runs: the cluster it was asked onto (2.91).
HOST_KEY = "unshelve_host"
UNSET: Any = object()


def narrow_to_host(server: Server, candidates: list[ClusterCapacity]) -> list[ClusterCapacity]:
    """`ServerWork.placement_filters` hook: an unshelve given a `host` (2.91) goes there only
    (or fails as Nova's does, "No valid host", when that cluster is disabled, down or full)."""
    wanted = server.system_metadata.get(HOST_KEY)
    if not wanted or server.task_state != states.UNSHELVING:
        return candidates
    return [c for c in candidates if c.name == wanted]


class ShelveService:
    """The shelve actions, their jobs and the periodic offload."""

    def __init__(
        self, deps: ActionDeps, snapshots: SnapshotService, offload_seconds: float = 0
    ) -> None:
        self._deps = deps
        self._snapshots = snapshots
        self._offload_seconds = offload_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        deps.bus.register(SHELVE_TOPIC, self.run)
        if deps.work is not None:
            deps.work.placement_filters.append(narrow_to_host)

    # ------------------------------------------------------------------ API half

    def shelve(self, context: RequestContext, server_id: str) -> None:
        deps = self._deps
        server = self._snapshots.check_start(
            context, server_id, "os_compute_api:os-shelve:shelve", "shelve", SNAPSHOT_STATES
        )
        image = self._snapshots.make_image(
            context, server, f"{server.name}-shelved", "snapshot", {}
        )
        try:
            begin(
                deps,
                context,
                server_id,
                rule="os_compute_api:os-shelve:shelve",
                action="shelve",
                allowed=SNAPSHOT_STATES,
                task_state=states.SHELVING,
            )
            remember(deps, server_id, KEY, {"image_id": image.id})
        except BaseException:
            deps.images.delete(context, image.id)
            raise
        self._submit(context, server_id, "shelve", image_id=image.id)

    def shelve_offload(self, context: RequestContext, server_id: str) -> None:
        begin(
            self._deps,
            context,
            server_id,
            rule="os_compute_api:os-shelve:shelve_offload",
            action="shelveOffload",
            allowed=(states.SHELVED,),
            task_state=states.SHELVING_OFFLOADING,
        )
        self._submit(context, server_id, "offload")

    def unshelve(
        self, context: RequestContext, server_id: str, zone: Any = UNSET, host: str | None = None
    ) -> None:
        """`zone` (2.77): the availability zone an offloaded server is pinned to and goes to
        (None, from 2.91: unpinned, any zone); `host` (2.91, administrators): its cluster.

        :raises Forbidden: `host` without the `unshelve_to_host` policy.
        :raises BadRequest: an unknown zone or compute host.
        :raises Conflict: the server is not SHELVED_OFFLOADED when a zone or host is given, or
            the host is not in the zone the server is (or gets) pinned to.
        """
        deps = self._deps

        def check(row: ServerRow) -> None:
            if (zone is not UNSET or host is not None) and row.vm_state != states.SHELVED_OFFLOADED:
                named = "availability_zone" if host is None else "host"
                raise Conflict(
                    f"The {named} parameter can only be given to unshelve a server in "
                    f"SHELVED_OFFLOADED status; {server_id} is {row.vm_state.upper()}."
                )
            if zone is not UNSET and zone is not None:
                deps.clusters.candidates(zone)  # an unknown zone is a 400
            if host is not None:
                target = {"project_id": row.project_id}
                deps.policy.authorize("os_compute_api:os-shelve:unshelve_to_host", context, target)
                self._check_host(host, row.availability_zone if zone is UNSET else zone)

        def write(row: ServerRow) -> dict[str, Any]:
            changes: dict[str, Any] = {} if zone is UNSET else {"availability_zone": zone}
            system = dict(row.system_metadata or {})
            if host is not None or HOST_KEY in system:  # never a former request's host
                system.pop(HOST_KEY, None)
                if host is not None:
                    system[HOST_KEY] = host
                changes["system_metadata"] = system
            return changes

        begin(
            deps,
            context,
            server_id,
            rule="os_compute_api:os-shelve:unshelve",
            action="unshelve",
            allowed=(states.SHELVED, states.SHELVED_OFFLOADED),
            task_state=states.UNSHELVING,
            check=check,
            changes=write,
        )
        self._submit(context, server_id, "unshelve")

    def _check_host(self, host: str, zone: str | None) -> None:
        """A compute host (a cluster) that exists and, when the server is pinned to `zone`,
        is in it (Nova's UnshelveHostNotInAZ)."""
        with self._deps.store.transaction() as unit:
            known = service_queries.by_host(unit, COMPUTE, host) is not None
        if not known:
            raise BadRequest(f"Compute host {host} could not be found.")
        if zone is not None and self._deps.clusters.zone_of(host) != zone:
            raise Conflict(f'Host "{host}" is not in the availability zone "{zone}".')

    def _submit(
        self, context: RequestContext | None, server_id: str, what: str, **extra: str
    ) -> None:
        payload: dict[str, Any] = {
            **extra,
            "server_id": server_id,
            "action": what,
            "request_id": context.request_id if context is not None else "",
        }
        if context is not None:
            payload["context"] = context_payload(context)
        self._deps.bus.submit(SHELVE_TOPIC, payload)

    # ------------------------------------------------------------------ jobs

    def run(self, payload: Mapping[str, Any]) -> None:
        deps = self._deps
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        what = str(payload["action"])
        tasks = {
            "shelve": states.SHELVE_TASKS[:3],
            "offload": (states.SHELVING_OFFLOADING,),
            "unshelve": (states.UNSHELVING,),
        }[what]
        with deps.locks.of(server_id):
            loaded = load(deps, server_id)
            if loaded is None or loaded[0].task_state not in tasks:
                if what == "shelve" and payload.get("image_id"):
                    # A delete took the server before the shelve began: its image goes too.
                    self._snapshots.abandon(payload, str(payload["image_id"]))
                return
            server, system = loaded
            context = job_context(payload, server)
            job = {"shelve": self._shelve, "offload": self._offload, "unshelve": self._unshelve}
            event = {
                "shelve": "compute_shelve_instance",
                "offload": "compute_shelve_offload_instance",
                "unshelve": "compute_unshelve_instance",
            }[what]
            try:
                with recorded(deps, server, request_id, event):
                    job[what](server, system, context)
            except Aborted:
                if what == "shelve":  # a delete took over: the shelved image goes too
                    image_id = str((system.get(KEY) or {}).get("image_id"))
                    self._snapshots.discard(context, server_id, image_id)
                    self._snapshots.forget_job(server_id)
                finish_action(deps, server_id, request_id, "Error")
                return
            except Exception as exc:
                self._log(what, server_id, exc)
                self._give_back(what, server, system, context, exc)
                finish_action(deps, server_id, request_id, "Error")
                return
            finish_action(deps, server_id, request_id, "Success")
            if what == "shelve" and self._offload_seconds == 0:
                self.offload_now(server_id)

    def _shelve(self, server: Server, system: dict[str, Any], context: RequestContext) -> None:
        deps = self._deps
        image_id = str((system.get(KEY) or {}).get("image_id"))
        power_off_quietly(deps, server.id)
        self._snapshots.copy_disk(
            context,
            server,
            image_id,
            states.SHELVING_IMAGE_PENDING_UPLOAD,
            states.SHELVING_IMAGE_UPLOADING,
        )
        self._snapshots.forget_job(server.id)
        remember(deps, server.id, KEY, {"image_id": image_id, "shelved_at": utcnow().isoformat()})
        step(
            deps,
            server.id,
            states.SHELVING_IMAGE_UPLOADING,
            vm_state=states.SHELVED,
            task_state=None,
            power_state=states.SHUTDOWN,
        )

    def _offload(self, server: Server, system: dict[str, Any], context: RequestContext) -> None:
        deps = self._deps
        destroy_vm(deps, server.id)
        problems: list[str] = []
        if deps.work is not None:
            for hook in deps.work.after_undo:
                problems.extend(hook(server.id))
        if problems:
            LOG.warning("offload of %s left behind: %s", server.id, "; ".join(problems))
        step(
            deps,
            server.id,
            states.SHELVING_OFFLOADING,
            vm_state=states.SHELVED_OFFLOADED,
            task_state=None,
            power_state=states.NOSTATE,
            cluster=None,
            vm_host=None,
        )

    def _unshelve(self, server: Server, system: dict[str, Any], context: RequestContext) -> None:
        deps = self._deps
        image_id = str((system.get(KEY) or {}).get("image_id"))
        compute = deps.backend.compute
        if server.vm_state == states.SHELVED:
            with contextlib.suppress(InvalidStateError):  # on already: what was asked
                compute.power_on(server.id)
            vm = compute.get_vm(server.id)
        else:
            try:
                image = deps.images.visible_image(context, image_id)
            except NotFound:
                raise BadRequest(f"The shelved image {image_id} is gone.") from None
            if image.status != Status.ACTIVE:
                raise BadRequest(f"The shelved image {image_id} is {image.status}.")
            cluster, datastore = place(deps, server, image, server.availability_zone)
            # The cluster is recorded before the VM is made, so a failure or a delete finds
            # it. (Nova's unshelve passes through `spawning`; here the task stays
            # `unshelving`, since `spawning` is a build's to a restart.)
            step(deps, server.id, states.UNSHELVING, cluster=cluster)
            vm = make_vm(deps, context, server, image, cluster, datastore, power_on=True)
        record_made_vm(deps, server.id, states.UNSHELVING, vm, vm_state=states.ACTIVE)
        remember(deps, server.id, KEY, None)
        remember(deps, server.id, HOST_KEY, None)
        self._delete_image(context, image_id)

    def _delete_image(self, context: RequestContext, image_id: str) -> None:
        try:
            self._deps.images.delete(context, image_id)
        except NotFound:
            pass
        except VistackError as exc:
            LOG.warning("could not delete shelved image %s: %s", image_id, exc.message)

    def _log(self, what: str, server_id: str, exc: Exception) -> None:
        if isinstance(exc, (VistackError, DriverError)):
            LOG.info("%s of server %s failed: %s", what, server_id, exc)
        else:
            LOG.exception("%s of server %s failed", what, server_id)

    def _give_back(
        self,
        what: str,
        server: Server,
        system: dict[str, Any],
        context: RequestContext,
        exc: Exception,
    ) -> None:
        """The server back as it was before the action, with the failure as its fault."""
        deps = self._deps
        values: dict[str, Any] = {"task_state": None, "fault": fault_of(exc, [])}
        if what == "shelve":
            image_id = str((system.get(KEY) or {}).get("image_id"))
            self._snapshots.discard(context, server.id, image_id)
            self._snapshots.forget_job(server.id)
            remember(deps, server.id, KEY, None)
            vm = self._vm_power(server.id)
            values["vm_state"] = states.ACTIVE if vm == PowerState.ON else states.STOPPED
            values["power_state"] = states.POWER_NUMBERS[vm] if vm is not None else states.NOSTATE
        elif what == "unshelve" and server.vm_state == states.SHELVED_OFFLOADED:
            remember(deps, server.id, HOST_KEY, None)
            try:
                destroy_vm(deps, server.id)
            except Exception as undo:
                values["fault"] = fault_of(exc, [f"VM {server.id}: {undo}"])
            values.update(cluster=None, vm_host=None, power_state=states.NOSTATE)
        with deps.store.transaction() as unit:
            for task in (*states.SHELVE_TASKS, states.UNSHELVING):
                queries.set_if_task(unit, server.id, task, **values)

    def _vm_power(self, server_id: str) -> PowerState | None:
        try:
            return self._deps.backend.compute.get_vm(server_id).power_state
        except (NotFoundError, DriverError):
            return None

    # ------------------------------------------------------------------ offload, restart

    def offload_now(self, server_id: str) -> None:
        """Offload a SHELVED server with no task (the shelve's own, or the periodic check's)."""
        deps = self._deps
        with deps.store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or row.vm_state != states.SHELVED or row.task_state is not None:
                return
            queries.set_fields(unit, server_id, task_state=states.SHELVING_OFFLOADING)
        self._submit(None, server_id, "offload")

    def after_undo(self, server_id: str) -> list[str]:
        """A deleted shelved server's image goes with it (Nova deletes it too)."""
        loaded = load(self._deps, server_id)
        if loaded is None:
            return []
        server, system = loaded
        image_id = (system.get(KEY) or {}).get("image_id")
        shelved = server.vm_state in (states.SHELVED, states.SHELVED_OFFLOADED)
        if not image_id or not shelved or server.task_state != states.DELETING:
            return []  # not a delete (an offload runs the undo hooks too)
        try:
            self._deps.images.delete(owner_context(server.project_id, server.user_id), image_id)
        except NotFound:
            pass
        except VistackError as exc:
            return [f"shelved image {image_id}: {exc.message}"]
        return []

    def start(self) -> None:
        """Undo interrupted shelves, redo interrupted offloads and unshelves; then, with a
        positive `shelved_offload_time`, offload shelved servers as their time comes."""
        deps = self._deps
        if deps.drivers is None:
            return
        for server_id in interrupted(deps, states.SHELVE_TASKS[:3]):
            loaded = load(deps, server_id)
            if loaded is not None:
                server, system = loaded
                error = RuntimeError("The shelve was interrupted by a restart; shelve again.")
                context = owner_context(server.project_id, server.user_id)
                self._give_back("shelve", server, system, context, error)
        for server_id in interrupted(deps, (states.SHELVING_OFFLOADING,)):
            self._submit(None, server_id, "offload")
        for server_id in interrupted(deps, (states.UNSHELVING,)):
            self._submit(None, server_id, "unshelve")
        if self._offload_seconds > 0 and self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._offload_loop, name="shelved-offload", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _offload_loop(self) -> None:
        interval = max(1.0, min(60.0, self._offload_seconds / 2))
        while not self._stopping.wait(interval):
            try:
                self.offload_due()
            except Exception:
                LOG.exception("the periodic offload of shelved servers failed")

    def offload_due(self) -> list[str]:
        """Offload the SHELVED servers shelved longer than `shelved_offload_time` ago."""
        deadline = utcnow() - timedelta(seconds=self._offload_seconds)
        with self._deps.store.transaction() as unit:
            shelved = ServerQuery(project_id=None, vm_states=(states.SHELVED,))
            candidates = [
                (row.id, dict(row.system_metadata or {})) for row in queries.listing(unit, shelved)
            ]
        due = []
        for server_id, system in candidates:
            shelved_at = (system.get(KEY) or {}).get("shelved_at")
            if shelved_at and datetime.fromisoformat(shelved_at) <= deadline:
                self.offload_now(server_id)
                due.append(server_id)
        return due
