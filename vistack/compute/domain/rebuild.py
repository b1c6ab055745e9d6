"""Rebuild: the same server (id, ports, MACs, addresses, flavor) on a fresh disk of an image.

The API half checks the image as a create does (visible, active, a VMDK on a datastore, the
flavor big enough for its `min_ram`/`min_disk`: 400 otherwise), writes what the request changes
(image, name, metadata, access addresses, 2.54 key, 2.57 user data, 2.19 description) and puts
the server in `rebuilding` (status REBUILD). The job then destroys the VM and clones the new
image's template with the same instance UUID and the server's own ports as NICs
(rebuilding → rebuild_block_device_mapping → rebuild_spawning), runs the build's
before-power-on hooks (a config drive is made again), and powers it on: a rebuild leaves the
server ACTIVE, except that a stopped server stays SHUTOFF, as Nova keeps it.

A volume-backed server is refused before 2.93 (400); from 2.93 its root volume is re-imaged
from the new image and a new VM boots from its volumes (`rebuild_volume.py`), the image checked
against the root volume's size instead of the flavor's disk.

A failure leaves the server in ERROR with a fault; its ports stay its own, and a delete (or
another rebuild) cleans up. A restart redoes an interrupted rebuild from the start (destroying
a VM is idempotent here, and so is making it).
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, VistackError
from vistack.compute.db import servers as queries
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.boot_volumes import rebuild_refused
from vistack.compute.domain.build import fault_of
from vistack.compute.domain.lifecycle import (
    Aborted,
    ActionDeps,
    begin,
    datastore_in,
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
from vistack.compute.domain.models import Server
from vistack.compute.domain.personality import KEY as INJECTED_FILES
from vistack.compute.domain.personality import (
    InjectedFiles,
    check_limits,
    injected_metadata,
    parse_personality,
)
from vistack.compute.domain.rebuild_volume import (
    check_image_for_volume,
    rebuild_volume_backed,
    server_volumes,
)
from vistack.compute.domain.remade import spawn_rebuilt
from vistack.compute.domain.request import MAX_USER_DATA, access_ip, ref_id
from vistack.compute.domain.request import hostname as checked_hostname
from vistack.compute.domain.servers import hostname_of
from vistack.compute.domain.templates import image_disk
from vistack.compute.domain.work import context_payload
from vistack.drivers.errors import DriverError
from vistack.image.domain.models import Image

LOG = logging.getLogger(__name__)

REBUILD_TOPIC = "compute.rebuild"
KEY = "rebuild"
REBUILD_STATES = (states.ACTIVE, states.STOPPED, states.ERROR)
#: Keys a rebuild accepts, and the microversion each appeared in.
KEYS = {
    "imageRef": "2.1",
    "name": "2.1",
    "metadata": "2.1",
    "adminPass": "2.1",
    "accessIPv4": "2.1",
    "accessIPv6": "2.1",
    "preserve_ephemeral": "2.1",
    "OS-DCF:diskConfig": "2.1",
    "personality": "2.1",
    "description": "2.19",
    "key_name": "2.54",
    "user_data": "2.57",
    "trusted_image_certificates": "2.63",
    "hostname": "2.90",
}
#: Keys a rebuild stopped accepting, and the microversion that removed each.
REMOVED = {"personality": "2.57"}


@dataclass(frozen=True)
class RebuildRequest:
    """A checked rebuild body: `changes` are the server's columns it rewrites."""

    image_id: str
    admin_password: str
    changes: dict[str, Any]
    key_name: str | None = None
    key_given: bool = False
    #: `OS-DCF:diskConfig` when the rebuild names one.
    disk_config: str | None = None
    #: The files the rebuilt server's config drive carries (personality, before 2.57): the
    #: rebuild replaces the server's files with these, none included.
    injected_files: InjectedFiles = ()


def parse_rebuild(argument: Any, at_least: Callable[[str], bool]) -> RebuildRequest:
    """The body of a rebuild at the request's microversion (`at_least("2.19")` → bool)."""
    if not isinstance(argument, Mapping):
        raise BadRequest("Invalid input for field/attribute rebuild. Value must be an object.")
    unknown = sorted(
        k
        for k in argument
        if k not in KEYS or not at_least(KEYS[k]) or (k in REMOVED and at_least(REMOVED[k]))
    )
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    if "imageRef" not in argument:
        raise BadRequest("'imageRef' is a required property")
    files = parse_personality(argument.get("personality"))
    if argument.get("trusted_image_certificates"):
        raise BadRequest("Trusted image certificates are not supported by this cloud.")
    image_id = ref_id(argument["imageRef"], "imageRef")
    changes: dict[str, Any] = {}
    if files:
        changes["config_drive"] = True  # the files travel on it (personality.py)
    if "name" in argument:
        name = argument["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadRequest("Invalid input for field/attribute name. 1 to 255 characters.")
        changes["name"] = name
        changes["hostname"] = hostname_of(name)
    if "metadata" in argument:
        metadata = argument["metadata"]
        if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255 and len(v) <= 255
            for k, v in metadata.items()
        ):
            raise BadRequest("Invalid input for field/attribute metadata.")
        changes["metadata_items"] = dict(metadata)
    password = argument.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise BadRequest("Invalid input for field/attribute adminPass.")
    if "accessIPv4" in argument:
        changes["access_ip_v4"] = access_ip(argument["accessIPv4"], "accessIPv4", 4)
    if "accessIPv6" in argument:
        changes["access_ip_v6"] = access_ip(argument["accessIPv6"], "accessIPv6", 6)
    preserve = argument.get("preserve_ephemeral", False)
    if not isinstance(preserve, bool):
        raise BadRequest("Invalid input for field/attribute preserve_ephemeral.")
    disk_config = argument.get("OS-DCF:diskConfig", "MANUAL")
    if disk_config not in ("AUTO", "MANUAL"):
        raise BadRequest("Invalid input for field/attribute OS-DCF:diskConfig.")
    if "description" in argument:
        description = argument["description"]
        if description is not None and (not isinstance(description, str) or len(description) > 255):
            raise BadRequest("Invalid input for field/attribute description.")
        changes["description"] = description
    if "user_data" in argument:
        changes["user_data"] = _user_data(argument["user_data"])
    if "hostname" in argument:
        # Checked as at create (2.90: one DNS label; 2.94: a fully qualified name), not rewritten.
        changes["hostname"] = checked_hostname(
            argument["hostname"], (2, 94) if at_least("2.94") else (2, 90)
        )
    key_given = "key_name" in argument
    key_name = argument.get("key_name")
    if key_name is not None and (not isinstance(key_name, str) or not key_name):
        raise BadRequest("Invalid input for field/attribute key_name.")
    return RebuildRequest(
        image_id=image_id,
        admin_password=password or secrets.token_urlsafe(9),
        changes=changes,
        key_name=key_name,
        key_given=key_given,
        disk_config=disk_config if "OS-DCF:diskConfig" in argument else None,
        injected_files=files,
    )


def _user_data(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("User data needs to be valid base 64.")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("User data needs to be valid base 64.") from None
    if len(decoded) > MAX_USER_DATA:
        raise BadRequest(f"User data is too large: at most {MAX_USER_DATA} bytes.")
    return raw


def check_image_for(image: Image, flavor: Mapping[str, Any]) -> None:
    """The checks a create makes of its image, against the server's flavor (400 each)."""
    if image.status != "active":
        raise BadRequest(f"Image {image.id} is not active.")
    image_disk(image)
    if image.min_ram and int(flavor["ram"]) < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if image.min_disk and 0 < int(flavor["disk"]) < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")


class RebuildService:
    """The rebuild action and its job."""

    def __init__(self, deps: ActionDeps) -> None:
        self._deps = deps
        deps.bus.register(REBUILD_TOPIC, self.run)

    def rebuild(
        self,
        context: RequestContext,
        server_id: str,
        argument: Any,
        at_least: Callable[[str], bool],
    ) -> tuple[Server, str]:
        """Start a rebuild; the server as it now is and its admin password."""
        deps = self._deps
        request = parse_rebuild(argument, at_least)
        try:
            image = deps.images.visible_image(context, request.image_id)
        except NotFound:
            raise BadRequest(f"Image {request.image_id} could not be found.") from None
        changes = dict(request.changes)
        if request.key_given:
            changes["key_name"] = request.key_name
            changes["key_data"] = (
                deps.keypairs.public_key_for_build(context, request.key_name)
                if request.key_name is not None
                else None
            )
        if "metadata_items" in changes or request.injected_files:
            server = self._peek(server_id)
            if server is not None and "metadata_items" in changes:
                deps.quotas.check_metadata_items(server.project_id, len(changes["metadata_items"]))
            if server is not None and request.injected_files:
                limits = deps.quotas.injection_limits(server.project_id)
                check_limits(request.injected_files, limits)

        def check(row: ServerRow) -> None:
            if row.image_id:
                check_image_for(image, row.flavor)
                return
            # Volume-backed: its root is a volume (boot_volumes.py), re-imaged from 2.93.
            refusal = rebuild_refused(at_least)
            if refusal is not None:
                raise refusal
            root = server_volumes(deps).root_volume(context, server_id)
            check_image_for_volume(image, row.flavor, root.size_gb)

        def write(row: ServerRow) -> dict[str, Any]:
            # A volume-backed server keeps no image of its own: its root volume holds it.
            written = {**changes, "fault": None}
            if row.image_id:
                written["image_id"] = image.id
            kept = {
                key: value
                for key, value in (row.system_metadata or {}).items()
                if key != INJECTED_FILES
            }
            kept.update(injected_metadata(request.injected_files))
            if request.disk_config is not None:
                kept["disk_config"] = request.disk_config
            if kept != (row.system_metadata or {}):
                written["system_metadata"] = kept
            return written

        before = begin(
            deps,
            context,
            server_id,
            rule="os_compute_api:servers:rebuild",
            action="rebuild",
            allowed=REBUILD_STATES,
            task_state=states.REBUILDING,
            check=check,
            changes=write,
        )
        remember(
            deps,
            server_id,
            KEY,
            {"stopped": before.vm_state == states.STOPPED, "image_id": image.id},
        )
        deps.bus.submit(
            REBUILD_TOPIC,
            {
                "server_id": server_id,
                "request_id": context.request_id,
                "context": context_payload(context),
            },
        )
        after = self._peek(server_id)
        assert after is not None
        return after, request.admin_password

    def _peek(self, server_id: str) -> Server | None:
        with self._deps.store.transaction() as unit:
            row = queries.get(unit, server_id)
            return queries.to_server(row) if row is not None else None

    # ------------------------------------------------------------------ job

    def run(self, payload: Mapping[str, Any]) -> None:
        deps = self._deps
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        with deps.locks.of(server_id):
            loaded = load(deps, server_id)
            if loaded is None or loaded[0].task_state not in states.REBUILD_TASKS:
                return
            server, system = loaded
            remembered = system.get(KEY) or {}
            stopped = bool(remembered.get("stopped"))
            context = job_context(payload, server)
            try:
                with recorded(deps, server, request_id, "compute_rebuild_instance"):
                    if server.image_id:
                        self._rebuild(server, context, stopped)
                    else:
                        image_id = str(remembered.get("image_id") or "")
                        rebuild_volume_backed(deps, server, context, image_id, stopped)
            except Aborted:
                finish_action(deps, server_id, request_id, "Error")
                return
            except Exception as exc:
                self._fail(server_id, exc)
                finish_action(deps, server_id, request_id, "Error")
                return
            remember(deps, server_id, KEY, None)
            finish_action(deps, server_id, request_id, "Success")

    def _rebuild(self, server: Server, context: RequestContext, stopped: bool) -> None:
        deps = self._deps
        current = server.task_state or states.REBUILDING
        image = deps.images.visible_image(context, server.image_id)
        step(deps, server.id, current, task_state=states.REBUILD_BLOCK_DEVICE_MAPPING)
        # vSphere keeps no volume mapping of its own to redo: the step is Nova's, for clients
        # that wait on it. The old VM goes; its ports stay the server's. The new one goes
        # where the old one was (a rebuild is no move, even on a cluster closed to new VMs).
        old = power_off_quietly(deps, server.id)
        destroy_vm(deps, server.id)
        if server.cluster and old is not None and old.datastore:
            cluster, datastore = server.cluster, old.datastore
        elif server.cluster:
            cluster, datastore = server.cluster, datastore_in(deps, server.cluster, image)
        else:
            cluster, datastore = place(deps, server, image, server.availability_zone)
        spawn_rebuilt(
            deps,
            server.id,
            cluster,
            lambda: make_vm(deps, context, server, image, cluster, datastore, power_on=not stopped),
            stopped=stopped,
        )

    def _fail(self, server_id: str, exc: Exception) -> None:
        if not isinstance(exc, (VistackError, DriverError)):
            LOG.exception("rebuild of server %s failed", server_id)
        else:
            LOG.info("rebuild of server %s failed: %s", server_id, exc)
        with self._deps.store.transaction() as unit:
            for task in states.REBUILD_TASKS:
                queries.set_if_task(
                    unit,
                    server_id,
                    task,
                    vm_state=states.ERROR,
                    task_state=None,
                    power_state=states.NOSTATE,
                    fault=fault_of(exc, []),
                )

    # ------------------------------------------------------------------ restart

    def start(self) -> None:
        """Redo the rebuilds a restart interrupted (each step is safe to repeat)."""
        if self._deps.drivers is None:
            return
        for server_id in interrupted(self._deps, states.REBUILD_TASKS):
            self._deps.bus.submit(REBUILD_TOPIC, {"server_id": server_id, "request_id": ""})

    def stop(self) -> None:
        """Nothing runs between jobs; a restart redoes an interrupted rebuild (`start`)."""
