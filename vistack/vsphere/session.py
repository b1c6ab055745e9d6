"""One logged-in vCenter session shared by every caller, that survives expiry and restarts.

- One vCenter login per `VCenterSession` (vCenter limits sessions, and one re-login then serves
  every caller); up to `pool_size` callers at once, each on its own keep-alive HTTP connection of
  that session. `client()` blocks while all are lent.
- `call(fn)` classifies every fault once (`faults.classify`), logs in again once after
  `NotAuthenticated` (expired or terminated session, a restarted vCenter), and after a lost
  connection checks that vCenter answers again and retries idempotent work once.
- A keep-alive thread makes a cheap authenticated read every `keepalive_seconds`, and while
  vCenter is down retries with backoff, so `state` recovers without traffic.
- `state` (connected / reconnecting / down, last error, since when) is what the inventory and
  `vistack vcenter check` report; each outage is logged once, and its end once.

This module imports pyVmomi because it owns the SOAP stub; nothing outside `vistack.vsphere` does.
"""

from __future__ import annotations

import enum
import http.client
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from vistack.drivers.errors import AuthError, DriverError, TransientError
from vistack.vsphere import faults, transport
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.properties import moref_of, retrieve_one, vim_type
from vistack.vsphere.vmomi import vim, vmodl

LOG = logging.getLogger("vistack.vsphere")

T = TypeVar("T")

#: What a broken or refused connection raises (ssl errors are OSErrors too).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


def _never_sent(exc: BaseException) -> bool:
    """Whether the request provably never reached vCenter, so even a call that must not run
    twice may be sent again: the peer had closed the socket before we wrote (EPIPE, typical of
    a pooled keep-alive connection the server dropped while idle), or refused to connect."""
    return isinstance(exc, BrokenPipeError | ConnectionRefusedError)


#: Longest pause between two reconnection attempts while vCenter is down.
MAX_BACKOFF_SECONDS = 30.0
#: A caller arriving while vCenter is down fails fast unless the last attempt is this old.
RETRY_AFTER_SECONDS = 1.0


class SessionState(enum.StrEnum):
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DOWN = "down"


@dataclass(frozen=True)
class HealthState:
    """The session's health: `since` is the wall-clock time the state began."""

    state: SessionState
    since: float
    last_error: str | None = None
    #: Number of logins so far (1 after connect(), +1 for each re-login).
    generation: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "since": self.since,
            "last_error": self.last_error,
            "generation": self.generation,
        }


@dataclass(frozen=True)
class VCenterAbout:
    """What the server says it is (`ServiceContent.about`)."""

    version: str
    build: str
    api_version: str
    instance_uuid: str
    full_name: str = ""
    #: "VirtualCenter" for vCenter, "HostAgent" for a single ESXi host.
    api_type: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "version": self.version,
            "build": self.build,
            "api_version": self.api_version,
            "instance_uuid": self.instance_uuid,
            "full_name": self.full_name,
            "api_type": self.api_type,
        }


class Client:
    """A logged-in connection lent by `VCenterSession.client()`; valid inside the `with` only.

    `si` and `content` are pyVmomi's ServiceInstance and ServiceContent: calls on them (and on
    references made with `moref`) go out on the session's connections.
    """

    def __init__(self, connection: _Connection, generation: int) -> None:
        self._connection = connection
        self.generation = generation

    @property
    def si(self) -> Any:
        return self._connection.si

    @property
    def content(self) -> Any:
        return self._connection.content

    @property
    def endpoint(self) -> VCenterEndpoint:
        return self._connection.endpoint

    def moref(self, type_name: str, value: str) -> Any:
        """A pyVmomi reference to the object `value` ("vm-42") of `type_name` ("VirtualMachine")."""
        return vim_type(type_name)(value, self._connection.stub)

    @staticmethod
    def ref(obj: Any) -> str:
        """The opaque moref string of a pyVmomi reference (the inverse of `moref`)."""
        return moref_of(obj)


@dataclass
class _Connection:
    endpoint: VCenterEndpoint
    stub: Any
    si: Any
    content: Any
    about: VCenterAbout


class VCenterSession:
    """A pooled, self-healing session to one vCenter. Thread-safe.

    :param pool_size: callers served at once; further callers wait in `client()`.
    :param keepalive_seconds: period of the keep-alive read (0 disables the thread).
    :param connect_timeout: seconds to open a TCP/TLS connection.
    :param read_timeout: seconds to wait for one reply (long polls must stay below it).
    """

    def __init__(
        self,
        endpoint: VCenterEndpoint,
        *,
        pool_size: int = 4,
        keepalive_seconds: float = 300,
        connect_timeout: float = 10,
        read_timeout: float = 300,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.endpoint = endpoint
        self.pool_size = pool_size
        self.keepalive_seconds = keepalive_seconds
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._slots = threading.BoundedSemaphore(pool_size)
        # One more connection for a long poll (the inventory's WaitForUpdatesEx), so that it
        # never holds one of the callers' slots for its whole wait.
        self._long_poll_slot = threading.BoundedSemaphore(1)
        # Guards _connection, _generation and the health fields; held during (re)login so that
        # concurrent callers who all saw NotAuthenticated log in only once.
        self._lock = threading.RLock()
        self._connection: _Connection | None = None
        self._generation = 0
        self._health = HealthState(SessionState.DOWN, time.time(), "not connected yet")
        self._down_since: float | None = None
        self._outage_logged = False
        self._last_attempt = 0.0
        self._closed = False
        self._wake = threading.Event()
        self._keepalive: threading.Thread | None = None
        self._listeners: list[Callable[[HealthState], None]] = []

    # -- public API -------------------------------------------------------------------------

    def connect(self) -> None:
        """Log in (idempotent) and start the keep-alive thread.

        :raises TransientError: vCenter is unreachable.
        :raises TLSVerificationError: its certificate is not trusted (message has the thumbprint).
        :raises AuthError: the user name or password is wrong.
        """
        with self._lock:
            if self._closed:
                raise DriverError(f"vCenter session {self.endpoint.name} is closed")
            if self._connection is None:
                self._open()
        self._start_keepalive()

    @contextmanager
    def client(self, *, long_poll: bool = False) -> Iterator[Client]:
        """Lend a logged-in client; blocks while `pool_size` clients are lent.

        `long_poll` takes the one slot kept for a long-running wait instead of a pool slot.

        :raises TransientError: vCenter is down (the session keeps trying in the background).
        """
        with self._long_poll_slot if long_poll else self._slots:
            yield self._current_client()

    def call(
        self, fn: Callable[[Client], T], *, idempotent: bool = True, long_poll: bool = False
    ) -> T:
        """Run `fn` with a pooled client and turn any vSphere fault into a `DriverError`.

        After `NotAuthenticated` it logs in again and runs `fn` once more. After a lost
        connection it checks vCenter answers and, if `idempotent`, runs `fn` once more; a call
        that must not run twice (one that starts a task) passes `idempotent=False` and gets a
        `TransientError` whose outcome is unknown.

        :raises DriverError: a subclass chosen by `faults.classify`.
        """
        relogged = retried = False
        # The slot is taken and given back directly rather than through `client()`: a
        # generator-based context manager per call is measurable at high call rates.
        slot = self._long_poll_slot if long_poll else self._slots
        while True:
            slot.acquire()
            try:
                client = self._current_client()
                try:
                    return fn(client)
                except vim.fault.NotAuthenticated as exc:
                    if relogged:
                        raise faults.classify(exc) from exc
                    relogged = True
                    self._relogin(client.generation, exc)
                except CONNECTION_ERRORS as exc:
                    error = self._connection_lost(exc)
                    if retried or not (idempotent or _never_sent(exc)):
                        raise error from exc
                    retried = True
                except vmodl.MethodFault as exc:
                    raise faults.classify(exc) from exc
            finally:
                slot.release()

    def about(self) -> VCenterAbout:
        """Version, build and identity of the server (read at login)."""
        with self._lock:
            if self._closed:
                raise DriverError(f"vCenter session {self.endpoint.name} is closed")
            if self._connection is None:
                self._open()
            assert self._connection is not None
            return self._connection.about

    @property
    def state(self) -> HealthState:
        # Read without the lock: a reconnection attempt holds it for up to connect_timeout.
        return self._health

    @property
    def generation(self) -> int:
        """Increments with every login: session-scoped objects (filters) of older ones are gone."""
        return self._generation

    def add_listener(self, listener: Callable[[HealthState], None]) -> None:
        """Call `listener(state)` after every state change (from the thread that caused it)."""
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        """Stop the keep-alive thread and log out (best effort: vCenter may be gone)."""
        with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
        self._wake.set()
        if self._keepalive is not None and self._keepalive is not threading.current_thread():
            self._keepalive.join(timeout=self.connect_timeout + 5)
        if connection is not None:
            try:
                connection.content.sessionManager.Logout()
            except (vmodl.MethodFault, *CONNECTION_ERRORS) as exc:
                LOG.debug("logout from vCenter %s failed: %s", self.endpoint.name, exc)
            connection.stub.DropConnections()

    def __enter__(self) -> VCenterSession:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection management ----------------------------------------------------------------

    def _current_client(self) -> Client:
        # Fast path without the lock (each read is atomic): connected and open. A close() or
        # an outage racing with it is the same as one that comes just after the call started.
        connection = self._connection
        if (
            connection is not None
            and not self._closed
            and self._health.state is SessionState.CONNECTED
        ):
            return Client(connection, self._generation)
        with self._lock:
            if self._closed:
                raise DriverError(f"vCenter session {self.endpoint.name} is closed")
            if self._health.state is not SessionState.CONNECTED or self._connection is None:
                # Fail fast while down, but let one caller per second try to reconnect.
                if time.monotonic() - self._last_attempt < RETRY_AFTER_SECONDS:
                    raise TransientError(self._health.last_error or "vCenter is down")
                self._recover()
            assert self._connection is not None
            return Client(self._connection, self._generation)

    def _open(self) -> None:
        """Probe, negotiate, log in: a brand-new connection. Caller holds the lock."""
        self._last_attempt = time.monotonic()
        endpoint = self.endpoint
        try:
            transport.probe(endpoint, self.connect_timeout)
            version = transport.negotiate_version(endpoint, self.connect_timeout, self.read_timeout)
            stub = transport.soap_stub(
                endpoint,
                version,
                # +1: the inventory's long poll runs beside `pool_size` callers.
                pool_size=self.pool_size + 1,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
            si = vim.ServiceInstance("ServiceInstance", stub)
            content = si.RetrieveContent()
            self._login(content)
        except DriverError as exc:
            self._set_down(exc)
            raise
        except (vmodl.MethodFault, *CONNECTION_ERRORS) as exc:
            error = self._classify_connect_error(exc)
            self._set_down(error)
            raise error from exc
        about = content.about
        self._connection = _Connection(
            endpoint,
            stub,
            si,
            content,
            VCenterAbout(
                version=str(about.version),
                build=str(about.build),
                api_version=str(about.apiVersion),
                instance_uuid=str(about.instanceUuid or ""),
                full_name=str(about.fullName or ""),
                api_type=str(about.apiType or ""),
            ),
        )
        self._generation += 1
        self._set_state(SessionState.CONNECTED, None)

    def _login(self, content: Any) -> None:
        try:
            content.sessionManager.Login(self.endpoint.username, self.endpoint.password, None)
        except vim.fault.InvalidLogin as exc:
            error = AuthError(
                f"vCenter {self.endpoint.name} at {self.endpoint.address} refused the login "
                f"of {self.endpoint.username!r}: wrong user name or password",
                fault="vim.fault.InvalidLogin",
            )
            raise error from exc

    def _classify_connect_error(self, exc: BaseException) -> DriverError:
        what = f"vCenter {self.endpoint.name} at {self.endpoint.address}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return transport.tls_error(self.endpoint, exc, self.connect_timeout)
        if isinstance(exc, CONNECTION_ERRORS) and not isinstance(exc, vmodl.MethodFault):
            return TransientError(
                f"{what} is unreachable: {faults.fault_message(exc)}", fault=type(exc).__name__
            )
        return faults.classify(exc, what)

    def _relogin(self, generation: int, cause: BaseException) -> None:
        """Log in again on the same connection unless another caller already has."""
        with self._lock:
            if self._generation != generation or self._connection is None:
                return
            LOG.info(
                "vCenter %s session is no longer authenticated (%s); logging in again",
                self.endpoint.name,
                faults.fault_name(cause),
            )
            self._last_attempt = time.monotonic()
            try:
                self._login(self._connection.content)
            except DriverError as exc:
                self._set_down(exc)
                raise
            except vmodl.MethodFault as exc:
                error = faults.classify(exc, f"vCenter {self.endpoint.name} login")
                self._set_down(error)
                raise error from exc
            except CONNECTION_ERRORS as exc:
                raise self._connection_lost(exc) from exc
            self._generation += 1
            self._set_state(SessionState.CONNECTED, None)

    def _connection_lost(self, exc: BaseException) -> DriverError:
        """Note the failure, check whether vCenter answers again; the error to raise if not."""
        error = self._classify_connect_error(exc)
        with self._lock:
            if self._closed:
                return error
            self._set_state(SessionState.RECONNECTING, error.message)
            try:
                self._recover()
            except DriverError as down:
                return down
        return TransientError(
            f"connection to vCenter {self.endpoint.name} was lost during the call "
            f"({faults.fault_message(exc)}); it answers again, but the call's outcome is unknown",
            fault=type(exc).__name__,
        )

    def _recover(self) -> None:
        """Make the session usable again, or raise why not. Caller holds the lock.

        A brand-new connection when there never was one. Otherwise the same stub: probe the
        endpoint, then check the session cookie with a cheap read; after a network blip the
        session is still valid (and its property filters with it), after a vCenter restart
        the read says `NotAuthenticated` and we log in again.
        """
        if self._connection is None:
            self._open()
            return
        self._last_attempt = time.monotonic()
        if self._health.state is not SessionState.DOWN:
            # While down, stay down (and keep `since`) until an attempt succeeds.
            self._set_state(SessionState.RECONNECTING, self._health.last_error)
        connection = self._connection
        try:
            transport.probe(self.endpoint, self.connect_timeout)
            connection.stub.DropConnections()
            try:
                _touch(Client(connection, self._generation))
            except vim.fault.NotAuthenticated:
                self._login(connection.content)
                self._generation += 1
        except DriverError as exc:
            self._set_down(exc)
            raise
        except (vmodl.MethodFault, *CONNECTION_ERRORS) as exc:
            error = self._classify_connect_error(exc)
            self._set_down(error)
            raise error from exc
        self._set_state(SessionState.CONNECTED, None)

    def _set_down(self, error: DriverError) -> None:
        self._set_state(SessionState.DOWN, error.message)

    def _set_state(self, state: SessionState, error: str | None) -> None:
        """Record a state change; log the start of an outage once and its end once."""
        with self._lock:
            previous = self._health
            if state is not SessionState.CONNECTED and self._down_since is None:
                self._down_since = time.monotonic()
            if state is SessionState.DOWN and not self._outage_logged and previous.generation:
                LOG.warning("vCenter %s unreachable: %s", self.endpoint.name, error)
                self._outage_logged = True
            if state is SessionState.CONNECTED:
                if self._outage_logged and self._down_since is not None:
                    LOG.warning(
                        "vCenter %s reconnected after %.1f s",
                        self.endpoint.name,
                        time.monotonic() - self._down_since,
                    )
                self._down_since = None
                self._outage_logged = False
            if (
                previous.state is state
                and previous.last_error == error
                and previous.generation == self._generation
            ):
                return
            since = previous.since if previous.state is state else time.time()
            self._health = HealthState(state, since, error, self._generation)
            listeners = list(self._listeners)
        if state is SessionState.DOWN and previous.state is not SessionState.DOWN:
            # The keep-alive thread switches from its long period to reconnection backoff.
            self._wake.set()
        for listener in listeners:
            listener(self._health)

    # -- keep-alive ---------------------------------------------------------------------------

    def _start_keepalive(self) -> None:
        with self._lock:
            if self.keepalive_seconds <= 0 or self._keepalive is not None or self._closed:
                return
            self._keepalive = threading.Thread(
                target=self._keepalive_loop,
                name=f"vcenter-keepalive-{self.endpoint.name}",
                daemon=True,
            )
            self._keepalive.start()

    def _keepalive_loop(self) -> None:
        backoff = 1.0
        while True:
            was_down = self._health.state is SessionState.DOWN
            self._wake.wait(backoff if was_down else self.keepalive_seconds)
            self._wake.clear()
            if self._closed:
                return
            if self._health.state is not SessionState.DOWN:
                backoff = 1.0
                if not was_down:
                    try:
                        self.call(_touch)
                    except DriverError as exc:
                        LOG.debug("vCenter %s keep-alive failed: %s", self.endpoint.name, exc)
                continue
            if not was_down:
                continue  # woken by the outage: the next round waits `backoff` first
            with self._lock:
                if self._closed or self._health.state is not SessionState.DOWN:
                    continue
                try:
                    self._recover()
                    backoff = 1.0
                except DriverError:
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def _touch(client: Client) -> None:
    """A cheap call that needs an authenticated session (and resets its idle timer)."""
    session = retrieve_one(client, client.content.sessionManager, ["currentSession"])
    if session is None or session.get("currentSession") is None:
        # Real vCenter answers an unauthenticated read of currentSession with an unset value.
        raise vim.fault.NotAuthenticated()
