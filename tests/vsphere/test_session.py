"""The session against the embedded vCenter: login, failures, re-login, reconnect, pool bound."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.vsphere.conftest import SMALL, StartVcsim
from vistack.drivers.errors import AuthError, TransientError
from vistack.vsphere.embedded import EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.properties import retrieve, retrieve_one
from vistack.vsphere.session import Client, SessionState, VCenterSession


def test_connect_and_about(endpoint: VCenterEndpoint) -> None:
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        about = session.about()
        assert about.api_type == "VirtualCenter"
        assert about.api_version == "6.5"
        assert about.instance_uuid
        state = session.state
        assert state.state is SessionState.CONNECTED
        assert state.generation == 1
        hosts = session.call(lambda c: retrieve(c, "HostSystem", ["name"]))
        assert len(hosts) == 4


def test_wrong_password_is_an_auth_error(endpoint: VCenterEndpoint) -> None:
    wrong = dataclasses.replace(endpoint, password="not-the-password")
    session = VCenterSession(wrong, keepalive_seconds=0)
    with pytest.raises(AuthError, match="refused the login of 'vistack'") as caught:
        session.connect()
    assert caught.value.fault == "vim.fault.InvalidLogin"
    assert session.state.state is SessionState.DOWN


def test_unreachable_port_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = VCenterEndpoint(
        host="127.0.0.1", port=port, protocol="http", username="u", password="p", name="nowhere"
    )
    session = VCenterSession(endpoint, keepalive_seconds=0, connect_timeout=2)
    with pytest.raises(
        TransientError, match=rf"vCenter nowhere at 127.0.0.1:{port} is unreachable"
    ):
        session.connect()


def test_retrieve_one_of_a_missing_object_is_none(session: VCenterSession) -> None:
    assert (
        session.call(lambda c: retrieve_one(c, c.moref("VirtualMachine", "vm-999999"), ["name"]))
        is None
    )


def _session_key(session: VCenterSession) -> str:
    found = session.call(lambda c: retrieve_one(c, c.content.sessionManager, ["currentSession"]))
    assert found is not None
    return str(found.props["currentSession"].key)


def test_terminated_session_logs_in_again(
    session: VCenterSession, endpoint: VCenterEndpoint
) -> None:
    key = _session_key(session)
    with VCenterSession(endpoint, keepalive_seconds=0) as admin:
        admin.call(lambda c: c.content.sessionManager.TerminateSession([key]))
    generation = session.generation
    datacenters = session.call(lambda c: retrieve(c, "Datacenter", ["name"]))
    assert [d.props["name"] for d in datacenters] == ["DC0"]
    assert session.generation == generation + 1
    assert session.state.state is SessionState.CONNECTED


def test_concurrent_callers_log_in_again_once(
    session: VCenterSession, endpoint: VCenterEndpoint
) -> None:
    key = _session_key(session)
    with VCenterSession(endpoint, keepalive_seconds=0) as admin:
        admin.call(lambda c: c.content.sessionManager.TerminateSession([key]))
    generation = session.generation
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda _: session.call(lambda c: retrieve(c, "Datacenter", ["name"])), range(8)
            )
        )
    assert all(len(r) == 1 for r in results)
    assert session.generation == generation + 1


def test_pool_bounds_concurrency(endpoint: VCenterEndpoint) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def work(client: Client) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            time.sleep(0.05)
            return len(retrieve(client, "ClusterComputeResource", ["name"]))
        finally:
            with lock:
                active -= 1

    with VCenterSession(endpoint, pool_size=2, keepalive_seconds=0) as session:
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: session.call(work), range(6)))
        elapsed = time.monotonic() - started
    assert results == [2] * 6
    assert peak == 2
    assert elapsed >= 0.15  # three rounds of two


def test_expired_idle_session_logs_in_again(start_vcsim: StartVcsim) -> None:
    vcsim = start_vcsim(dataclasses.replace(SMALL, session_idle_timeout="500ms"))
    assert vcsim.endpoint is not None
    with VCenterSession(vcsim.endpoint, keepalive_seconds=0) as session:
        time.sleep(1.2)  # the simulator checks every timeout interval
        assert len(session.call(lambda c: retrieve(c, "Datacenter", ["name"]))) == 1
        assert session.generation == 2


def test_keepalive_keeps_an_idle_session(start_vcsim: StartVcsim) -> None:
    vcsim = start_vcsim(dataclasses.replace(SMALL, session_idle_timeout="1s"))
    assert vcsim.endpoint is not None
    with VCenterSession(vcsim.endpoint, keepalive_seconds=0.3) as session:
        time.sleep(2.2)
        assert len(session.call(lambda c: retrieve(c, "Datacenter", ["name"]))) == 1
        assert session.generation == 1


def test_lost_connection_non_idempotent_call_is_transient(start_vcsim: StartVcsim) -> None:
    vcsim = start_vcsim()
    assert vcsim.endpoint is not None
    with VCenterSession(vcsim.endpoint, keepalive_seconds=0, connect_timeout=2) as session:
        session.call(lambda c: retrieve(c, "Datacenter", ["name"]))
        vcsim.kill()
        with pytest.raises(TransientError, match="unreachable"):
            session.call(lambda c: retrieve(c, "Datacenter", ["name"]), idempotent=False)
        assert session.state.state is SessionState.DOWN
        # Callers arriving right after fail fast instead of each waiting for a connect.
        started = time.monotonic()
        with pytest.raises(TransientError):
            session.call(lambda c: retrieve(c, "Datacenter", ["name"]))
        assert time.monotonic() - started < 0.5


def test_a_request_never_sent_is_retried_even_when_not_idempotent(
    session: VCenterSession,
) -> None:
    attempts: list[int] = []

    def create_something(client: Client) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            # What a write on a keep-alive connection the server dropped while idle raises.
            raise BrokenPipeError(32, "Broken pipe")
        return len(retrieve(client, "Datacenter", ["name"]))

    assert session.call(create_something, idempotent=False) == 1
    assert len(attempts) == 2


def test_restarted_vcenter_is_transparent_to_callers(start_vcsim: StartVcsim) -> None:
    vcsim: EmbeddedVCenter = start_vcsim()
    assert vcsim.endpoint is not None
    with VCenterSession(vcsim.endpoint, keepalive_seconds=0) as session:
        session.call(lambda c: retrieve(c, "Datacenter", ["name"]))
        vcsim.restart()
        # Stale keep-alive connection, then NotAuthenticated: both handled inside call().
        assert len(session.call(lambda c: retrieve(c, "Datacenter", ["name"]))) == 1
        assert session.generation == 2
        assert session.state.state is SessionState.CONNECTED


def _wait_for_state(session: VCenterSession, state: SessionState, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while session.state.state is not state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_keepalive_notices_an_outage_and_recovers_without_callers(
    start_vcsim: StartVcsim,
) -> None:
    vcsim: EmbeddedVCenter = start_vcsim()
    assert vcsim.endpoint is not None
    states: list[SessionState] = []
    with VCenterSession(vcsim.endpoint, keepalive_seconds=0.2, connect_timeout=1) as session:
        session.add_listener(lambda health: states.append(health.state))
        vcsim.kill()
        assert _wait_for_state(session, SessionState.DOWN, 5)
        assert "unreachable" in (session.state.last_error or "")
        vcsim.start()
        assert _wait_for_state(session, SessionState.CONNECTED, 10)
        assert session.generation == 2  # the restarted simulator needed a new login
    assert SessionState.RECONNECTING in states
