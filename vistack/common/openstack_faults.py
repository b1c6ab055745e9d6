"""The fault body Nova and Cinder share (both come from the same OpenStack WSGI fault code):
`{"itemNotFound": {"code": 404, "message": ...}}`, the key named by the status.

Clients (novaclient, cinderclient, openstacksdk, Tempest) read the message from under whichever
single key the body has; the key itself is the services' name for the status, kept as they
spell it.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import Response

from vistack.common.web import JSONBody

FAULT_NAMES = {
    HTTPStatus.BAD_REQUEST: "badRequest",
    HTTPStatus.UNAUTHORIZED: "unauthorized",
    HTTPStatus.FORBIDDEN: "forbidden",
    HTTPStatus.NOT_FOUND: "itemNotFound",
    HTTPStatus.METHOD_NOT_ALLOWED: "badMethod",
    HTTPStatus.NOT_ACCEPTABLE: "notAcceptable",
    HTTPStatus.CONFLICT: "conflictingRequest",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "overLimit",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "badMediaType",
    HTTPStatus.TOO_MANY_REQUESTS: "overLimit",
    HTTPStatus.NOT_IMPLEMENTED: "notImplemented",
    HTTPStatus.SERVICE_UNAVAILABLE: "serviceUnavailable",
}


def render_named_fault(status: HTTPStatus, message: str) -> Response:
    """The fault for `status`; any status without a name is a `computeFault` (500s)."""
    name = FAULT_NAMES.get(status, "computeFault")
    headers = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Keystone uri="/identity"'
    body = {name: {"code": int(status), "message": message}}
    return JSONBody(body, status_code=int(status), headers=headers)
