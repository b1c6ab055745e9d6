"""The work queue abstraction for long operations (build, delete, resize, migrate).

API processes submit a job by topic and return at once; workers run the registered handler. The
in-process queue runs handlers on a thread pool in the same process; a RabbitMQ implementation
with the same interface carries the jobs between processes in the HA topology.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

LOG = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class Job:
    """One unit of work: a topic naming the handler, and a JSON-serialisable payload."""

    topic: str
    payload: Mapping[str, Any]
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class WorkQueue(Protocol):
    """What every work queue backend offers."""

    def register(self, topic: str, handler: Handler) -> None:
        """Run `handler` for jobs of `topic`; one handler per topic."""

    def submit(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Queue a job and return its id.

        :raises KeyError: no handler is registered for `topic`.
        """

    def start(self) -> None:
        """Start consuming."""

    def stop(self) -> None:
        """Finish running jobs, drop nothing already started, and stop consuming."""


class InProcessWorkQueue:
    """A FIFO served by a fixed pool of daemon threads."""

    def __init__(self, workers: int = 4) -> None:
        self._workers = workers
        self._handlers: dict[str, Handler] = {}
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def register(self, topic: str, handler: Handler) -> None:
        if topic in self._handlers:
            raise ValueError(f"a handler for {topic!r} is already registered")
        self._handlers[topic] = handler

    def submit(self, topic: str, payload: Mapping[str, Any]) -> str:
        if topic not in self._handlers:
            raise KeyError(f"no handler registered for {topic!r}")
        job = Job(topic, dict(payload))
        self._jobs.put(job)
        return job.job_id

    def start(self) -> None:
        if self._threads:
            return
        for index in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"vistack-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def join(self) -> None:
        """Block until every submitted job has run (tests and shutdown use it)."""
        self._jobs.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._handlers[job.topic](job.payload)
            except Exception:
                # A failing job must not kill its worker; the handler owns recording the failure
                # on its resource (e.g. an instance in ERROR), this line keeps the trace.
                LOG.exception(
                    "job %s on topic %s failed", job.job_id if job else "-", job and job.topic
                )
            finally:
                self._jobs.task_done()
