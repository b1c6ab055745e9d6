"""The steps of a server's actions (`os-instance-actions/{request_id}` events).

Nova's compute manager wraps each step it runs for an action (`compute_stop_instance`,
`compute__do_build_and_run_instance`, `compute_attach_interface`...) in an event that records
when it started, when it ended, how (`Success` or `Error`) and, for an administrator, the
traceback. `ActionEvents.record` does the same for any job: a feature wraps its step in

    with events.record(server_id, request_id, "compute_resize_instance", host=cluster):
        ...

and the step is recorded whatever happens. Recording never breaks the job it records: a
database error while writing an event is logged and the job goes on. A job with no request
behind it (resumed after a restart, request id "") has no action to attach events to.

`ActionEvents.events` is the read side: the events of one action as Nova shows them at the
request's microversion (none before 2.51 for a non-administrator; tracebacks, host and
details only for an administrator).
"""

from __future__ import annotations

import hashlib
import logging
import traceback as tb
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import action_events as queries
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore, ComputeUnit

LOG = logging.getLogger(__name__)

#: The events of the jobs `domain/build.py` runs, under Nova's names.
BUILD_EVENT = "compute__do_build_and_run_instance"
DELETE_EVENT = "compute_terminate_instance"
POWER_EVENTS = {
    "start": "compute_start_instance",
    "stop": "compute_stop_instance",
    "reboot_soft": "compute_reboot_instance",
    "reboot_hard": "compute_reboot_instance",
}


class Version(Protocol):
    """The request's microversion as the API hands it over (`api.microversion.Version`)."""

    def at_least(self, version: str) -> bool: ...


class ActionEvents:
    """Records action events (the jobs' side) and shows them (the API's side)."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine | None = None) -> None:
        self._store = store
        self._policy = policy

    # ------------------------------------------------------------------ recording

    def start(
        self, server_id: str, request_id: str, event: str, *, host: str | None = None
    ) -> int | None:
        """Open an event on the action `request_id` started; None when there is no such action
        (or the write failed: logged, never raised)."""
        if not request_id:
            return None
        try:
            with self._store.transaction() as unit:
                action = queries.action_of(unit, server_id, request_id)
                if action is None:
                    return None
                return queries.start_event(unit, action.id, event, host=host, at=utcnow())
        except Exception:
            LOG.exception("could not record event %s of server %s", event, server_id)
            return None

    def finish(
        self, event_id: int | None, error: BaseException | None = None, *, details: str = ""
    ) -> None:
        """Close an event: `Success`, or `Error` with the failure's traceback and `details`
        (what a person should read; the error's message when not given)."""
        if event_id is None:
            return
        try:
            with self._store.transaction() as unit:
                self.finish_in(unit, event_id, error, details=details)
        except Exception:
            LOG.exception("could not finish action event %s", event_id)

    @staticmethod
    def finish_in(
        unit: ComputeUnit,
        event_id: int | None,
        error: BaseException | None = None,
        *,
        details: str = "",
    ) -> None:
        """`finish` inside the caller's transaction, the one that records the job's outcome
        (one commit instead of two; a failure here fails that transaction too)."""
        if event_id is None:
            return
        trace = None
        if error is not None:
            trace = "".join(tb.format_exception(error)).strip()
            details = details or str(error) or type(error).__name__
        queries.finish_event(
            unit,
            event_id,
            result="Error" if error is not None else "Success",
            at=utcnow(),
            traceback=trace,
            details=details or None,
        )

    @contextmanager
    def record(
        self, server_id: str, request_id: str, event: str, *, host: str | None = None
    ) -> Iterator[None]:
        """Record the enclosed step as one event; an exception is recorded and re-raised."""
        event_id = self.start(server_id, request_id, event, host=host)
        try:
            yield
        except BaseException as exc:
            self.finish(event_id, exc)
            raise
        self.finish(event_id)

    # ------------------------------------------------------------------ reading

    def events(
        self, context: RequestContext, server_id: str, request_id: str, version: Version
    ) -> list[dict[str, Any]] | None:
        """The events of one action as the caller may see them, newest first; None when the
        answer has no `events` at all (a non-administrator before 2.51).

        :raises NotFound: no such server (deleted ones included) or action.
        """
        if self._policy is None:
            raise RuntimeError("ActionEvents was built without a policy engine to read with")
        with self._store.transaction() as unit:
            server = server_queries.get(unit, server_id, deleted=True)
            target = {"project_id": server.project_id} if server is not None else {}
            if server is None or not self._policy.check(
                "os_compute_api:os-instance-actions:show", context, target
            ):
                raise NotFound(f"Instance {server_id} could not be found.")
            action = queries.action_of(unit, server_id, request_id)
            if action is None:
                raise NotFound(
                    f"Action for request_id {request_id} on instance {server_id} not found"
                )
            admin = self._policy.check("os_compute_api:os-instance-actions:events", context, target)
            if not admin and not version.at_least("2.51"):
                return None
            project_id = action.project_id or server.project_id
            details = (
                admin
                and version.at_least("2.84")
                and self._policy.check(
                    "os_compute_api:os-instance-actions:events:details", context, target
                )
            )
            return [
                event_view(
                    row.event,
                    row.start_time,
                    row.finish_time,
                    row.result,
                    traceback=row.traceback if admin else HIDDEN,
                    host=row.host if admin and version.at_least("2.62") else HIDDEN,
                    host_id=_host_id(project_id, row.host) if version.at_least("2.62") else None,
                    details=row.details if details else HIDDEN,
                )
                for row in queries.events_of(unit, action.id)
            ]


#: A field the caller may not see (left out of the view, unlike a None that is shown).
HIDDEN: Any = object()


def event_view(
    event: str,
    start: datetime,
    finish: datetime | None,
    result: str | None,
    *,
    traceback: str | None,
    host: str | None,
    host_id: str | None,
    details: str | None,
) -> dict[str, Any]:
    """One event in Nova's form (`2026-11-24T08:00:00.000000` times)."""
    view: dict[str, Any] = {
        "event": event,
        "start_time": _stamp(start),
        "finish_time": _stamp(finish),
        "result": result,
    }
    if traceback is not HIDDEN:
        view["traceback"] = traceback
    if host is not HIDDEN:
        view["host"] = host or ""
    if host_id is not None:
        view["hostId"] = host_id
    if details is not HIDDEN:
        view["details"] = details
    return view


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment is not None else None


def _host_id(project_id: str, host: str | None) -> str:
    """Nova's opaque `hostId` of an event's host (empty when the event has none)."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()
