"""`os-server-external-events`: Neutron's and Cinder's callbacks into Nova.

Neutron tells Nova when a server's ports change (`network-changed`, `network-vif-plugged`,
`-unplugged`, `-deleted`), Cinder when a volume it holds grew (`volume-extended`) or was
re-imaged (`volume-reimaged`), Ironic when a node's power changed (`power-update`). Nova's API
checks each event, answers per event (200 accepted, 404 no such server, 422 a server on no
host yet, 400 a missing tag) and as a whole (200 all accepted, else 207 Multi-Status), and
hands the accepted ones to the server's compute host.

Here the compute host is this process, so an accepted event is acted on at once, where it
means something on vSphere:

- the `network-*` events rebuild the server's cached `addresses` from its ports as Neutron now
  has them (what Nova's `network-changed` handler refreshes: its network info cache);
- `power-update` compares the server with its VM in vCenter now (what `PowerSync` does every
  round), and, as Nova's API does, records the `start` / `stop` action (`POWER_ON` /
  `POWER_OFF`) with its `compute_power_update` event;
- `volume-extended` is recorded as Nova records it (the `extend_volume` action with its
  `compute_extend_volume` event); a vSphere disk needs nothing from the VM's side (the VM grew
  it). Cinder in this process sends it through `volume_extended`, not over HTTP;
- `accelerator-request-bound` and `volume-reimaged` are accepted and logged only: this cloud
  has no accelerators (Cyborg) and rebuilds no volume-backed server (nothing waits for them).

What an event then does never changes the answer: Nova's API has answered before the compute
host acts. A failure is logged (and recorded in the action event, when there is one).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.policy import PolicyEngine
from vistack.compute.db import action_events as action_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.action_events import ActionEvents
from vistack.compute.domain.address_refresh import fixed_addresses, with_floating
from vistack.compute.domain.power_sync import changes_for
from vistack.compute.domain.work import service_context
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import NotFoundError
from vistack.drivers.models import VMInfo
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)

RULE = "os_compute_api:os-server-external-events:create"

#: Event name → the microversion that brought it (None: every version).
EVENT_NAMES: dict[str, str | None] = {
    "network-changed": None,
    "network-vif-plugged": None,
    "network-vif-unplugged": None,
    "network-vif-deleted": None,
    "volume-extended": "2.51",
    "power-update": "2.76",
    "accelerator-request-bound": "2.82",
    "volume-reimaged": "2.93",
}
NETWORK_EVENTS = frozenset(n for n in EVENT_NAMES if n.startswith("network-"))
STATUSES = ("failed", "completed", "in-progress")
#: Events Nova drops (code 400) without a tag: the tag names what they are about.
TAG_REQUIRED = frozenset({"volume-extended", "power-update", "accelerator-request-bound"})
#: `power-update` tags → the instance action Nova records.
POWER_ACTIONS = {"POWER_ON": "start", "POWER_OFF": "stop"}
FIELDS = frozenset({"server_uuid", "name", "status", "tag"})
MAX_TAG = 255


class Version(Protocol):
    """The request's microversion (`api.microversion.Version`)."""

    def at_least(self, version: str) -> bool: ...


@dataclass(frozen=True)
class Event:
    server_id: str
    name: str
    status: str
    tag: str | None


def _invalid(field: str, value: Any, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def parse(body: Any, version: Version) -> list[Event]:
    """The events of a request body, checked as Nova's schema checks them.

    :raises BadRequest: a body that is not `{"events": [...]}` with at least one event, an
        unknown or missing field, a name the microversion does not have, a bad status, tag
        or server UUID.
    """
    if not isinstance(body, Mapping) or "events" not in body:
        raise BadRequest(
            "Invalid input for field/attribute events. 'events' is a required property"
        )
    extra = set(body) - {"events"}
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({sorted(extra)} were unexpected)")
    raw = body["events"]
    if not isinstance(raw, list) or not raw:
        raise _invalid("events", raw, "It must be a list of at least one event.")
    names = [n for n, since in EVENT_NAMES.items() if since is None or version.at_least(since)]
    return [_event(item, names) for item in raw]


def _event(item: Any, names: list[str]) -> Event:
    if not isinstance(item, Mapping):
        raise _invalid("events", item, "Each event must be an object.")
    extra = set(item) - FIELDS
    if extra:
        raise BadRequest(
            f"Invalid input for field/attribute events. Additional properties are not allowed "
            f"({', '.join(sorted(map(repr, extra)))} were unexpected)"
        )
    for required in ("server_uuid", "name"):
        if required not in item:
            raise BadRequest(
                f"Invalid input for field/attribute events. '{required}' is a required property"
            )
    server_id, name = item["server_uuid"], item["name"]
    if not isinstance(server_id, str) or not _is_uuid(server_id):
        raise _invalid("server_uuid", server_id, "It must be a server's UUID.")
    if name not in names:
        raise _invalid("name", name, f"It is not one of {names} (at this microversion).")
    status = item.get("status", "completed")
    if status not in STATUSES:
        raise _invalid("status", status, f"It is not one of {list(STATUSES)}.")
    tag = item.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > MAX_TAG):
        raise _invalid("tag", tag, f"It must be a string of at most {MAX_TAG} characters.")
    return Event(server_id, name, status, tag)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Target:
    """What an accepted event needs of its server, read once per request."""

    project_id: str
    cluster: str


class ExternalEvents:
    """Checks, answers and acts on a batch of external events (an administrator's or a
    service user's, as Nova's policy)."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        networks: NetworkService,
        drivers: Drivers | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._networks = networks
        self._drivers = drivers
        self._events = ActionEvents(store)

    def deliver(
        self, context: RequestContext, body: Any, version: Version
    ) -> tuple[int, list[dict[str, Any]]]:
        """The answer's status (200 all accepted, else 207, even when none was: Nova's API
        has no error for that) and its events, each as sent with its `code` and `status`; the
        accepted ones are then acted on.

        :raises BadRequest: see `parse` (checked first, as Nova's schema is).
        :raises Forbidden: the policy refuses.
        """
        events = parse(body, version)  # Nova's schema check comes before its policy check
        self._policy.authorize(RULE, context, {})
        targets = self._targets({e.server_id for e in events})
        answers: list[dict[str, Any]] = []
        accepted: list[Event] = []
        for event, raw in zip(events, body["events"], strict=True):
            answer = dict(raw)
            target = targets.get(event.server_id)
            if target is None:
                answer.update(status="failed", code=404)
            elif event.name in TAG_REQUIRED and event.tag is None:
                answer.update(status="failed", code=400)
            elif not target.cluster:
                answer.update(status="failed", code=422)  # not on a host yet: nowhere to go
            else:
                answer.update(status="completed", code=200)
                accepted.append(event)
            answers.append(answer)
        if accepted:
            self._act(context, accepted, targets)
        status = 200 if len(accepted) == len(events) else 207
        return status, answers

    def _targets(self, server_ids: set[str]) -> dict[str, _Target]:
        with self._store.transaction() as unit:
            rows = [queries.get(unit, server_id) for server_id in sorted(server_ids)]
        return {r.id: _Target(r.project_id, r.cluster or "") for r in rows if r is not None}

    # ------------------------------------------------------------------ acting

    def _act(
        self, context: RequestContext, events: list[Event], targets: Mapping[str, _Target]
    ) -> None:
        refreshed: set[str] = set()
        for event in events:
            target = targets[event.server_id]
            LOG.info(
                "external event %s:%s (%s) for server %s",
                event.name,
                event.tag,
                event.status,
                event.server_id,
            )
            try:
                if event.name in NETWORK_EVENTS and event.server_id not in refreshed:
                    refreshed.add(event.server_id)
                    self.refresh_addresses(event.server_id, target.project_id)
                elif event.name == "power-update":
                    self._power_update(context, event, target)
                elif event.name == "volume-extended":
                    self._volume_extended(context, event.server_id, target)
            except Exception:  # the answer is given: what follows is logged, never raised
                LOG.warning(
                    "external event %s for server %s could not be acted on",
                    event.name,
                    event.server_id,
                    exc_info=True,
                )

    def refresh_addresses(self, server_id: str, project_id: str) -> bool:
        """Rebuild the server's `addresses` from its ports as Neutron has them now; the
        floating addresses of ports still plugged are kept. False when nothing was written:
        the server is gone, or its ports changed meanwhile (an attach or detach, which
        writes the addresses itself)."""
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                return False
            port_ids = list(row.port_ids or [])
        context = service_context(project_id)
        fixed, names = fixed_addresses(self._networks, context, port_ids)
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or list(row.port_ids or []) != port_ids:
                return False
            addresses = with_floating(fixed, names, row.addresses)
            if addresses != (row.addresses or {}):
                queries.set_fields(unit, server_id, addresses=addresses)
            return True

    def volume_extended(self, server_id: str, volume_id: str) -> bool:
        """Cinder's `volume-extended` event from this process (after an in-use extend, 3.42),
        sent as Cinder sends it: with Nova's service standing, under a request of its own.
        False when Nova would not accept it (no such server, or on no cluster yet).

        :raises Exception: the action could not be recorded (the caller logs it).
        """
        target = self._targets({server_id}).get(server_id)
        if target is None or not target.cluster:
            return False
        LOG.info("volume %s extended on server %s", volume_id, server_id)
        self._volume_extended(service_context(target.project_id), server_id, target)
        return True

    def _volume_extended(self, context: RequestContext, server_id: str, target: _Target) -> None:
        """Nova's `extend_volume` action, whose compute step (`compute_extend_volume`) has
        nothing left to do on vSphere: the VM holding the disk grew it for Cinder."""
        self._start_action(context, server_id, "extend_volume")
        step = self._events.start(
            server_id, context.request_id, "compute_extend_volume", host=target.cluster
        )
        self._events.finish(step)
        self._finish_action(context, server_id, "Success")

    def _power_update(self, context: RequestContext, event: Event, target: _Target) -> None:
        action = POWER_ACTIONS.get(event.tag or "")
        if action is None:
            # Nova's API skips such an event (logged) after accepting it; so does this.
            LOG.warning(
                "power-update for server %s has the unknown state %r", event.server_id, event.tag
            )
            return
        self._start_action(context, event.server_id, action)
        result = "Error"
        try:
            with self._events.record(
                event.server_id, context.request_id, "compute_power_update", host=target.cluster
            ):
                self.sync_power(event.server_id)
            result = "Success"
        finally:
            self._finish_action(context, event.server_id, result)

    def sync_power(self, server_id: str) -> bool:
        """Make a settled server follow its VM as vCenter has it now (`power_sync.changes_for`:
        its power state, host and cluster; ERROR when the VM is gone). False when nothing
        changed, or the server has a task in progress (the task decides its state).

        :raises DriverError: vCenter could not be asked.
        """
        if self._drivers is None:
            return False
        vm: VMInfo | None
        try:
            vm = self._drivers.compute.get_vm(server_id)
        except NotFoundError:
            vm = None
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or row.task_state is not None or row.launched_at is None:
                return False
            changes = changes_for(row.vm_state, row.cluster, row.vm_host, vm)
            if not changes:
                return False
            LOG.info("power-update: server %s follows vCenter: %s", server_id, sorted(changes))
            queries.set_fields(unit, server_id, **changes)
            return True

    def _start_action(self, context: RequestContext, server_id: str, action: str) -> None:
        """The instance action Nova's API records for the event, under the request's id (one
        per server and request, however many events name it)."""
        with self._store.transaction() as unit:
            if action_queries.action_of(unit, server_id, context.request_id) is None:
                queries.start_action(
                    unit,
                    server_id,
                    action,
                    request_id=context.request_id,
                    user_id=context.user_id,
                    project_id=context.project_id,
                )

    def _finish_action(self, context: RequestContext, server_id: str, result: str) -> None:
        with self._store.transaction() as unit:
            queries.finish_action(unit, server_id, context.request_id, result)
