"""Cinder microversions: `OpenStack-API-Version: volume 3.x` (or `block-storage 3.x`, or
`latest`), refused when outside what this serves, and echoed on every answer, errors included
(the parsing is `vistack.common.microversion`'s, shared with Nova).

Only 3.0 is served: each later microversion changes the API in ways (attachments API, group
types, in-use extend...) this service does not implement, and advertising one is a claim that
every step below it holds.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from vistack.common import microversion as common
from vistack.common.microversion import text as text
from vistack.volume.api.faults import render_cinder_fault

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 0)
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
