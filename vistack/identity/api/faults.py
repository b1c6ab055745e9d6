"""Keystone's native error body: `{"error": {"code": 404, "message": "...", "title": "..."}}`."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import Response

from vistack.common.web import JSONBody

TITLES = {
    HTTPStatus.BAD_REQUEST: "Bad Request",
    HTTPStatus.UNAUTHORIZED: "Unauthorized",
    HTTPStatus.FORBIDDEN: "Forbidden",
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.METHOD_NOT_ALLOWED: "Method Not Allowed",
    HTTPStatus.CONFLICT: "Conflict",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Request Entity Too Large",
    HTTPStatus.NOT_IMPLEMENTED: "Not Implemented",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal Server Error",
    HTTPStatus.SERVICE_UNAVAILABLE: "Service Unavailable",
}


def render_keystone_fault(status: HTTPStatus, message: str) -> Response:
    body = {
        "error": {
            "code": int(status),
            "message": message,
            "title": TITLES.get(status, status.phrase),
        }
    }
    headers = {}
    if status == HTTPStatus.UNAUTHORIZED:
        # keystoneauth reads this to know where to authenticate.
        headers["WWW-Authenticate"] = 'Keystone uri="/identity"'
    return JSONBody(body, status_code=int(status), headers=headers)
