"""Servers: the API-facing half (checks, records, state transitions); `build.ServerWork` does
the vSphere half in the background.

A create checks everything a person can get wrong before anything is made (image, flavor, key,
networks, ports, zone, quota), records the servers in BUILD under the project's lock so the
quota holds exactly under concurrency, and queues one build per server. Actions check the
state machine and queue their job; the answer is 202 and the status changes as the job runs,
as Nova's do.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    VistackError,
)
from vistack.common.policy import PolicyEngine
from vistack.compute.db import server_tags as tag_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import server_filters, states
from vistack.compute.domain.block_devices import DeviceRequest, parse_create_devices
from vistack.compute.domain.boot_requests import BootRequests
from vistack.compute.domain.build import (
    BUILD_TOPIC,
    DELETE_TOPIC,
    POWER_TASKS,
    POWER_TOPIC,
    ServerWork,
)
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.destination import destination_metadata
from vistack.compute.domain.flavors import FlavorService
from vistack.compute.domain.host_hints import host_hints
from vistack.compute.domain.keypairs import KeypairService
from vistack.compute.domain.models import (
    IMAGE_REF_KEY,
    SERVER_GROUP_KEY,
    NetworkRequest,
    Server,
    ServerQuery,
    ServerRequest,
)
from vistack.compute.domain.personality import check_limits, injected_metadata
from vistack.compute.domain.power_sync import PowerSync
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.request import (
    DISK_CONFIG,
    access_ip,
    disk_config_of,
    parse_create,
    scheduler_group,
    update_fields,
    versioned_update,
)
from vistack.compute.domain.server_groups import ServerGroupService
from vistack.compute.domain.templates import TemplateCache, image_disk
from vistack.compute.domain.volume_link import NO_VOLUME_SERVICE
from vistack.compute.domain.work import context_payload
from vistack.drivers.bundle import Drivers
from vistack.drivers.watch import VMObserver
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image
from vistack.network.domain.query import ListRequest
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)

NO_BACKEND = "This cloud has no vCenter to build servers on."


def server_not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


def state_conflict(server: ServerRow | Server, action: str) -> Conflict:
    """Nova's InstanceInvalidState message."""
    if server.task_state:
        return Conflict(
            f"Cannot '{action}' instance {server.id} while it is in task_state {server.task_state}"
        )
    return Conflict(
        f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}"
    )


class ServerService:
    """Every server operation of the API, called with the caller's context."""

    #: Server groups a create's `group` hint joins (set by the wiring).
    server_groups: ServerGroupService | None = None
    #: Checks and records a create's block device mappings (set by the wiring).
    boot_requests: BootRequests | None = None

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        bus: WorkQueue,
        drivers: Drivers | None,
        *,
        flavors: FlavorService,
        keypairs: KeypairService,
        quotas: ComputeQuotas,
        clusters: ClusterService,
        images: ImageService,
        networks: NetworkService,
        power_sync_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._policy = policy
        self._bus = bus
        self._drivers = drivers
        self._flavors = flavors
        self._keypairs = keypairs
        self._quotas = quotas
        self._clusters = clusters
        self._images = images
        self._networks = networks
        self._work: ServerWork | None = None
        self._power_sync: PowerSync | None = None
        if drivers is not None:
            templates = TemplateCache(drivers.images)
            self._work = ServerWork(store, drivers, clusters, images, networks, templates)
            bus.register(BUILD_TOPIC, self._work.build)
            bus.register(DELETE_TOPIC, self._work.delete)
            bus.register(POWER_TOPIC, self._work.power)
            self._power_sync = PowerSync(store, drivers.compute, power_sync_seconds)
            datastores = drivers.topology.datastores
            images.on_delete(lambda image: templates.forget_image(image.id, datastores))

    def follow_vcenter(self, observer: VMObserver) -> None:
        """Reflect vCenter's VM changes as its watch reports them (see `PowerSync`)."""
        if self._power_sync is not None:
            self._power_sync.follow(observer)

    @property
    def work(self) -> ServerWork | None:
        """The background half (None without a vCenter), for features to hook into."""
        return self._work

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Resume what a restart interrupted: builds go on, deletes finish, power actions are
        redone (each job is idempotent against what vCenter already has); then follow
        vCenter's changes (`PowerSync`)."""
        if self._work is None:
            return
        if self._power_sync is not None:
            self._power_sync.start()
        interrupted = (*states.BUILD_TASKS, states.DELETING, *POWER_TASKS.values())
        with self._store.transaction() as unit:
            rows = [
                (server_id, queries.get(unit, server_id))
                for server_id in queries.live_in_build(unit, interrupted)
            ]
        power_actions = {task: action for action, task in POWER_TASKS.items()}
        for server_id, row in rows:
            if row is None:
                continue
            payload: dict[str, Any] = {"server_id": server_id, "request_id": ""}
            if row.task_state == states.DELETING:
                self._bus.submit(DELETE_TOPIC, payload)
            elif row.task_state in power_actions:
                payload["action"] = power_actions[row.task_state]
                self._bus.submit(POWER_TOPIC, payload)
            else:
                self._bus.submit(BUILD_TOPIC, payload)

    def stop(self) -> None:
        """Stop following vCenter; jobs end with the bus, and a restart resumes them."""
        if self._power_sync is not None:
            self._power_sync.stop()

    # ------------------------------------------------------------------ create

    def create(
        self, context: RequestContext, body: Any, version: tuple[int, int] = (2, 1)
    ) -> tuple[list[Server], str]:
        """Record the servers a `POST /servers` (at microversion `version`) asks for and queue
        their builds; returns them and the admin password.
        :raises VistackError: the request cannot be built."""
        project_id = context.project_id
        if project_id is None or context.user_id is None:
            raise BadRequest("Creating a server needs a project-scoped token.")
        self._policy.authorize("os_compute_api:servers:create", context, {"project_id": project_id})
        if self._work is None:
            raise Conflict(NO_BACKEND)
        parsed = parse_create(body, version)
        devices = parse_create_devices(body, version)
        named = parsed.image_id
        read = None
        if parsed.image_id and self.boot_requests is not None:
            # An image that maps volumes (a volume-backed server's snapshot) boots from them;
            # the server still shows it as its image (`Server.image_ref`), as Nova does.
            image_id, devices, read = self.boot_requests.from_image(
                context, parsed.image_id, devices
            )
            parsed = dataclasses.replace(parsed, image_id=image_id)
        request = self._resolve(context, parsed, devices, version, read)
        hints = host_hints(body)
        group = scheduler_group(body)
        servers = self._record(context, project_id, request, group, devices, hints, named)
        for server in servers:
            self._bus.submit(
                BUILD_TOPIC,
                {
                    "server_id": server.id,
                    "request_id": context.request_id,
                    "context": context_payload(context),
                },
            )
        return servers, request.admin_password or ""

    def _resolve(
        self,
        context: RequestContext,
        parsed: ServerRequest,
        devices: tuple[DeviceRequest, ...] = (),
        version: tuple[int, int] = (2, 1),
        read: Image | None = None,
    ) -> ServerRequest:
        """Check the request against the other services: image (`read` when the caller has
        just read it), flavor, key, networks, zone, and the block device mappings (volumes
        and images to make volumes of)."""
        flavor = self._flavors.for_build(context, str(parsed.flavor["id"]))
        if parsed.image_id:  # "" for a volume-backed server (its root is a volume)
            try:
                image = (
                    read
                    if read is not None and read.id == parsed.image_id
                    else self._images.visible_image(context, parsed.image_id)
                )
            except NotFound:
                raise BadRequest(f"Image {parsed.image_id} could not be found.") from None
            if image.status != "active":
                raise BadRequest(f"Image {image.id} is not active.")
            image_disk(image)  # a format vSphere cannot clone is refused now, not at build
            if image.min_ram and int(flavor["ram"]) < image.min_ram:
                raise BadRequest("Flavor's memory is too small for requested image.")
            if image.min_disk and 0 < int(flavor["disk"]) < image.min_disk:
                raise BadRequest("Flavor's disk is too small for requested image.")
        if devices:
            if self.boot_requests is None:
                raise ServiceUnavailable(NO_VOLUME_SERVICE)
            self.boot_requests.check(
                context, devices, max_count=parsed.max_count, multiattach=version >= (2, 60)
            )
        key_data = None
        if parsed.key_name is not None:
            key_data = self._keypairs.public_key_for_build(context, parsed.key_name)
        self._quotas.check_metadata_items(context.project_id or "", len(parsed.metadata))
        if parsed.injected_files:
            limits = self._quotas.injection_limits(context.project_id or "")
            check_limits(parsed.injected_files, limits)
        if parsed.availability_zone is not None:
            self._clusters.candidates(parsed.availability_zone)  # unknown zone: 400
        if parsed.requested_cluster is not None:
            self._check_destination(context, parsed)
        networks = self._networks_of(context, parsed, version)
        return ServerRequest(
            name=parsed.name,
            image_id=parsed.image_id,
            flavor=flavor,
            networks=networks,
            key_name=parsed.key_name,
            key_data=key_data,
            user_data=parsed.user_data,
            metadata=parsed.metadata,
            availability_zone=parsed.availability_zone,
            security_groups=parsed.security_groups,
            config_drive=parsed.config_drive,
            min_count=parsed.min_count,
            max_count=parsed.max_count,
            admin_password=parsed.admin_password or secrets.token_urlsafe(9),
            access_ip_v4=parsed.access_ip_v4,
            access_ip_v6=parsed.access_ip_v6,
            auto_networks=parsed.auto_networks,
            requested_cluster=parsed.requested_cluster,
            hostname=parsed.hostname,
            description=parsed.description,
            tags=parsed.tags,
            disk_config=parsed.disk_config,
            injected_files=parsed.injected_files,
        )

    def _check_destination(self, context: RequestContext, parsed: ServerRequest) -> None:
        """An administrator's named cluster (`zone:host`, or 2.74's `host`): allowed by policy
        and known as a compute host; the build then goes there or fails (`destination.py`)."""
        rule = "os_compute_api:servers:create:forced_host"
        if not parsed.forced_host:
            rule = "compute:servers:create:requested_destination"
        self._policy.authorize(rule, context, {"project_id": context.project_id or ""})
        known = {c.name for c in self._clusters.candidates(None)}
        if parsed.requested_cluster not in known:
            raise BadRequest(f"Compute host {parsed.requested_cluster} could not be found.")

    def _networks_of(
        self, context: RequestContext, parsed: ServerRequest, version: tuple[int, int] = (2, 1)
    ) -> tuple[NetworkRequest, ...]:
        """The requested networks checked, or (none asked) the one network the project can
        use: Nova's rule, which refuses to guess between several. With none at all,
        `networks: auto` (2.37, where networks must be given, so "not none" means "auto")
        has Neutron auto-allocate the project's network, as Nova asks it at build time (done
        here: all servers of the request then share it); older versions boot without one."""
        if parsed.networks or not parsed.auto_networks:
            seen_ports: set[str] = set()
            for entry in parsed.networks:
                if entry.port_id is not None:
                    if entry.port_id in seen_ports:
                        raise BadRequest(f"Port {entry.port_id} is requested more than once.")
                    seen_ports.add(entry.port_id)
                    self._check_port(context, entry.port_id, parsed.max_count)
                elif entry.network_id is not None:
                    self._check_network(context, entry.network_id)
            return parsed.networks
        usable = [
            n
            for n in self._networks.list_networks(context)
            if not n.get("router:external")
            and (n.get("shared") or n.get("project_id") == context.project_id)
        ]
        if len(usable) > 1:
            raise Conflict(
                "Multiple possible networks found, use a Network ID to be more specific."
            )
        if not usable and version >= (2, 37):
            network_id = self._networks.auto_allocation.allocate_for(context)
            if network_id is None:
                project = context.project_id
                raise BadRequest(
                    f"Unable to automatically allocate a network for project {project}"
                )
            return (NetworkRequest(network_id=network_id),)
        return tuple(NetworkRequest(network_id=n["id"]) for n in usable)

    def _check_network(self, context: RequestContext, network_id: str) -> None:
        try:
            network = self._networks.get_network(context, network_id)
        except VistackError as exc:
            if exc.status == 404:
                raise BadRequest(f"Network {network_id} could not be found.") from None
            raise
        if not network.get("subnets"):
            raise BadRequest(
                f"Network {network_id} requires a subnet in order to boot instances on."
            )

    def _check_port(self, context: RequestContext, port_id: str, max_count: int) -> None:
        try:
            port = self._networks.get_port(context, port_id)
        except VistackError as exc:
            if exc.status == 404:
                raise BadRequest(f"Port id {port_id} could not be found.") from None
            raise
        if port.get("device_id"):
            raise Conflict(f"Port {port_id} is still in use.")
        if max_count > 1:
            raise BadRequest(
                "Unable to launch multiple instances with a single configured port ID."
            )

    def _security_group_ids(self, context: RequestContext, names: tuple[str, ...]) -> list[str]:
        """Names (or ids) → ids, as Neutron's port wants them; unknown ones are a 400."""
        if names == ("default",):
            return []  # Neutron gives a new port its project's default group
        groups = self._networks.security.list_groups(context, ListRequest())
        out: list[str] = []
        for name in names:
            matches = [g["id"] for g in groups if name in (g["id"], g["name"])]
            if not matches:
                raise BadRequest(f"Unable to find security_group with name or id '{name}'")
            if len(matches) > 1:
                raise Conflict(f"Multiple security groups found matching '{name}'. Use an ID.")
            out.append(matches[0])
        return out

    def _record(
        self,
        context: RequestContext,
        project_id: str,
        request: ServerRequest,
        group_id: str | None = None,
        devices: tuple[DeviceRequest, ...] = (),
        hints: dict[str, list[str]] | None = None,
        image_ref: str = "",
    ) -> list[Server]:
        """`image_ref`: the image the create named, kept when it is not the one the server is
        built from (`Server.image_ref`)."""
        flavor = request.flavor
        shown = {IMAGE_REF_KEY: image_ref} if image_ref and image_ref != request.image_id else {}
        group_ids = self._security_group_ids(context, request.security_groups)
        requested = [
            {
                "network_id": n.network_id,
                "port_id": n.port_id,
                "fixed_ip": n.fixed_ip,
                "security_group_ids": group_ids,
            }
            for n in request.networks
        ]
        now = utcnow()
        made: list[Server] = []
        reservation_id = "r-" + secrets.token_hex(4)  # one per create, as Nova's
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            count = self._count_allowed(unit, project_id, request)
            for index in range(count):
                name = request.name
                if count > 1:
                    name = f"{request.name}-{index + 1}"
                row = ServerRow(
                    id=str(uuid.uuid4()),
                    project_id=project_id,
                    user_id=context.user_id or "",
                    name=name,
                    hostname=request.hostname or hostname_of(name),
                    description=request.description,
                    flavor=dict(flavor),
                    vcpus=int(flavor["vcpus"]),
                    memory_mb=int(flavor["ram"]),
                    root_gb=int(flavor["disk"]),
                    image_id=request.image_id,
                    key_name=request.key_name,
                    key_data=request.key_data,
                    user_data=request.user_data,
                    config_drive=request.config_drive,
                    metadata_items=dict(request.metadata),
                    requested_networks=requested,
                    port_ids=[],
                    owned_port_ids=[],
                    security_groups=list(request.security_groups),
                    addresses={},
                    availability_zone=request.availability_zone,
                    vm_state=states.BUILDING,
                    task_state=states.SCHEDULING,
                    power_state=states.NOSTATE,
                    locked=False,
                    created_at=now,
                    updated_at=now,
                    access_ip_v4=request.access_ip_v4,
                    access_ip_v6=request.access_ip_v6,
                    system_metadata={
                        "reservation_id": reservation_id,
                        "launch_index": index,
                        "disk_config": request.disk_config,
                        **destination_metadata(request.requested_cluster),
                        **(hints or {}),
                        **injected_metadata(request.injected_files),
                        **shown,
                        SERVER_GROUP_KEY: group_id or "",
                    },
                )
                unit.add(row)
                tag_queries.add(unit, row.id, request.tags)
                if devices and self.boot_requests is not None:
                    self.boot_requests.record(unit, row.id, devices)
                queries.start_action(
                    unit,
                    row.id,
                    "create",
                    request_id=context.request_id,
                    user_id=context.user_id,
                    project_id=project_id,
                )
                made.append(queries.to_server(row))
            if group_id is not None:  # members from their first moment, or not created
                if self.server_groups is None:
                    raise BadRequest(f"Instance group {group_id} could not be found.")
                self.server_groups.join(unit, context, group_id, [s.id for s in made])
        return made

    def _count_allowed(self, unit: ComputeUnit, project_id: str, request: ServerRequest) -> int:
        """max_count if the quota allows, else as many as fit down to min_count (else 403)."""
        flavor = request.flavor
        fits = self._quotas.max_servers(
            unit, project_id, cores_each=int(flavor["vcpus"]), ram_each=int(flavor["ram"])
        )
        count = min(request.max_count, max(fits, request.min_count))
        self._quotas.check_servers(
            unit,
            project_id,
            instances=count,
            cores=count * int(flavor["vcpus"]),
            ram=count * int(flavor["ram"]),
        )
        return count

    # ------------------------------------------------------------------ read

    def get(self, context: RequestContext, server_id: str) -> Server:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None or not self._may_see(context, "show", row.project_id):
                raise server_not_found(server_id)
            return queries.to_server(row)

    def _may_see(self, context: RequestContext, action: str, project_id: str) -> bool:
        return self._policy.check(
            f"os_compute_api:servers:{action}", context, {"project_id": project_id}
        )

    def list_servers(
        self, context: RequestContext, asked: ServerQuery, *, detail: bool
    ) -> list[Server]:
        """The page `asked` names; `project_id` None (all tenants) is an admin's."""
        rule = "detail" if detail else "index"
        if asked.project_id is None:
            self._policy.authorize(f"os_compute_api:servers:{rule}:get_all_tenants", context, {})
        else:
            self._policy.authorize(
                f"os_compute_api:servers:{rule}", context, {"project_id": asked.project_id}
            )
        with self._store.transaction() as unit:
            if asked.marker is not None and not queries.marker_exists(
                unit, asked.marker, asked.project_id
            ):
                raise BadRequest(f"marker [{asked.marker}] not found")
            if not _filters_in_python(asked):
                rows = queries.listing(unit, asked, limit=asked.limit)
                return [queries.to_server(r) for r in rows]
            rows = queries.listing(unit, asked)
            servers = [queries.to_server(r) for r in rows]
        zone_of = self._clusters.zone_of
        servers = [
            s
            for s in servers
            if _matches(s, asked) and server_filters.matches(s, asked.attributes, zone_of)
        ]
        return servers[: asked.limit]

    def actions(self, context: RequestContext, server_id: str) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id, deleted=True)
            if row is None or not self._policy.check(
                "os_compute_api:os-instance-actions:list", context, {"project_id": row.project_id}
            ):
                raise server_not_found(server_id)
            return [
                {
                    "action": a.action,
                    "instance_uuid": server_id,
                    "request_id": a.request_id,
                    "user_id": a.user_id,
                    "project_id": a.project_id,
                    "start_time": a.start_time,
                    "message": a.message,
                    # Not shown before 2.58; Nova's is the action's last change.
                    "updated_at": a.finish_time or a.start_time,
                }
                for a in queries.actions(unit, server_id)
            ]

    def sees_admin_fields(self, context: RequestContext) -> bool:
        """Whether the caller sees `OS-EXT-SRV-ATTR:*` (where a server runs)."""
        return self._policy.check("os_compute_api:os-extended-server-attributes", context, {})

    # ------------------------------------------------------------------ change

    def set_locked(
        self, context: RequestContext, server_id: str, *, locked: bool, reason: str | None = None
    ) -> None:
        """Lock or unlock: a locked server refuses its owner's actions; only the one who
        locked it (or an admin) unlocks it. `reason`: 2.73's `locked_reason`."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or not self._may_see(context, "show", row.project_id):
                raise server_not_found(server_id)
            target = {"project_id": row.project_id}
            action = "lock" if locked else "unlock"
            self._policy.authorize(f"os_compute_api:os-lock-server:{action}", context, target)
            is_admin = self._policy.check(
                "os_compute_api:os-lock-server:unlock:unlock_override", context, target
            )
            if not locked and row.locked_by == "admin" and not is_admin:
                raise Conflict(f"Instance {server_id} was locked by an administrator.")
            queries.set_fields(
                unit,
                server_id,
                locked=locked,
                locked_by=("admin" if is_admin else "owner") if locked else None,
                locked_reason=reason if locked else None,
            )
            queries.start_action(
                unit,
                server_id,
                action,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
            queries.finish_action(unit, server_id, context.request_id, "Success")

    def update(
        self, context: RequestContext, server_id: str, body: Any, version: tuple[int, int] = (2, 1)
    ) -> Server:
        changes = parse_update(body, version)
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or not self._may_see(context, "show", row.project_id):
                raise server_not_found(server_id)
            self._policy.authorize(
                "os_compute_api:servers:update", context, {"project_id": row.project_id}
            )
            if "name" in changes and "hostname" not in changes:
                changes["hostname"] = hostname_of(changes["name"])
            if DISK_CONFIG in changes:
                asked = changes.pop(DISK_CONFIG)
                changes["system_metadata"] = {**(row.system_metadata or {}), "disk_config": asked}
            queries.set_fields(unit, server_id, **changes)
            unit.session.refresh(row)
            return queries.to_server(row)

    def set_disk_config(self, server_id: str, disk_config: str | None) -> None:
        """Record `OS-DCF:diskConfig` as a resize asked it (shown by the server's view); vSphere
        grows the disk either way, the guest decides about its partitions."""
        if disk_config is None:
            return
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is not None:
                merged = {**(row.system_metadata or {}), "disk_config": disk_config}
                queries.set_fields(unit, server_id, system_metadata=merged)

    def delete(self, context: RequestContext, server_id: str) -> None:
        """Mark it deleting and queue the delete (a second delete is accepted and ignored)."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or not self._may_see(context, "show", row.project_id):
                raise server_not_found(server_id)
            self._policy.authorize(
                "os_compute_api:servers:delete", context, {"project_id": row.project_id}
            )
            if row.locked and not context.is_system_admin and "admin" not in context.roles:
                raise Conflict(f"Instance {server_id} is locked")
            if row.task_state == states.DELETING:
                return
            queries.set_fields(unit, server_id, task_state=states.DELETING)
            queries.start_action(
                unit,
                server_id,
                "delete",
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
        if self._work is None:  # nothing was ever built without a vCenter: just mark it
            with self._store.transaction() as unit:
                now = utcnow()
                queries.set_fields(
                    unit,
                    server_id,
                    vm_state=states.DELETED,
                    task_state=None,
                    deleted_at=now,
                    terminated_at=now,
                )
            return
        self._bus.submit(
            DELETE_TOPIC,
            {
                "server_id": server_id,
                "request_id": context.request_id,
                "context": context_payload(context),
            },
        )

    def power(self, context: RequestContext, server_id: str, action: str) -> None:
        """start, stop, reboot_soft or reboot_hard: check the state, queue the job."""
        allowed = {
            "start": (states.STOPPED,),
            "stop": (states.ACTIVE, states.ERROR),
            "reboot_soft": (states.ACTIVE, states.STOPPED, states.ERROR),
            "reboot_hard": (states.ACTIVE, states.STOPPED, states.ERROR),
        }[action]
        rule = "reboot" if action.startswith("reboot") else action
        api_name = {"start": "start", "stop": "stop"}.get(action, "reboot")
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or not self._may_see(context, "show", row.project_id):
                raise server_not_found(server_id)
            self._policy.authorize(
                f"os_compute_api:servers:{rule}", context, {"project_id": row.project_id}
            )
            if row.locked and "admin" not in context.roles:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in allowed or row.task_state is not None:
                raise state_conflict(row, api_name)
            if self._work is None:
                raise Conflict(NO_BACKEND)
            queries.set_fields(unit, server_id, task_state=POWER_TASKS[action])
            queries.start_action(
                unit,
                server_id,
                api_name,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )
        self._bus.submit(
            POWER_TOPIC,
            {
                "server_id": server_id,
                "action": action,
                "request_id": context.request_id,
                "context": context_payload(context),
            },
        )


_HOSTNAME_UNSAFE = re.compile(r"[^a-z0-9-]+")


def hostname_of(name: str) -> str:
    """Nova's sanitised hostname: lower case, [a-z0-9-], at most 63 characters."""
    hostname = _HOSTNAME_UNSAFE.sub("-", name.lower().replace(" ", "-")).strip("-.")
    return hostname[:63] or "server"


def parse_update(body: Any, version: tuple[int, int] = (2, 1)) -> dict[str, Any]:
    """`PUT /servers/{id}`: `name`, `accessIPv4` and `accessIPv6` (addresses Nova stores
    for the user, never routes), `description` from 2.19 and `hostname` from 2.90."""
    if not isinstance(body, Mapping) or not isinstance(body.get("server"), Mapping):
        raise BadRequest("The request body must be an object with a 'server' object.")
    server = body["server"]
    unknown = set(server) - update_fields(version)
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, unknown)))} "
            "were unexpected)"
        )
    changes: dict[str, Any] = {}
    if "name" in server:
        name = server["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadRequest("Invalid input for field/attribute name: 1 to 255 characters.")
        changes["name"] = name
    if "accessIPv4" in server:
        changes["access_ip_v4"] = access_ip(server["accessIPv4"], "accessIPv4", 4)
    if "accessIPv6" in server:
        changes["access_ip_v6"] = access_ip(server["accessIPv6"], "accessIPv6", 6)
    if DISK_CONFIG in server:
        changes[DISK_CONFIG] = disk_config_of(server[DISK_CONFIG])
    changes.update(versioned_update(server, version))
    return changes


def _filters_in_python(asked: ServerQuery) -> bool:
    """Whether the list has a filter SQL does not answer (then the page is cut after it)."""
    return (
        asked.name is not None
        or asked.flavor_id is not None
        or asked.ip is not None
        or asked.ip6 is not None
        or bool(asked.attributes)
    )


def _matches(server: Server, asked: ServerQuery) -> bool:
    """The filters SQL cannot answer portably: name as a regular expression, flavor, IP."""
    if asked.name is not None:
        try:
            if re.search(asked.name, server.name) is None:
                return False
        except re.error:
            if asked.name not in server.name:
                return False
    if asked.flavor_id is not None and str(server.flavor.get("id")) != asked.flavor_id:
        return False
    if asked.ip is not None:
        try:
            pattern = re.compile(asked.ip)
        except re.error:
            return False
        addresses = [a["addr"] for entries in server.addresses.values() for a in entries]
        if not any(pattern.search(a) for a in addresses):
            return False
    return asked.ip6 is None or _ip6_matches(server, asked.ip6)


def _ip6_matches(server: Server, wanted: str) -> bool:
    """The `ip6` filter (2.5): a regular expression on the server's IPv6 addresses."""
    try:
        pattern = re.compile(wanted)
    except re.error:
        return False
    addresses = [
        a["addr"] for entries in server.addresses.values() for a in entries if a.get("version") == 6
    ]
    return any(pattern.search(a) for a in addresses)
