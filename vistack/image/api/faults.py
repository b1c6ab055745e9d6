"""Glance's error body, as webob renders it for a JSON client:
`{"code": "404 Not Found", "title": "Not Found", "message": "..."}`.

Glance has no JSON fault envelope of its own; its errors are webob HTTP exceptions, and the
clients (keystoneauth sends `Accept: application/json`) read `message` from that shape.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import Response

from vistack.common.web import JSONBody


def render_glance_fault(status: HTTPStatus, message: str) -> Response:
    body = {"code": f"{int(status)} {status.phrase}", "title": status.phrase, "message": message}
    headers = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Keystone uri="/identity"'
    return JSONBody(body, status_code=int(status), headers=headers)
