"""Neutron's fault body: `{"NeutronError": {"type": ..., "message": ..., "detail": ""}}`.

`type` is the Neutron exception name clients match on; the domain's errors carry it as `kind`,
and anything else (authentication, validation, unknown paths) gets the webob-style name
Neutron itself uses for a bare HTTP error.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from starlette.responses import Response

from vistack.common.errors import Forbidden, VistackError
from vistack.common.web import JSONBody

DEFAULT_TYPES = {
    HTTPStatus.BAD_REQUEST: "HTTPBadRequest",
    HTTPStatus.UNAUTHORIZED: "HTTPUnauthorized",
    HTTPStatus.FORBIDDEN: "PolicyNotAuthorized",
    HTTPStatus.NOT_FOUND: "HTTPNotFound",
    HTTPStatus.METHOD_NOT_ALLOWED: "HTTPMethodNotAllowed",
    HTTPStatus.CONFLICT: "HTTPConflict",
    HTTPStatus.NOT_IMPLEMENTED: "HTTPNotImplemented",
    HTTPStatus.SERVICE_UNAVAILABLE: "HTTPServiceUnavailable",
}


def neutron_fault(status: HTTPStatus, message: str, kind: str | None = None) -> Response:
    body = {
        "NeutronError": {
            "type": kind or DEFAULT_TYPES.get(status, "HTTPInternalServerError"),
            "message": message,
            "detail": "",
        }
    }
    headers = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Keystone uri="/identity"'
    return JSONBody(body, status_code=int(status), headers=headers)


def render_neutron_fault(status: HTTPStatus, message: str) -> Response:
    return neutron_fault(status, message)


def install_typed_faults(app: FastAPI) -> None:
    """Replace the generic VistackError handler with one that keeps the Neutron type."""

    async def on_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VistackError)
        kind = getattr(exc, "kind", None)
        if kind is None and isinstance(exc, Forbidden):
            kind = "PolicyNotAuthorized"
        return neutron_fault(exc.status, exc.message, kind)

    app.add_exception_handler(VistackError, on_error)
