"""Nova microversions: which one a request asked for, refused when outside what this serves,
and echoed on every answer (errors included), as Nova does.

A request names it with `OpenStack-API-Version: compute 2.x` or the older
`X-OpenStack-Nova-API-Version: 2.x`; none means the minimum, `latest` the maximum. Only the
versions whose every change is implemented are advertised: raising `MAX_VERSION` is a claim that
each step below it holds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp

from vistack.common import microversion as common
from vistack.common.microversion import Version as Version
from vistack.common.microversion import text as text
from vistack.compute.api.faults import render_nova_fault

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
SCOPE_KEY = "vistack.compute.microversion"
NOVA = common.Microversions(
    service="compute",
    aliases=("compute",),
    # Read per request (not bound now), so a raised MAX_VERSION takes effect at once.
    bounds=lambda: (MIN_VERSION, MAX_VERSION),
    render_fault=render_nova_fault,
    scope_key=SCOPE_KEY,
    legacy_header="X-OpenStack-Nova-API-Version",
    request_id_header="X-Compute-Request-Id",
)
requested = NOVA.requested


class MicroversionMiddleware(common.MicroversionMiddleware):
    """Nova's: parses the version once per request and stamps the answer with it (and with
    the request id under Nova's legacy `X-Compute-Request-Id`)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, NOVA)


async def request_version(request: Request) -> Version:
    major, minor = request.scope.get(SCOPE_KEY, MIN_VERSION)
    return Version(major, minor)


Microversion = Annotated[Version, Depends(request_version)]
#: The version of a request that names none.
V2_1 = Version(*MIN_VERSION)
