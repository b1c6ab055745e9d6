"""The plain-http transport's read timeout (kernel socket timeouts, see transport.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from vistack.vsphere.transport import _HTTPConnection


def test_a_silent_server_times_out_as_an_os_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    connection = _HTTPConnection("127.0.0.1", port, connect_timeout=5, read_timeout=0.3)
    started = time.monotonic()
    connection.request("POST", "/sdk", body=b"<x/>")
    with pytest.raises(OSError):
        connection.getresponse()
    assert time.monotonic() - started < 3
    connection.close()
    for sock in accepted:
        sock.close()
    listener.close()
