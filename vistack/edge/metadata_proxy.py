"""The metadata proxy that runs inside one router or isolated network's namespace.

Instances send `http://169.254.169.254/...` to their router (or, on isolated networks, to the DHCP
port); this process answers there. It knows only which router or network it serves, so it adds
what the vistack side cannot see itself, the instance's address (`X-Forwarded-For`) and
`X-Neutron-Router-ID` / `X-Neutron-Network-ID`, and relays the request over a unix socket: a
filesystem socket is reachable from every namespace, so the relay in the vistack process needs no
address inside any tenant network. Headers an instance sends to impersonate another are dropped.

Run by the edge agent as
`ip netns exec <ns> python -m vistack.edge.metadata_proxy --daemon --listen 169.254.169.254:80
--socket <path> (--router-id ID | --network-id ID) --pid-file <path> --log-file <path>`. With
`--daemon` the listening socket is bound *before* the process detaches, so the agent's command
fails (with the reason in its stderr) when the address is missing, and instances' connections
queue in the backlog from the moment the agent's command returns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from vistack.edge import metadata_http as http

CONNECT_TIMEOUT = 5.0
# Longer than the relay's own upstream timeouts, so the relay's 504 reaches the instance first.
RESPONSE_TIMEOUT = 60.0
MAX_CLIENTS = 128

log = logging.getLogger("vistack.edge.metadata_proxy")


def forward_headers(
    headers: list[tuple[str, str]],
    instance_ip: str,
    router_id: str | None,
    network_id: str | None,
) -> list[tuple[str, str]]:
    """The instance's headers minus hop-by-hop and identity ones, plus the proxy's identity."""
    out = [(name, value) for name, value in headers if http.keep_header(name)]
    out.append(("X-Forwarded-For", instance_ip))
    if router_id is not None:
        out.append(("X-Neutron-Router-ID", router_id))
    if network_id is not None:
        out.append(("X-Neutron-Network-ID", network_id))
    return out


class Proxy:
    """Relays each instance connection (one request) to the unix socket of the relay."""

    def __init__(
        self, socket_path: str, router_id: str | None = None, network_id: str | None = None
    ) -> None:
        if (router_id is None) == (network_id is None):
            raise ValueError("a proxy serves exactly one router or one network")
        self.socket_path = socket_path
        self.router_id = router_id
        self.network_id = network_id
        self._clients = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients += 1
        try:
            if self._clients > MAX_CLIENTS:
                writer.write(http.error_response(503, "too many metadata requests at once"))
                return
            await self._relay(reader, writer)
        except Exception:  # one broken connection must never end the proxy
            log.exception("metadata request failed")
        finally:
            self._clients -= 1
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.drain(), 1.0)
            await http.close_quietly(writer)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        answered = False
        upstream: asyncio.StreamWriter | None = None
        try:
            instance_ip = str(ipaddress.ip_address(peer[0]))
            request = http.parse_request(await http.read_head(reader))
            length = request.content_length()
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_unix_connection(self.socket_path, limit=http.MAX_HEAD),
                    CONNECT_TIMEOUT,
                )
            except (OSError, TimeoutError) as exc:
                raise http.HttpError(502, f"metadata relay unavailable: {exc}") from exc
            upstream = up_writer
            headers = forward_headers(request.headers, instance_ip, self.router_id, self.network_id)
            up_writer.write(http.render_request(request, headers))
            await http.copy_exact(reader, up_writer, length)
            # The relay answers with a complete response and closes: pass it on byte for byte.
            first = await asyncio.wait_for(up_reader.read(http.CHUNK), RESPONSE_TIMEOUT)
            if not first:
                raise http.HttpError(502, "the metadata relay closed without answering")
            answered = True
            writer.write(first)
            await http.copy_until_eof(up_reader, writer, RESPONSE_TIMEOUT)
        except http.HttpError as exc:
            if not answered:
                writer.write(http.error_response(exc.status, exc.message))
        except TimeoutError:
            if not answered:
                writer.write(http.error_response(504, "the metadata relay did not answer in time"))
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("metadata request from %s aborted: %s", peer, exc)
            if not answered:
                writer.write(http.error_response(502, f"metadata relay connection failed: {exc}"))
        finally:
            if upstream is not None:
                await http.close_quietly(upstream)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PORT, got {value!r}")
    return str(ipaddress.IPv4Address(host)), int(port)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vistack.edge.metadata_proxy")
    parser.add_argument("--listen", type=parse_listen, default=("169.254.169.254", 80))
    parser.add_argument("--socket", required=True, help="the relay's unix socket")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--router-id")
    who.add_argument("--network-id")
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--log-file", type=Path)
    parser.add_argument("--daemon", action="store_true", help="detach once listening")
    return parser.parse_args(argv)


def _write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def _detach(log_file: Path | None) -> None:
    """Leave the caller's session and hand the standard streams to /dev/null and the log, so
    the agent's command (which waits for its pipes to close) returns."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log_file else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    for fd in {null, out}:
        os.close(fd)


async def serve(listener: socket.socket, proxy: Proxy) -> None:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(proxy.handle, sock=listener, limit=http.MAX_HEAD)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    proxy = Proxy(args.socket, router_id=args.router_id, network_id=args.network_id)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(args.listen)
        listener.listen(128)
    except OSError as exc:
        print(f"metadata proxy: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 1
    if args.daemon:
        child = os.fork()
        if child:
            _write_pid(args.pid_file, child)
            return 0
        _detach(args.log_file)
    else:
        _write_pid(args.pid_file, os.getpid())
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.info("serving %s:%d for %s", *args.listen, args.router_id or args.network_id)
    try:
        asyncio.run(serve(listener, proxy))
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(args.pid_file.read_text()) == os.getpid():
                args.pid_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
