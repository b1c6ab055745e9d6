"""Cinder microversions: `OpenStack-API-Version: volume 3.x` (or `block-storage 3.x`, or
`latest`), refused when outside what this serves, and echoed on every answer, errors included
(the parsing is `vistack.common.microversion`'s, shared with Nova).

3.0 to 3.70 are served: every step up to 3.70 is built and tested at its boundary
(docs/cinder-microversions.md). 3.71 (`os-extend_volume_completion`, Nova's callback after it
grew an attached disk's host side) is answered, but not advertised: vCenter grows attached disks
itself, so no volume here ever waits for that callback, and advertising it would invite Nova
deployments that rely on it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp

from vistack.common import microversion as common
from vistack.common.microversion import Version as Version
from vistack.common.microversion import text as text
from vistack.volume.api.faults import render_cinder_fault

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 70)
SCOPE_KEY = "vistack.volume.microversion"
CINDER = common.Microversions(
    service="volume",
    aliases=("volume", "block-storage"),
    bounds=lambda: (MIN_VERSION, MAX_VERSION),
    render_fault=render_cinder_fault,
    scope_key=SCOPE_KEY,
)
requested = CINDER.requested


class MicroversionMiddleware(common.MicroversionMiddleware):
    """Cinder's: parses the version once per request and stamps the answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, CINDER)


def version_of(request: Request) -> tuple[int, int]:
    """The request's microversion (3.0 when it names none): the one reading of it that views,
    route gates and handlers share."""
    version: tuple[int, int] = request.scope.get(SCOPE_KEY, MIN_VERSION)
    return version


async def request_version(request: Request) -> Version:
    """The request's microversion (3.0 when it names none), for handlers that gate on it."""
    return Version(*version_of(request))


Microversion = Annotated[Version, Depends(request_version)]
#: The version of a request that names none.
V3_0 = Version(*MIN_VERSION)
