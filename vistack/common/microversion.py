"""OpenStack microversions, for any service that has them: which one a request asked for,
refused when outside what the service serves, and echoed on every answer (errors included).

Nova and Cinder read the same header the same way (`OpenStack-API-Version: compute 2.53`,
`OpenStack-API-Version: volume 3.0`; none means the minimum, `latest` the maximum) and differ
only in the names they answer to, an older header of their own (Nova's
`X-OpenStack-Nova-API-Version`), their range and their fault format: those are a
`Microversions`' fields, and each service's `api/microversion.py` holds its own.

The range is read on every request rather than fixed at start: each service keeps its bounds as
module constants that tests raise for themselves, and a raised bound must take effect at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Pair = tuple[int, int]
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def text(version: Pair) -> str:
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


@dataclass(frozen=True)
class Microversions:
    """One service's microversion rules."""

    #: The name the answer carries in `OpenStack-API-Version` (`compute`, `volume`).
    service: str
    #: Every name a request may use for this service in `OpenStack-API-Version`.
    aliases: tuple[str, ...]
    #: `(minimum, maximum)`, asked for on each request.
    bounds: Callable[[], tuple[Pair, Pair]]
    #: The service's fault body for a refused version.
    render_fault: Callable[[HTTPStatus, str], Response]
    #: Where the parsed version is left in the ASGI scope for the handlers.
    scope_key: str
    #: The service's own older header, read when the standard one does not name it and echoed.
    legacy_header: str | None = None
    #: A header the service also answers the request id under (Nova's `X-Compute-Request-Id`).
    request_id_header: str | None = None

    def requested(self, headers: dict[str, str]) -> Pair:
        """The version the (lower-cased) headers ask for (the minimum when none).

        :raises VersionError: malformed (400) or outside what this serves (406).
        """
        low, high = self.bounds()
        raw = None
        modern = headers.get("openstack-api-version")
        if modern is not None:
            for item in modern.split(","):
                service, _, value = item.strip().partition(" ")
                if service.lower() in self.aliases:
                    raw = value.strip()
        if raw is None and self.legacy_header is not None:
            raw = headers.get(self.legacy_header.lower())
        if raw is None:
            return low
        if raw.lower() == "latest":
            return high
        match = _VERSION.match(raw)
        if match is None:
            raise VersionError(
                HTTPStatus.BAD_REQUEST,
                f"API Version String {raw} is of invalid format. Must be of format "
                "MajorNum.MinorNum.",
            )
        version = (int(match.group(1)), int(match.group(2)))
        if not low <= version <= high:
            raise VersionError(
                HTTPStatus.NOT_ACCEPTABLE,
                f"Version {raw} is not supported by the API. Minimum is {text(low)} and "
                f"maximum is {text(high)}.",
            )
        return version

    def stamp(self, version: Pair, request_id: str = "") -> dict[str, str]:
        """The headers every answer carries."""
        names = ["OpenStack-API-Version"]
        stamp = {"OpenStack-API-Version": f"{self.service} {text(version)}"}
        if self.legacy_header is not None:
            names.append(self.legacy_header)
            stamp[self.legacy_header] = text(version)
        stamp["Vary"] = ", ".join(names)
        if request_id and self.request_id_header is not None:
            stamp[self.request_id_header] = request_id
        return stamp


class MicroversionMiddleware:
    """Parses the version once per request and stamps the answer with it."""

    def __init__(self, app: ASGIApp, rules: Microversions) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rules = self.rules
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # The id RequestIdMiddleware gave the request, for a service that also answers it under
        # a legacy name of its own (clients such as Tempest read `x-compute-request-id`).
        request_id = str((scope.get("state") or {}).get("request_id") or "")
        try:
            version = rules.requested(headers)
        except VersionError as exc:
            response = rules.render_fault(exc.status, exc.message)
            response.headers.update(rules.stamp(rules.bounds()[0], request_id))
            await response(scope, receive, send)
            return
        scope[rules.scope_key] = version
        extra = [(k.encode(), v.encode()) for k, v in rules.stamp(version, request_id).items()]

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, stamped)
