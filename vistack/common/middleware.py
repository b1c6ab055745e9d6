"""Pure ASGI middleware shared by every service: request ids and the access log.

Written against raw ASGI rather than Starlette's BaseHTTPMiddleware because that one copies every
body through an extra task, which costs more than the token validation on the hot path.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-openstack-request-id"
ACCESS_LOG = logging.getLogger("vistack.access")


def new_request_id() -> str:
    """An OpenStack-style request id: `req-` followed by a UUID4."""
    return f"req-{uuid.uuid4()}"


class RequestIdMiddleware:
    """Give every request an id (kept in `scope['state']`) and echo it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        header_value = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, header_value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class AccessLogMiddleware:
    """One line per request: method, path, status, bytes, duration and request id.

    The query string is logged but headers and bodies never are, so neither passwords nor
    tokens (which only travel in headers and bodies) can reach a log line.
    """

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = [500]
        size: list[int] = [0]

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                size[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            _log_access(scope, status[0], size[0], time.perf_counter() - started)


def _log_access(scope: Scope, status: int, size: int, seconds: float) -> None:
    if not ACCESS_LOG.isEnabledFor(logging.INFO):
        return
    query = scope.get("query_string", b"")
    path = scope.get("path", "")
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    client: Any = scope.get("client") or ("-", 0)
    request_id = scope.get("state", {}).get("request_id", "-")
    ACCESS_LOG.info(
        '%s "%s %s" status: %d len: %d time: %.4f [%s]',
        client[0],
        scope.get("method", "-"),
        path,
        status,
        size,
        seconds,
        request_id,
    )


class MountRootMiddleware:
    """Serve a mounted service's bare root (`/identity`) as its root (`/identity/`).

    Clients take the catalog URL without a trailing slash and GET it for version discovery; a
    307 redirect there costs every client a round trip, and some do not follow it for POSTs.
    """

    def __init__(self, app: ASGIApp, prefixes: list[str]) -> None:
        self.app = app
        self.prefixes = set(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in self.prefixes:
            scope = {**scope, "path": scope["path"] + "/", "raw_path": None}
        await self.app(scope, receive, send)
