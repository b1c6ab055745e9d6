"""Cinder microversions: `OpenStack-API-Version: volume 3.x` (or `latest`), refused when
outside what this serves, and echoed on every answer, errors included.

Only 3.0 is served: each later microversion changes the API in ways (attachments API, group
types, in-use extend...) this service does not implement, and advertising one is a claim that
every step below it holds.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vistack.volume.api.faults import render_cinder_fault

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 0)
SCOPE_KEY = "vistack.volume.microversion"
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


class VersionError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def requested(headers: dict[str, str]) -> tuple[int, int]:
    """The version the headers ask for (the minimum when none).

    :raises VersionError: malformed (400) or outside what this serves (406).
    """
    raw = None
    modern = headers.get("openstack-api-version")
    if modern is not None:
        for item in modern.split(","):
            service, _, value = item.strip().partition(" ")
            if service.lower() in ("volume", "block-storage"):
                raw = value.strip()
    if raw is None:
        return MIN_VERSION
    if raw.lower() == "latest":
        return MAX_VERSION
    match = _VERSION.match(raw)
    if match is None:
        raise VersionError(
            HTTPStatus.BAD_REQUEST,
            f"API Version String {raw} is of invalid format. Must be of format MajorNum.MinorNum.",
        )
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionError(
            HTTPStatus.NOT_ACCEPTABLE,
            f"Version {raw} is not supported by the API. Minimum is {text(MIN_VERSION)} and "
            f"maximum is {text(MAX_VERSION)}.",
        )
    return version


class MicroversionMiddleware:
    """Parses the version once per request (only for `/v3` paths) and stamps the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            version = requested(headers)
        except VersionError as exc:
            response = render_cinder_fault(exc.status, exc.message)
            response.headers.update(_stamp(MIN_VERSION))
            await response(scope, receive, send)
            return
        scope[SCOPE_KEY] = version
        extra = [(k.encode(), v.encode()) for k, v in _stamp(version).items()]

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, stamped)


def _stamp(version: tuple[int, int]) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {text(version)}", "Vary": "OpenStack-API-Version"}
