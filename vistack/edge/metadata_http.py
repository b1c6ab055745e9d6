"""The little HTTP/1.1 the metadata path needs: read a request head, stream bodies, answer errors.

Both hops of the metadata path (the namespace proxy, and the relay in the vistack process) handle
one request per connection and close it afterwards, so a response body is simply "everything until
the peer closes" and no keep-alive bookkeeping is needed. Request bodies must carry a
Content-Length (cloud-init's password POST does); chunked uploads are refused with 411 rather than
parsed, which keeps this module small. Everything has a timeout: a silent instance or upstream
cannot hold a connection (or a proxy's file descriptors) forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
CHUNK = 64 * 1024

# Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the framing ones the
# relays set themselves.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Headers that carry the identity the relay trusts: only the proxy and the relay set them, so any
# copy an instance sends is removed before its own are added (an instance must not pick whose
# metadata it reads).
IDENTITY_PREFIXES = (
    "x-forwarded-for",
    "x-neutron-",
    "x-instance-id",
    "x-tenant-id",
    "forwarded",
    "x-real-ip",
)


def keep_header(name: str) -> bool:
    """Whether a client header travels to the next hop: not hop-by-hop, not identity."""
    lowered = name.lower()
    return lowered not in HOP_BY_HOP and not lowered.startswith(IDENTITY_PREFIXES)


REASONS = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class HttpError(Exception):
    """A request this hop answers itself with `status` and a one-line plain-text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found

    def content_length(self) -> int:
        """The body length; refuses chunked or malformed framing (411/400)."""
        if self.get("transfer-encoding") is not None:
            raise HttpError(411, "chunked request bodies are not supported; send Content-Length")
        values = {v.strip() for k, v in self.headers if k.lower() == "content-length"}
        if not values:
            return 0
        if len(values) != 1 or not (raw := values.pop()).isdigit():
            raise HttpError(400, "invalid Content-Length")
        return int(raw)


def _token(value: str) -> bool:
    return bool(value) and all(33 <= ord(c) < 127 and c not in '()<>@,;:\\"/[]?={}' for c in value)


def parse_request(head: bytes) -> Request:
    """Parse a request head (request line + headers, up to the blank line)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _token(parts[0]) or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not target.startswith("/") or any(ord(c) <= 32 or ord(c) == 127 for c in target):
        raise HttpError(400, "only origin-form request targets are accepted")
    request = Request(method, target, version)
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not _token(name):
            raise HttpError(400, "malformed header line")
        if "\r" in value or "\n" in value:
            raise HttpError(400, "malformed header value")
        request.headers.append((name, value.strip(" \t")))
        if len(request.headers) > MAX_HEADERS:
            raise HttpError(431, "too many header fields")
    return request


async def read_head(reader: asyncio.StreamReader, timeout: float = HEAD_TIMEOUT) -> bytes:
    """Read up to and including the blank line ending a message head.

    The stream's limit (set when the server or connection is created) bounds the head size.
    """
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except TimeoutError as exc:
        raise HttpError(408, "timed out reading the request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError(431, "request head too large") from exc
    except asyncio.IncompleteReadError as exc:
        raise HttpError(400, "connection closed inside the request head") from exc
    return head[:-4]


def render_request(request: Request, headers: list[tuple[str, str]]) -> bytes:
    """The head to send to the next hop: always HTTP/1.1 with `Connection: close`."""
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def error_response(status: int, message: str) -> bytes:
    body = (message.rstrip("\n") + "\n").encode("utf-8", "replace")
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def copy_exact(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    length: int,
    timeout: float = IDLE_TIMEOUT,
) -> None:
    """Stream exactly `length` bytes (a request body); a short or stalled body is an error."""
    remaining = length
    while remaining > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(min(CHUNK, remaining)), timeout)
        except TimeoutError as exc:
            raise HttpError(408, "timed out reading the request body") from exc
        if not chunk:
            raise HttpError(400, "connection closed inside the request body")
        writer.write(chunk)
        await asyncio.wait_for(writer.drain(), timeout)
        remaining -= len(chunk)


async def copy_until_eof(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    timeout: float = IDLE_TIMEOUT,
) -> int:
    """Stream until the sender closes (a response); returns the bytes copied.

    A stall longer than `timeout` raises TimeoutError.
    """
    total = 0
    while True:
        chunk = await asyncio.wait_for(reader.read(CHUNK), timeout)
        if not chunk:
            return total
        writer.write(chunk)
        await asyncio.wait_for(writer.drain(), timeout)
        total += len(chunk)


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    """Close a connection whose peer may already be gone."""
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
