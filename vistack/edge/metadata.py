"""The host side of the metadata path: `MetadataRelay`, a thread in the vistack process.

The namespace proxies (`metadata_proxy`) connect to its unix socket with one request each, carrying
`X-Forwarded-For` (the instance's address) and `X-Neutron-Router-ID` or `X-Neutron-Network-ID`.
The relay asks the Neutron service which instance that is (`resolve`), and forwards the request to
the compute metadata server with the headers Nova's metadata API trusts: `X-Instance-ID`,
`X-Tenant-ID`, `X-Forwarded-For` and `X-Instance-ID-Signature`, the HMAC-SHA256 of the instance id
under the shared secret, which proves the request passed through this relay. The answer is
streamed back unchanged (apart from `Connection: close`).

Only processes that can open the socket (root: it is created mode 0600) can talk to the relay, and
the proxies remove identity headers sent by instances, so the relay trusts the identity headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vistack.edge import metadata_http as http
from vistack.edge.errors import EdgeError

log = logging.getLogger("vistack.edge.metadata")

# sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class MetadataTarget:
    """The instance behind a metadata request: Nova's instance id and its project."""

    instance_id: str
    project_id: str


class Resolver(Protocol):
    """Which instance has `ip` behind router `router_id` (or on network `network_id`)?

    Exactly one of the ids is given. Called from a worker thread, so it may query the database.
    """

    def __call__(
        self, ip: str, router_id: str | None = None, network_id: str | None = None
    ) -> MetadataTarget | None: ...


def check_socket_path(path: Path) -> Path:
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise EdgeError(f"unix socket path {path} is longer than {MAX_SOCKET_PATH} bytes")
    return path


def sign(shared_secret: str, instance_id: str) -> str:
    """`X-Instance-ID-Signature`: what Nova recomputes to trust `X-Instance-ID`."""
    return hmac.new(shared_secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Origin:
    """Where a proxied request came from, as the proxy stated it."""

    ip: str
    router_id: str | None
    network_id: str | None

    def describe(self) -> str:
        if self.router_id is not None:
            return f"behind router {self.router_id}"
        return f"on network {self.network_id}"


def identify(request: http.Request) -> Origin:
    """Read and validate the identity headers the namespace proxy added."""
    forwarded = request.get("x-forwarded-for")
    try:
        ip = str(ipaddress.ip_address((forwarded or "").strip()))
    except ValueError as exc:
        raise http.HttpError(400, "missing or invalid X-Forwarded-For") from exc
    router_id = request.get("x-neutron-router-id")
    network_id = request.get("x-neutron-network-id")
    if (router_id is None) == (network_id is None):
        raise http.HttpError(
            400, "exactly one of X-Neutron-Router-ID and X-Neutron-Network-ID is required"
        )
    return Origin(ip, router_id, network_id)


def upstream_headers(
    headers: list[tuple[str, str]],
    origin: Origin,
    target: MetadataTarget,
    shared_secret: str,
    host: str,
) -> list[tuple[str, str]]:
    """The headers sent to the metadata server: the client's own (without hop-by-hop, identity
    and Host), the upstream's Host, then the identity Nova checks."""
    out = [(k, v) for k, v in headers if http.keep_header(k) and k.lower() != "host"]
    return [
        ("Host", host),
        *out,
        ("X-Forwarded-For", origin.ip),
        ("X-Instance-ID", target.instance_id),
        ("X-Tenant-ID", target.project_id),
        ("X-Instance-ID-Signature", sign(shared_secret, target.instance_id)),
    ]


def response_head(head: bytes) -> bytes:
    """The upstream's status line and headers with the connection ones replaced by `close`."""
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.") or len(lines[0].split(" ")) < 2:
        raise http.HttpError(502, "the metadata server sent an invalid response")
    kept = [lines[0]]
    for line in lines[1:]:
        name = line.partition(":")[0].strip().lower()
        if line and name not in ("connection", "keep-alive", "proxy-connection"):
            kept.append(line)
    return ("\r\n".join([*kept, "Connection: close", "", ""])).encode("latin-1")


class MetadataRelay:
    """Serves the proxies' unix socket from a background thread (`start` / `stop`)."""

    def __init__(
        self,
        socket_path: Path,
        upstream_url: str,
        resolve: Resolver,
        shared_secret: str,
        *,
        connect_timeout: float = 5.0,
        response_timeout: float = 25.0,
    ) -> None:
        self.socket_path = check_socket_path(Path(socket_path))
        url = urllib.parse.urlsplit(upstream_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise EdgeError(f"metadata upstream must be an http(s) URL, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._netloc = url.netloc
        self._prefix = url.path.rstrip("/")
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        self.resolve = resolve
        self.shared_secret = shared_secret
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on the socket; returns once connections are accepted (raises if it cannot)."""
        if self._thread is not None:
            raise EdgeError("metadata relay already started")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="metadata-relay", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None or not self._ready.is_set():
            self._thread.join(5)
            self._thread = None
            raise EdgeError(f"metadata relay did not start: {self._error}")

    def stop(self) -> None:
        """Close the socket, end in-flight requests and join the thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> MetadataRelay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            with contextlib.suppress(RuntimeError):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            self._loop = None

    def _listen(self) -> socket.socket:
        path = self.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # left behind by a relay that is gone
            else:
                raise EdgeError(f"another process already serves {path}")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            # Before listen(): no connection can be accepted while the mode is still open.
            os.chmod(path, 0o600)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_unix_server(
            self._handle, sock=self._listen(), limit=http.MAX_HEAD
        )
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    # -- one request --------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = False
        upstream: asyncio.StreamWriter | None = None
        try:
            request = http.parse_request(await http.read_head(reader))
            length = request.content_length()
            origin = identify(request)
            target = await self._resolve(origin)
            up_reader, upstream = await self._connect()
            headers = upstream_headers(
                request.headers, origin, target, self.shared_secret, self._netloc
            )
            request.target = self._prefix + request.target
            upstream.write(http.render_request(request, headers))
            await http.copy_exact(reader, upstream, length)
            head = await self._response_head(up_reader)
            writer.write(response_head(head))
            answered = True
            await http.copy_until_eof(up_reader, writer, self.response_timeout)
        except http.HttpError as exc:
            if exc.status >= 500:
                log.warning("metadata request failed: %s", exc.message)
            if not answered:
                writer.write(http.error_response(exc.status, exc.message))
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning("metadata response aborted: %r", exc)
        except Exception:
            log.exception("metadata relay error")
            if not answered:
                writer.write(http.error_response(500, "metadata relay error"))
        finally:
            if upstream is not None:
                await http.close_quietly(upstream)
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.drain(), 1.0)
            await http.close_quietly(writer)

    async def _resolve(self, origin: Origin) -> MetadataTarget:
        call = functools.partial(
            self.resolve, origin.ip, router_id=origin.router_id, network_id=origin.network_id
        )
        try:
            target = await asyncio.get_running_loop().run_in_executor(None, call)
        except Exception as exc:
            log.exception("metadata lookup of %s %s failed", origin.ip, origin.describe())
            raise http.HttpError(500, "metadata lookup failed") from exc
        if target is None:
            raise http.HttpError(404, f"no instance with address {origin.ip} {origin.describe()}")
        return target

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        where = f"metadata server {self.upstream_url}"
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                    limit=http.MAX_HEAD,
                ),
                self.connect_timeout,
            )
        except TimeoutError as exc:
            raise http.HttpError(504, f"{where} did not accept the connection in time") from exc
        except OSError as exc:
            raise http.HttpError(502, f"{where} is unreachable: {exc.strerror or exc}") from exc

    async def _response_head(self, reader: asyncio.StreamReader) -> bytes:
        where = f"metadata server {self.upstream_url}"
        try:
            return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.response_timeout)
        except TimeoutError as exc:
            raise http.HttpError(504, f"{where} did not answer in time") from exc
        except asyncio.LimitOverrunError as exc:
            raise http.HttpError(502, f"{where} sent an oversized response head") from exc
        except (asyncio.IncompleteReadError, OSError) as exc:
            raise http.HttpError(502, f"{where} closed the connection without answering") from exc
