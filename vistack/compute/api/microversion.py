"""Nova microversions: which one a request asked for, refused when outside what this serves,
and echoed on every answer (errors included), as Nova does.

A request names it with `OpenStack-API-Version: compute 2.x` or the older
`X-OpenStack-Nova-API-Version: 2.x`; none means the minimum, `latest` the maximum. Only the
versions whose every change is implemented are advertised: raising `MAX_VERSION` is a claim that
each step below it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vistack.compute.api.faults import render_nova_fault

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 92)
SCOPE_KEY = "vistack.compute.microversion"
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Version:
    """The microversion of one request; compare with `at_least("2.19")`."""

    major: int
    minor: int

    def at_least(self, version: str) -> bool:
        major, _, minor = version.partition(".")
        return (self.major, self.minor) >= (int(major), int(minor))

    def __str__(self) -> str:
        return text((self.major, self.minor))


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
            if service.lower() == "compute":
                raw = value.strip()
    if raw is None:
        raw = headers.get("x-openstack-nova-api-version")
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
    """Parses the version once per request and stamps the answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # Nova answers its request id under its own legacy name too (clients such as Tempest
        # read `x-compute-request-id`); it is the id RequestIdMiddleware gave the request.
        request_id = str((scope.get("state") or {}).get("request_id") or "")
        try:
            version = requested(headers)
        except VersionError as exc:
            version = MIN_VERSION
            response = render_nova_fault(exc.status, exc.message)
            response.headers.update(_stamp(version, request_id))
            await response(scope, receive, send)
            return
        scope[SCOPE_KEY] = version
        extra = [(k.encode(), v.encode()) for k, v in _stamp(version, request_id).items()]

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, stamped)


def _stamp(version: tuple[int, int], request_id: str = "") -> dict[str, str]:
    stamp = {
        "OpenStack-API-Version": f"compute {text(version)}",
        "X-OpenStack-Nova-API-Version": text(version),
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }
    if request_id:
        stamp["X-Compute-Request-Id"] = request_id
    return stamp


async def request_version(request: Request) -> Version:
    major, minor = request.scope.get(SCOPE_KEY, MIN_VERSION)
    return Version(major, minor)


Microversion = Annotated[Version, Depends(request_version)]
#: The version of a request that names none.
V2_1 = Version(*MIN_VERSION)
