"""Kept-alive connections to the datastore file endpoint: a connection is reused while the
server keeps it open, a request on one the server closed while idle is sent again on a new one,
and a connection the server says it will close is never lent again."""

from __future__ import annotations

import http.client
import http.server
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from vistack.drivers.errors import TransientError
from vistack.vsphere.datastore_files import FileConnections


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Peer ports seen, one per request: a reused connection repeats its port.
    seen: list[int] = []
    close_after: bool = False
    drop_silently: bool = False

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        type(self).seen.append(self.client_address[1])
        self.send_response(201 if self.command == "PUT" else 200)
        self.send_header("Content-Length", "0")
        if type(self).close_after:
            self.send_header("Connection", "close")
        self.end_headers()
        if type(self).drop_silently:
            self.close_connection = True

    def log_message(self, *_args: object) -> None:
        return


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def server() -> Iterator[_Server]:
    _Handler.seen = []
    _Handler.close_after = False
    _Handler.drop_silently = False
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _files(server: _Server) -> FileConnections:
    host, port = server.server_address[:2]
    return FileConnections(http.client.HTTPConnection, (str(host), int(port)))


def test_a_kept_alive_connection_serves_the_next_request(server: _Server) -> None:
    files = _files(server)
    assert files.exchange("PUT", "/folder/a", {}, "writing a", b"x" * 10).status == 201
    assert files.exchange("HEAD", "/folder/a", {}, "asking about a").status == 200
    assert len(_Handler.seen) == 2 and _Handler.seen[0] == _Handler.seen[1]
    files.close()


def test_a_connection_closed_while_idle_is_replaced_once(server: _Server) -> None:
    _Handler.drop_silently = True  # the server hangs up after answering, saying nothing
    files = _files(server)
    files.exchange("HEAD", "/folder/a", {}, "asking about a")
    assert len(files._idle) == 1  # kept: nothing said it would close
    time.sleep(0.2)  # the server's side is gone now
    assert files.exchange("PUT", "/folder/b", {}, "writing b", b"y").status == 201
    assert len(_Handler.seen) == 2 and _Handler.seen[0] != _Handler.seen[1]
    files.close()


def test_a_connection_the_server_closes_is_not_kept(server: _Server) -> None:
    _Handler.close_after = True
    files = _files(server)
    files.exchange("HEAD", "/folder/a", {}, "asking about a")
    assert files._idle == []


def test_nothing_listening_is_a_transient_error() -> None:
    files = FileConnections(http.client.HTTPConnection, ("127.0.0.1", 9))
    with pytest.raises(TransientError, match="asking about a failed"):
        files.exchange("HEAD", "/folder/a", {}, "asking about a")
