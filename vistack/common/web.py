"""FastAPI glue every service's API layer uses: fault rendering, request context, JSON replies.

Each service mounts its own FastAPI sub-application and passes its own fault renderer to
`install_error_handlers`, so one exception → HTTP table (`vistack.common.errors`) yields each
service's native error body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vistack.common.context import ApiCall, RequestContext
from vistack.common.errors import Unauthorized, VistackError

LOG = logging.getLogger(__name__)
AUTH_TOKEN_HEADER = "x-auth-token"

#: (status, message) → response in the service's native format.
FaultRenderer = Callable[[HTTPStatus, str], Response]


class Authenticator(Protocol):
    """Turns an `X-Auth-Token` into a context; implemented by the identity service.

    `call` is what the request asks for: a token from an application credential with access
    rules may only make the calls its rules allow.
    """

    def context_for(self, token: str, request_id: str, call: ApiCall) -> RequestContext:
        """:raises Unauthorized: the token is not valid.
        :raises Forbidden: the token's access rules do not allow `call`.
        """

    def context_from_memory(
        self, token: str, request_id: str, call: ApiCall
    ) -> RequestContext | None:
        """The context if it can be had without I/O, else None.

        :raises Unauthorized: the token is not valid.
        :raises Forbidden: the token's access rules do not allow `call`.
        """


class JSONBody(Response):
    """A compact JSON response (no spaces: clients do not care, the wire does)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def service_url(request: Request, *parts: str) -> str:
    """Absolute URL under the service this request reached (its mount path included)."""
    state = request.scope.setdefault("state", {})
    base = state.get("service_base_url")
    if base is None:
        # Computed once per request: a list renders a link per item.
        url = request.url
        base = f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}".rstrip("/")
        state["service_base_url"] = base
    return "/".join([base, *parts])


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "req-unknown"))


def anonymous_context(request: Request) -> RequestContext:
    return RequestContext(request_id=request_id(request))


def api_call(request: Request) -> ApiCall:
    """This request as access rules see it: the mounted service's type (`app.state.service_type`,
    set by each service's sub-application), the method and the path under the service's mount.
    """
    path: str = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    service_type = getattr(request.app.state, "service_type", None)
    return ApiCall(service_type, request.method, path)


async def authenticated_context(request: Request) -> RequestContext:
    """FastAPI dependency: the caller of this request, or 401 (403 when the token comes from an
    application credential whose access rules do not allow this call).

    Async on purpose: a cached token is validated on the event loop; only a cache miss (which
    reads the database) goes to a worker thread.
    """
    token = request.headers.get(AUTH_TOKEN_HEADER)
    if not token:
        raise Unauthorized("The request you have made requires authentication.")
    authenticator: Authenticator = request.app.state.authenticator
    call = api_call(request)
    context = authenticator.context_from_memory(token, request_id(request), call)
    if context is None:
        context = await run_in_threadpool(
            authenticator.context_for, token, request_id(request), call
        )
    return context


def validation_message(error: RequestValidationError) -> str:
    """A sentence a person can act on from pydantic's error list."""
    parts: list[str] = []
    for item in error.errors()[:5]:
        location = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        kind = item.get("type", "")
        if kind == "json_invalid":
            return "Malformed request body: it is not valid JSON."
        if kind == "extra_forbidden":
            parts.append(f"Additional properties are not allowed ({location!r} was unexpected)")
        elif location:
            parts.append(f"Invalid input for field {location!r}: {item.get('msg', 'invalid')}")
        else:
            parts.append(str(item.get("msg", "invalid request")))
    return "; ".join(parts) or "Invalid request body."


def install_error_handlers(app: FastAPI, render: FaultRenderer) -> None:
    """Route every failure of `app` through `render`, the service's native fault format."""

    async def on_vistack_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VistackError)
        return render(exc.status, exc.message)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(HTTPStatus.BAD_REQUEST, validation_message(exc))

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = HTTPStatus(exc.status_code)
        message = "The resource could not be found." if status == 404 else str(exc.detail)
        response = render(status, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        LOG.exception(
            "unexpected error serving %s %s [%s]",
            request.method,
            request.url.path,
            request_id(request),
        )
        return render(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "An unexpected error prevented the server from fulfilling your request.",
        )

    app.add_exception_handler(VistackError, on_vistack_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
