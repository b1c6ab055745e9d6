"""`EdgeSync`: keeps the local edge node in step with the database, from one background thread.

Every committed write of the network store notifies it (`NetworkStore.change_listeners`, called
in the writing request's thread); the thread waits a short debounce so a burst of writes (a
port create is several) becomes one pass, then reads the whole state in one transaction,
compiles it and applies it. Applying is idempotent and diffs against the node, so a pass that
finds nothing new changes nothing, and a failed pass is simply retried (with backoff) until one
succeeds: the state it applies is always the newest.

The passes themselves run in a worker process (`worker.WorkerPasses`), so their CPU is not taken
from the API's requests; the thread only schedules them and keeps the status and heartbeat.

It applies once at start, so a restarted vistack reconciles the node with what was committed
while it was down. `stop()` leaves the data plane as it is (a vistack restart must not cut
tenant traffic: dnsmasq, namespaces and nft tables keep running); `teardown()` removes it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vistack.common.clock import utcnow
from vistack.edge import EdgeAgent, EdgeConfig, EdgeState, MetadataRelay
from vistack.network.dataplane.compile import read_state
from vistack.network.dataplane.report import Reporter, configurations
from vistack.network.dataplane.worker import PassResult, WorkerConfig, WorkerPasses
from vistack.network.db.repository import NetworkStore

LOG = logging.getLogger(__name__)

#: How long a burst of writes may go on before the pass that covers it starts.
DEBOUNCE_SECONDS = 0.05
#: Retry delays after failed passes: doubling from the first to the last, then staying there.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
#: How often an idle thread wakes to let the agents' heartbeat report (when it is due).
HEARTBEAT_SECONDS = 5.0
#: Under a stream of writes a pass waits this many times its predecessor's duration, so the
#: sync takes at most a quarter of the process's time (it shares the GIL with the API)...
PACE_FACTOR = 3.0
#: ...but never longer than this (so rules still apply within 2 s).
PACE_CAP = 0.75


def agent_name(state_dir: Path) -> str:
    """A name for the agent that is stable for one state dir (a restart finds its firewall table
    again) and distinct between state dirs (clouds sharing a host, parallel tests)."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()
    return f"n{digest[:12]}"


def teardown_state_dir(state_dir: Path) -> None:
    """Remove everything the agent of `state_dir` made on this host, without its cloud: for
    whoever ran a `vistack up` whose data plane must not outlive it (test fixtures, benches)."""
    if (state_dir / "ledger.json").exists():
        EdgeAgent(EdgeConfig(state_dir, name=agent_name(state_dir))).teardown()


@dataclass(frozen=True)
class SyncStatus:
    """What the agents API reports of the local edge agent."""

    name: str
    alive: bool
    #: When the last successful apply finished (None: none yet).
    last_apply: datetime | None
    #: The last failure's message, cleared by the next successful apply.
    last_error: str | None
    last_error_at: datetime | None
    #: Whether committed changes are still waiting to be applied.
    pending: bool


class EdgeSync:
    """Applies the compiled database to `agent` after every change, in its own thread."""

    def __init__(
        self,
        store: NetworkStore,
        agent: EdgeAgent,
        *,
        before_first_apply: Callable[[], None] | None = None,
        debounce: float = DEBOUNCE_SECONDS,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX),
        compile_state: Callable[[NetworkStore], EdgeState] = read_state,
        reporter: Reporter | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        relay: MetadataRelay | None = None,
        worker: WorkerPasses | None = None,
    ) -> None:
        self._store = store
        #: Where passes run: a worker process (production), else this thread (`compile_state`
        #: then `agent.apply`; tests give their own agent).
        self._worker = worker
        #: Serves the metadata proxies' socket; runs exactly while this sync runs.
        self._relay = relay
        self.agent = agent
        self._before_first_apply = before_first_apply
        self._debounce = debounce
        self._backoff = backoff
        self._compile = compile_state
        self._reporter = reporter
        self._heartbeat = heartbeat
        self._cond = threading.Condition()
        #: Bumped by every notification; `_applied` is the value the last successful pass read.
        self._requested = 0
        self._applied = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._last_apply: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        #: How long the last pass took (compile + apply): the pace of the next one.
        self._last_pass_seconds = 0.0

    @classmethod
    def for_options(
        cls,
        store: NetworkStore,
        state_dir: Path,
        trunk_interface: str | None,
        *,
        before_first_apply: Callable[[], None] | None = None,
        reporter: Reporter | None = None,
        relay: MetadataRelay | None = None,
    ) -> EdgeSync:
        """The sync of this node's agent: named after its state dir (see `agent_name`). With a
        metadata relay, the agent runs the namespace proxies that lead to its socket."""
        config = EdgeConfig(
            state_dir,
            trunk_interface,
            name=agent_name(state_dir),
            metadata_socket=relay.socket_path if relay is not None else None,
        )
        return cls(
            store,
            EdgeAgent(config),
            before_first_apply=before_first_apply,
            reporter=reporter,
            relay=relay,
            worker=WorkerPasses(WorkerConfig.of(store.database_url, config)),
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the store and start the thread; its first pass applies at once."""
        with self._cond:
            if self._thread is not None:
                return
            if self._relay is not None:
                self._relay.start()
            self._stopping = False
            self._requested += 1
            self._store.change_listeners.append(self.notify)
            self._thread = threading.Thread(
                target=self._run, name=f"edge-sync-{self.agent.config.name}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread (after the pass in progress); the data plane stays as it is."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if self.notify in self._store.change_listeners:
            self._store.change_listeners.remove(self.notify)
        if thread is not None:
            thread.join(timeout)
        if self._worker is not None:
            self._worker.close()
        if self._relay is not None:
            self._relay.stop()

    def teardown(self) -> None:
        """Stop, and remove everything the agent made on this node (tests, decommissioning)."""
        self.stop()
        self.agent.teardown()

    # -- what callers see ---------------------------------------------------------------------

    def notify(self) -> None:
        """A write committed: schedule a pass (cheap; called in the writer's thread)."""
        with self._cond:
            self._requested += 1
            self._cond.notify_all()

    def wait_synced(self, timeout: float) -> bool:
        """Wait until everything committed before this call has been applied; False on timeout
        (the last error then says why, see `status`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._requested
            while self._applied < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
            return True

    def status(self) -> SyncStatus:
        with self._cond:
            return SyncStatus(
                name=self.agent.config.name,
                alive=self._thread is not None and self._thread.is_alive(),
                last_apply=self._last_apply,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                pending=self._applied < self._requested,
            )

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        if self._before_first_apply is not None:
            try:
                self._before_first_apply()
            except Exception:  # the data plane still runs from what the database holds
                LOG.exception("edge sync: preparing the first apply failed")
        # Register the agents before the first pass, as Neutron's agents report at start: a
        # first pass can take seconds (a large cloud, a loaded host), and meanwhile the
        # node's zones must exist and new networks must find an agent to be scheduled to.
        self._report(None, force=True)
        delay = self._backoff[0]
        retry_at: float | None = None  # after a failed pass: when to try again
        attempted = 0  # the generation the failed pass read
        reported: PassResult | None = None  # the pass the last heartbeat described
        while True:
            with self._cond:
                work = self._wait_for_work(retry_at, attempted)
                if work is None:
                    return
                target = self._requested
            if not work:  # idle: only the heartbeat may be due
                self._report(reported, force=False)
                continue
            result = self._pass(target)
            if result is not None:
                retry_at, delay = None, self._backoff[0]
                # Report what changed (the report is itself a write, so reporting after every
                # pass would make every pass cause another), else only when due.
                self._report(result, force=bool(result.changes) or reported is None)
                reported = result
            else:
                attempted = target
                retry_at = time.monotonic() + delay
                delay = min(delay * 2, self._backoff[1])
                self._report(reported, force=False)

    def _wait_for_work(self, retry_at: float | None, attempted: int) -> bool | None:
        """(Holding the lock) wait for a pass to do, then for the debounce: True then, False
        when the heartbeat interval passed idle, None on stop.

        After a failure the next pass comes at `retry_at`, or sooner when a new change arrives
        (it may be the fix)."""
        idle_until = time.monotonic() + self._heartbeat
        while not self._stopping:
            now = time.monotonic()
            if retry_at is None:
                if self._applied < self._requested:
                    break
                if self._reporter is None:
                    self._cond.wait()
                    continue
                if now >= idle_until:
                    return False
                self._cond.wait(idle_until - now)
                continue
            if now >= retry_at or self._requested > attempted:
                break
            self._cond.wait(retry_at - now)
        # Let the burst finish: writes committed meanwhile are covered by this pass. A pass
        # that took long (a large cloud) waits PACE_FACTOR times as long, so under a stream of
        # writes the sync takes about a quarter of the process's time and the API the rest.
        paced = min(PACE_FACTOR * self._last_pass_seconds, PACE_CAP)
        end = time.monotonic() + max(self._debounce, paced)
        while not self._stopping and (remaining := end - time.monotonic()) > 0:
            self._cond.wait(remaining)
        return None if self._stopping else True

    def _report(self, result: PassResult | None, *, force: bool) -> None:
        if self._reporter is None or not (force or self._reporter.due()):
            return
        try:
            self._reporter.report(result.configurations if result is not None else None)
        except Exception:  # a heartbeat must never stop the data plane
            LOG.exception("edge sync: the agents' heartbeat failed")

    def _pass(self, target: int) -> PassResult | None:
        """Read, compile and apply; what the pass did (the node now matches generation
        `target`), or None when it failed."""
        started = time.monotonic()
        try:
            result = self._worker.run() if self._worker is not None else self._local_pass()
        except Exception as exc:
            LOG.exception("edge sync: applying the network state failed (retrying)")
            with self._cond:
                self._last_error = f"{type(exc).__name__}: {exc}"
                self._last_error_at = utcnow()
            return None
        self._last_pass_seconds = time.monotonic() - started
        with self._cond:
            self._applied = max(self._applied, target)
            self._last_apply = utcnow()
            self._last_error = None
            self._cond.notify_all()
        if result.changes:
            LOG.info(
                "edge sync: applied %d change(s) in %.3f s",
                len(result.changes),
                time.monotonic() - started,
            )
        return result

    def _local_pass(self) -> PassResult:
        state = self._compile(self._store)
        self.agent.apply(state)
        return PassResult(configurations(state), tuple(self.agent.changes))
