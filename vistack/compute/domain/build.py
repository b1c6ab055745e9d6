"""The background half of a server's life: build, delete and power jobs, each on one server.

A build schedules a cluster, plugs the Neutron ports, clones the image's template into a VM
whose instance UUID is the server id, and powers it on. Every step records what it made on the
server's row before the next starts, so a failure (or a restart) knows what to undo: a failed
build destroys its VM and its ports, releases the ports it was given, and leaves the server in
ERROR with a fault a person can act on. A delete is the same undo, ending in DELETED.

A server's jobs hold its lock (`ServerLocks`), so a delete that arrives mid-build waits for the
build, which sees the `deleting` task between steps and stops early.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, VistackError
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.action_events import (
    BUILD_EVENT,
    DELETE_EVENT,
    POWER_EVENTS,
    ActionEvents,
)
from vistack.compute.domain.boot_volumes import ServerVolumes
from vistack.compute.domain.clusters import ClusterCapacity, ClusterService
from vistack.compute.domain.models import Server
from vistack.compute.domain.scheduler import NO_VALID_HOST, pick_cluster, pick_datastore
from vistack.compute.domain.templates import TemplateCache, image_disk
from vistack.compute.domain.vm_spec import root_disk, server_vm_spec
from vistack.compute.domain.work import (
    ServerLocks,
    context_of,
    owner_context,
    service_context,
)
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import (
    AlreadyExistsError,
    DriverError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    UnsupportedError,
)
from vistack.drivers.models import NicSpec, PowerState, VMInfo, VMSpec
from vistack.image.domain.images import ImageService
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)

BUILD_TOPIC = "compute.build"
DELETE_TOPIC = "compute.delete"
POWER_TOPIC = "compute.power"


class BuildAborted(Exception):
    """The server went (or is going) away while it was being built: stop, undo nothing more
    than the delete will."""


#: Narrows the clusters a server may be built on (a server group's policy, ...).
PlacementFilter = Callable[[Server, list[ClusterCapacity]], list[ClusterCapacity]]
#: Adds to a new VM's spec before it is created (the config drive's ISO), or asks that it stay
#: off until the `before_power_on` hooks ran (a server group member joins its DRS rule first).
SpecHook = Callable[[Server, VMSpec], VMSpec]
#: Runs once the VM exists and before it powers on (attach the config drive, join DRS rules).
BeforePowerOn = Callable[[Server, VMSpec], None]
#: Undoes what a hook made for a server once its VM is gone; returns what it could not undo.
AfterUndo = Callable[[str], list[str]]


@dataclass(frozen=True)
class Plugged:
    """The ports of a server as its NICs: specs for the VM and the addresses for the API."""

    nics: tuple[NicSpec, ...]
    addresses: dict[str, list[dict[str, Any]]]


class ServerWork:
    """Runs the jobs; `ServerService` submits them."""

    def __init__(
        self,
        store: ComputeStore,
        drivers: Drivers,
        clusters: ClusterService,
        images: ImageService,
        networks: NetworkService,
        templates: TemplateCache,
    ) -> None:
        self._store = store
        self._drivers = drivers
        self._clusters = clusters
        self._images = images
        self._networks = networks
        self._templates = templates
        self._locks = ServerLocks()
        #: Extension points for the features around a build (see the type aliases above).
        self.placement_filters: list[PlacementFilter] = []
        self.spec_hooks: list[SpecHook] = []
        self.before_power_on: list[BeforePowerOn] = []
        self.after_undo: list[AfterUndo] = []
        #: The action events each job records (features' jobs record theirs here too).
        self.events = ActionEvents(store)
        #: The server's volumes (block device mappings); None: no block storage wiring.
        self.volumes: ServerVolumes | None = None

    @property
    def locks(self) -> ServerLocks:
        """The per-server locks every job on a server holds (features' jobs take them too)."""
        return self._locks

    @property
    def templates(self) -> TemplateCache:
        """The image templates builds clone (features that make a VM again clone them too)."""
        return self._templates

    # ------------------------------------------------------------------ helpers

    def _server(self, server_id: str) -> Server | None:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            return queries.to_server(row) if row is not None else None

    def _context(self, payload: Mapping[str, Any], server: Server) -> RequestContext:
        raw = payload.get("context")
        if isinstance(raw, dict):
            return context_of(raw)
        return owner_context(server.project_id, server.user_id)

    def _advance(self, server_id: str, **values: Any) -> None:
        """Record a step, unless a delete was asked meanwhile (then stop the build)."""
        with self._store.transaction() as unit:
            if not queries.set_unless_deleting(unit, server_id, **values):
                raise BuildAborted(server_id)

    def _record(self, server_id: str, **values: Any) -> None:
        """Record what the build made even when a delete was asked meanwhile: the delete
        (which waits for this build to end) undoes what it finds recorded."""
        with self._store.transaction() as unit:
            queries.set_fields(unit, server_id, **values)

    def _record_then_check(self, server_id: str, **values: Any) -> None:
        """`_record`, then stop the build if a delete was asked meanwhile: one transaction,
        committed before the build stops (the delete's undo needs what it recorded)."""
        with self._store.transaction() as unit:
            queries.set_fields(unit, server_id, **values)
            row = queries.get(unit, server_id)
            deleting = row is None or row.task_state == states.DELETING
        if deleting:
            raise BuildAborted(server_id)

    def _finish_action(self, server_id: str, request_id: str, result: str) -> None:
        with self._store.transaction() as unit:
            queries.finish_action(unit, server_id, request_id, result)

    # ------------------------------------------------------------------ build

    def build(self, payload: Mapping[str, Any]) -> None:
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            server = self._server(server_id)
            if server is None or server.task_state not in states.BUILD_TASKS:
                return  # deleted, or built by a job before this one
            context = self._context(payload, server)
            event = self.events.start(server_id, request_id, BUILD_EVENT)
            try:
                active = self._build(server, context)
                # ACTIVE, the event and the action's end in one transaction.
                with self._store.transaction() as unit:
                    if not queries.set_unless_deleting(unit, server_id, **active):
                        raise BuildAborted(server_id)
                    self.events.finish_in(unit, event)
                    queries.finish_action(unit, server_id, request_id, "Success")
            except BuildAborted as exc:
                self.events.finish(event, exc, details="The server was deleted during its build.")
                self._finish_action(server_id, request_id, "Error")
            except Exception as exc:
                self.events.finish(event, exc)
                self._fail_build(server, context, exc)
                self._finish_action(server_id, request_id, "Error")

    def _build(self, server: Server, context: RequestContext) -> dict[str, Any]:
        """Everything up to the running VM; the values that record the server ACTIVE."""
        flavor = server.flavor
        # Only a job that finds an earlier attempt got as far as spawning can meet its VM.
        first_attempt = server.task_state != states.SPAWNING
        # A volume-backed server has no image: its root disk is a volume (boot_volumes.py).
        image = self._images.visible_image(context, server.image_id) if server.image_id else None
        image_datastore = image_disk(image)[0] if image is not None else None
        candidates = self._clusters.candidates(server.availability_zone)
        for narrow in self.placement_filters:
            candidates = narrow(server, candidates)
        cluster = pick_cluster(
            candidates,
            vcpus=int(flavor["vcpus"]),
            memory_mb=int(flavor["ram"]),
            disk_gb=int(flavor["disk"]) if image is not None else 0,  # a volume is Cinder's
        )
        if cluster is None:
            raise NoCapacityError(NO_VALID_HOST)
        datastore = pick_datastore(cluster, image_datastore)
        if datastore is None:
            raise NoCapacityError(f"Cluster {cluster.name} sees no datastore.")
        self._advance(server.id, cluster=cluster.name, task_state=states.NETWORKING)
        plugged = self._plug(server, context, cluster.name)
        self._advance(server.id, addresses=plugged.addresses, task_state=states.SPAWNING)
        volumes = self.volumes.prepare(server, context) if self.volumes is not None else None
        template = None
        if image is not None:
            template = self._templates.template_for(
                image,
                cluster.name,
                datastore,
                cpus=int(flavor["vcpus"]),
                memory_mb=int(flavor["ram"]),
            )
        elif volumes is None or volumes.root is None:
            raise BadRequest("The server has neither an image nor a root volume to boot from.")
        elif volumes.root_datastore in cluster.datastores:
            datastore = str(volumes.root_datastore)  # the VM's files beside its boot disk
        disks = root_disk(flavor) if image is not None else ()
        spec = replace(
            server_vm_spec(
                server,
                cluster.name,
                datastore,
                template=template,
                disks=disks + (volumes.specs() if volumes is not None else ()),
                nics=plugged.nics,
            ),
            power_on=True,
            may_exist=not first_attempt,
        )
        for add in self.spec_hooks:
            spec = add(server, spec)
        try:
            vm = self._drivers.compute.create_vm(spec)
        except AlreadyExistsError:
            vm = self._drivers.compute.get_vm(server.id)  # a resumed build made it already
            spec = replace(spec, isos=())  # and the hooks attach what it may lack
        if self.volumes is not None and volumes is not None and (volumes.root or volumes.others):
            self.volumes.complete(server.id)
        for hook in self.before_power_on:
            hook(server, spec)
        if vm.power_state != PowerState.ON:
            # Powered on, it is running: no read back (the host DRS chose at the clone is
            # kept; a later move is vCenter's to report).
            self._drivers.compute.power_on(server.id)
        return {
            "vm_state": states.ACTIVE,
            "task_state": None,
            "power_state": states.RUNNING,
            "vm_host": vm.host,
            "launched_at": utcnow(),
            "fault": None,
        }

    def _plug(self, server: Server, context: RequestContext, cluster: str) -> Plugged:
        """Make or claim each requested port, recording each id as soon as it exists, bound to
        the cluster in the same write (`binding:host_id`, as Nova binds a port to its compute
        host): a bound compute port is ACTIVE in Neutron."""
        requested = server.requested_networks
        port_ids: list[str] = []
        owned: list[str] = []
        nics: list[NicSpec] = []
        addresses: dict[str, list[dict[str, Any]]] = {}
        owner = f"compute:{server.availability_zone or 'nova'}"
        for entry in requested:
            if entry.get("port_id"):
                port = self._networks.update_port(
                    context,
                    entry["port_id"],
                    {"port": {"device_id": server.id, "device_owner": owner}},
                    bind_to_host=cluster,
                )
                port_ids.append(port["id"])
            else:
                body: dict[str, Any] = {
                    "network_id": entry["network_id"],
                    "device_id": server.id,
                    "device_owner": owner,
                }
                if entry.get("fixed_ip"):
                    body["fixed_ips"] = [{"ip_address": entry["fixed_ip"]}]
                if entry.get("security_group_ids"):
                    body["security_groups"] = entry["security_group_ids"]
                port = self._networks.create_port(context, {"port": body}, bind_to_host=cluster)
                port_ids.append(port["id"])
                owned.append(port["id"])
            # Recorded even when a delete arrived meanwhile (its undo needs the ids); then stop.
            self._record_then_check(server.id, port_ids=list(port_ids), owned_port_ids=list(owned))
            network_name, portgroup = self._networks.portgroup_of(context, port["network_id"])
            nics.append(NicSpec(portgroup, port["mac_address"]))
            addresses.setdefault(network_name, []).extend(
                {
                    "version": 6 if ":" in fixed["ip_address"] else 4,
                    "addr": fixed["ip_address"],
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
                }
                for fixed in port.get("fixed_ips", [])
            )
        return Plugged(tuple(nics), addresses)

    def _fail_build(self, server: Server, context: RequestContext, exc: Exception) -> None:
        if not isinstance(exc, (VistackError, DriverError)):
            LOG.exception("build of server %s failed", server.id)
        else:
            LOG.info("build of server %s failed: %s", server.id, exc)
        cleanup_errors = self._undo(server.id, context, failed_build=True)
        fault = fault_of(exc, cleanup_errors)
        with self._store.transaction() as unit:
            queries.set_unless_deleting(
                unit,
                server.id,
                vm_state=states.ERROR,
                task_state=None,
                power_state=states.NOSTATE,
                fault=fault,
                addresses={},
            )

    # ------------------------------------------------------------------ undo and delete

    def _undo(
        self, server_id: str, context: RequestContext, *, failed_build: bool = False
    ) -> list[str]:
        """Take the volumes off the VM (ending their attachments), destroy the VM and release
        the ports; returns what could not be undone. A volume that could not be taken off
        keeps the VM (vCenter would delete the volume's disk with it)."""
        problems: list[str] = []
        compute = self._drivers.compute
        try:
            # Asked straight away rather than after a read: one round trip less per delete.
            with contextlib.suppress(InvalidStateError):
                compute.power_off(server_id)
            kept = self._end_volumes(server_id, context, failed_build)
            if kept:
                problems.extend(kept)
            else:
                compute.destroy_vm(server_id)
        except NotFoundError:
            problems.extend(self._end_volumes(server_id, context, failed_build))
        except Exception as exc:  # reported on the server, never lost
            problems.append(f"VM {server_id}: {exc}")
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            port_ids = list(row.port_ids or []) if row is not None else []
            owned = set(row.owned_port_ids or []) if row is not None else set()
            project_id = row.project_id if row is not None else context.project_id or ""
        for port_id in port_ids:
            try:
                if port_id in owned:
                    self._networks.delete_port(context, port_id)
                else:
                    body = {"port": {"device_id": "", "device_owner": "", "binding:host_id": ""}}
                    self._networks.update_port(service_context(project_id), port_id, body)
            except VistackError as exc:
                if exc.status != 404:
                    problems.append(f"port {port_id}: {exc.message}")
        with self._store.transaction() as unit:
            queries.set_fields(unit, server_id, port_ids=[], owned_port_ids=[])
        for hook in self.after_undo:
            problems.extend(hook(server_id))
        return problems

    def _end_volumes(
        self, server_id: str, context: RequestContext, failed_build: bool
    ) -> list[str]:
        if self.volumes is None:
            return []
        return self.volumes.teardown(server_id, context, failed_build=failed_build)

    def delete(self, payload: Mapping[str, Any]) -> None:
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            server = self._server(server_id)
            if server is None or server.task_state != states.DELETING:
                return
            context = self._context(payload, server)
            event = self.events.start(server_id, request_id, DELETE_EVENT, host=server.cluster)
            problems = self._undo(server_id, context)
            failure = RuntimeError("; ".join(problems)) if problems else None
            with self._store.transaction() as unit:
                self.events.finish_in(unit, event, failure)
                if problems:
                    queries.set_fields(
                        unit,
                        server_id,
                        vm_state=states.ERROR,
                        task_state=None,
                        fault=fault_of(RuntimeError("the delete could not finish"), problems),
                    )
                else:
                    now = utcnow()
                    queries.set_fields(
                        unit,
                        server_id,
                        vm_state=states.DELETED,
                        task_state=None,
                        power_state=states.NOSTATE,
                        deleted_at=now,
                        terminated_at=now,
                        addresses={},
                    )
                queries.finish_action(
                    unit, server_id, request_id, "Error" if problems else "Success"
                )

    # ------------------------------------------------------------------ power

    def power(self, payload: Mapping[str, Any]) -> None:
        server_id = str(payload["server_id"])
        action = str(payload["action"])
        request_id = str(payload.get("request_id", ""))
        with self._locks.of(server_id):
            server = self._server(server_id)
            if server is None or server.task_state != POWER_TASKS[action]:
                return
            result = "Success"
            name = POWER_EVENTS.get(action, f"compute_{action}_instance")
            event = self.events.start(server_id, request_id, name, host=server.cluster)
            try:
                vm = POWER_STEPS[action](self._drivers, server_id)
                values: dict[str, Any] = {
                    "power_state": states.POWER_NUMBERS[vm.power_state],
                    "vm_state": states.ACTIVE
                    if vm.power_state == PowerState.ON
                    else states.STOPPED,
                    "vm_host": vm.host,
                }
            except Exception as exc:
                LOG.info("%s of server %s failed: %s", action, server_id, exc)
                values = {"fault": fault_of(exc, [])}
                result = "Error"
                self.events.finish(event, exc)
            else:
                self.events.finish(event)
            with self._store.transaction() as unit:
                # Only while the task is still this one: a delete may have taken over.
                queries.set_if_task(unit, server_id, POWER_TASKS[action], task_state=None, **values)
                queries.finish_action(unit, server_id, request_id, result)


def _start(drivers: Drivers, server_id: str) -> VMInfo:
    # On already (started outside OpenStack): the state is what was asked.
    with contextlib.suppress(InvalidStateError):
        drivers.compute.power_on(server_id)
    return drivers.compute.get_vm(server_id)


def _stop(drivers: Drivers, server_id: str) -> VMInfo:
    with contextlib.suppress(InvalidStateError):
        drivers.compute.power_off(server_id)
    return drivers.compute.get_vm(server_id)


def _reboot(hard: bool) -> Callable[[Drivers, str], VMInfo]:
    def run(drivers: Drivers, server_id: str) -> VMInfo:
        vm = drivers.compute.get_vm(server_id)
        if vm.power_state != PowerState.ON:
            drivers.compute.power_on(server_id)  # Nova's reboot of a stopped guest starts it
        elif hard:
            drivers.compute.reboot(server_id, hard=True)
        else:
            try:
                drivers.compute.reboot(server_id, hard=False)
            except UnsupportedError:
                # No guest reboot (no VMware Tools, or the simulator): Nova's drivers fall back
                # to a hard reboot when the soft one cannot happen; so does this one.
                drivers.compute.reboot(server_id, hard=True)
        return drivers.compute.get_vm(server_id)

    return run


POWER_STEPS: dict[str, Callable[[Drivers, str], VMInfo]] = {
    "start": _start,
    "stop": _stop,
    "reboot_soft": _reboot(hard=False),
    "reboot_hard": _reboot(hard=True),
}
POWER_TASKS = {
    "start": states.POWERING_ON,
    "stop": states.POWERING_OFF,
    "reboot_soft": states.REBOOTING,
    "reboot_hard": states.REBOOTING_HARD,
}


def fault_of(exc: BaseException, cleanup: list[str]) -> dict[str, Any]:
    """Nova's instance fault: what failed, in words a person can act on."""
    if isinstance(exc, NoCapacityError) and str(exc) == NO_VALID_HOST:
        code, message = 500, NO_VALID_HOST
    elif isinstance(exc, VistackError):
        code, message = int(exc.status), exc.message
    else:
        code, message = 500, str(exc) or type(exc).__name__
    details = "; ".join(cleanup)
    if details:
        details = f"Left behind, to clean up: {details}"
    return {"code": code, "message": message, "details": details, "created": _stamp()}


def _stamp() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
