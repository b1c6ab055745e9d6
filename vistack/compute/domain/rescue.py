"""Rescue and unrescue, the vSphere way (as Nova's VMware driver does it).

vSphere cannot boot a VM once from another disk, so rescue powers the VM off, adds a copy of
the rescue image's disk (by default the server's own image; `rescue_image_ref` names another)
as a second disk, makes that disk the first boot device (`bootOptions.bootOrder`) and powers on:
the guest boots the rescue system with its own root disk attached beside it. Status RESCUE.
Unrescue powers off, removes the rescue disk (its file deleted), boots from the root disk again
and powers on: ACTIVE (Nova's unrescue always ends running).

Failures give the server back as it was (the rescue disk removed, the power state as before),
with a fault. Both jobs are safe to repeat, so a restart redoes an interrupted one.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, VistackError
from vistack.compute.db import servers as queries
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.boot_volumes import rescue_refused
from vistack.compute.domain.build import fault_of
from vistack.compute.domain.lifecycle import (
    Aborted,
    ActionDeps,
    begin,
    finish_action,
    interrupted,
    job_context,
    load,
    power_off_quietly,
    recorded,
    remember,
    step,
)
from vistack.compute.domain.models import Server
from vistack.compute.domain.request import ref_id
from vistack.compute.domain.templates import image_disk
from vistack.compute.domain.work import context_payload
from vistack.drivers.errors import DriverError, InvalidStateError
from vistack.drivers.paths import datastore_path
from vistack.image.domain.models import Image

LOG = logging.getLogger(__name__)

RESCUE_TOPIC = "compute.rescue"
KEY = "rescue"
RESCUE_STATES = (states.ACTIVE, states.STOPPED, states.ERROR)


def parse_rescue(argument: Any) -> tuple[str | None, str | None]:
    """(adminPass, rescue_image_ref) of a rescue body (null or an object)."""
    if argument is None:
        return None, None
    if not isinstance(argument, Mapping):
        raise BadRequest("Invalid input for field/attribute rescue. Value must be an object.")
    unknown = sorted(set(argument) - {"adminPass", "rescue_image_ref"})
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    password = argument.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise BadRequest("Invalid input for field/attribute adminPass.")
    ref = argument.get("rescue_image_ref")
    return password, ref_id(ref, "rescue_image_ref") if ref is not None else None


class RescueService:
    """The rescue and unrescue actions and their jobs."""

    def __init__(self, deps: ActionDeps) -> None:
        self._deps = deps
        deps.bus.register(RESCUE_TOPIC, self.run)

    def rescue(
        self,
        context: RequestContext,
        server_id: str,
        argument: Any,
        at_least: Callable[[str], bool] | None = None,
    ) -> str:
        """Start a rescue; the admin password of the rescue system. `at_least`: the request's
        microversion test (a volume-backed server is rescued from 2.87 only)."""
        deps = self._deps
        password, image_ref = parse_rescue(argument)

        def check(row: ServerRow) -> None:
            if not row.image_id:  # volume-backed: its volumes stay attached while rescued
                refused = rescue_refused(at_least or (lambda _: False), image_ref)
                if refused is not None:
                    raise refused
            self._rescue_image(context, image_ref or row.image_id, given=image_ref is not None)

        before = begin(
            deps,
            context,
            server_id,
            rule="os_compute_api:os-rescue",
            action="rescue",
            allowed=RESCUE_STATES,
            task_state=states.RESCUING,
            check=check,
        )
        image_id = image_ref or before.image_id
        was = {"image_id": image_id, "vm_state": before.vm_state, "power": before.power_state}
        remember(deps, server_id, KEY, was)
        self._submit(context, server_id, "rescue")
        return password or secrets.token_urlsafe(9)

    def unrescue(self, context: RequestContext, server_id: str) -> None:
        begin(
            self._deps,
            context,
            server_id,
            rule="os_compute_api:os-unrescue",
            action="unrescue",
            allowed=(states.RESCUED,),
            task_state=states.UNRESCUING,
        )
        self._submit(context, server_id, "unrescue")

    def _rescue_image(self, context: RequestContext, image_id: str, *, given: bool) -> Image:
        try:
            image = self._deps.images.visible_image(context, image_id)
        except NotFound:
            if given:
                raise BadRequest(f"Image {image_id} could not be found.") from None
            raise BadRequest(
                f"The server's image {image_id} is gone; name a rescue_image_ref."
            ) from None
        if image.status != "active":
            raise BadRequest(f"Image {image_id} is not active.")
        image_disk(image)
        return image

    def _submit(self, context: RequestContext | None, server_id: str, what: str) -> None:
        payload: dict[str, Any] = {
            "server_id": server_id,
            "action": what,
            "request_id": context.request_id if context is not None else "",
        }
        if context is not None:
            payload["context"] = context_payload(context)
        self._deps.bus.submit(RESCUE_TOPIC, payload)

    # ------------------------------------------------------------------ jobs

    def run(self, payload: Mapping[str, Any]) -> None:
        deps = self._deps
        server_id = str(payload["server_id"])
        request_id = str(payload.get("request_id", ""))
        what = str(payload["action"])
        task = states.RESCUING if what == "rescue" else states.UNRESCUING
        with deps.locks.of(server_id):
            loaded = load(deps, server_id)
            if loaded is None or loaded[0].task_state != task:
                return
            server, system = loaded
            context = job_context(payload, server)
            try:
                with recorded(deps, server, request_id, f"compute_{what}_instance"):
                    if what == "rescue":
                        self._rescue(server, system, context)
                    else:
                        self._unrescue(server)
            except Aborted:
                finish_action(deps, server_id, request_id, "Error")
                return
            except Exception as exc:
                self._give_back(what, server, system, exc)
                finish_action(deps, server_id, request_id, "Error")
                return
            finish_action(deps, server_id, request_id, "Success")

    def _rescue(self, server: Server, system: dict[str, Any], context: RequestContext) -> None:
        deps = self._deps
        compute = deps.backend.compute
        image_id = str((system.get(KEY) or {}).get("image_id") or server.image_id)
        image = self._rescue_image(context, image_id, given=True)
        power_off_quietly(deps, server.id)
        compute.attach_rescue_disk(server.id, datastore_path(*image_disk(image)))
        with contextlib.suppress(InvalidStateError):
            compute.power_on(server.id)
        vm = compute.get_vm(server.id)
        step(
            deps,
            server.id,
            states.RESCUING,
            vm_state=states.RESCUED,
            task_state=None,
            power_state=states.POWER_NUMBERS[vm.power_state],
            vm_host=vm.host,
        )

    def _unrescue(self, server: Server) -> None:
        deps = self._deps
        compute = deps.backend.compute
        power_off_quietly(deps, server.id)
        compute.detach_rescue_disk(server.id)
        with contextlib.suppress(InvalidStateError):
            compute.power_on(server.id)
        vm = compute.get_vm(server.id)
        step(
            deps,
            server.id,
            states.UNRESCUING,
            vm_state=states.ACTIVE,
            task_state=None,
            power_state=states.POWER_NUMBERS[vm.power_state],
            vm_host=vm.host,
        )
        remember(deps, server.id, KEY, None)

    def _give_back(self, what: str, server: Server, system: dict[str, Any], exc: Exception) -> None:
        """A failed rescue takes its disk back out and restores the power state it found; a
        failed unrescue leaves the server RESCUE (its disk may still be attached), to retry."""
        deps = self._deps
        if isinstance(exc, (VistackError, DriverError)):
            LOG.info("%s of server %s failed: %s", what, server.id, exc)
        else:
            LOG.exception("%s of server %s failed", what, server.id)
        cleanup: list[str] = []
        values: dict[str, Any] = {"task_state": None}
        compute = deps.backend.compute
        if what == "rescue":
            was = system.get(KEY) or {}
            try:
                power_off_quietly(deps, server.id)
                compute.detach_rescue_disk(server.id)
                if was.get("power") == states.RUNNING:
                    compute.power_on(server.id)
            except Exception as undo:
                cleanup.append(f"rescue disk of VM {server.id}: {undo}")
            values["vm_state"] = was.get("vm_state", server.vm_state)
            remember(deps, server.id, KEY, None)
        values["fault"] = fault_of(exc, cleanup)
        try:
            values["power_state"] = states.POWER_NUMBERS[compute.get_vm(server.id).power_state]
        except DriverError:
            values["power_state"] = states.NOSTATE
        task = states.RESCUING if what == "rescue" else states.UNRESCUING
        with deps.store.transaction() as unit:
            queries.set_if_task(unit, server.id, task, **values)

    # ------------------------------------------------------------------ restart

    def start(self) -> None:
        """Redo the rescues and unrescues a restart interrupted (both are repeatable)."""
        if self._deps.drivers is None:
            return
        for task, what in ((states.RESCUING, "rescue"), (states.UNRESCUING, "unrescue")):
            for server_id in interrupted(self._deps, (task,)):
                self._submit(None, server_id, what)

    def stop(self) -> None:
        """Nothing runs between jobs; a restart redoes an interrupted one (`start`)."""
