"""The metadata HTTP app: Nova's `nova-api-metadata` behind Neutron's metadata proxy.

Every request but the root names its instance the way Nova's proxy path does: `X-Instance-ID`,
`X-Tenant-ID` and `X-Instance-ID-Signature` (HMAC-SHA256 of the instance id under the shared
secret the edge relay signs with). Nova's answers, plain text:

- root `/`: the EC2 versions, to anyone (as Nova's handler answers it before any lookup);
- a missing header: 400; a bad signature: 403 `Invalid proxy request signature.`;
- an unknown instance, or one of another project than `X-Tenant-ID`: 404;
- a path the instance has no item at: 404.

Nothing is cached: each request reads the instance afresh (`InstanceFactsSource`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import posixpath
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vistack.compute.domain.instance_facts import InstanceFactsSource
from vistack.compute.domain.instance_metadata import (
    EC2_VERSIONS,
    GRIZZLY,
    OPENSTACK_VERSIONS,
    PASSWORD,
    MetadataNotFound,
    lookup,
)

LOG = logging.getLogger(__name__)

#: The most a guest may store as its password (Nova's `MAX_SIZE`).
MAX_PASSWORD = 256


def _error(status: int, explanation: str) -> Response:
    """webob's plain-text error page, which Nova's metadata API answers with."""
    phrase = HTTPStatus(status).phrase
    return Response(f"{status} {phrase}\n\n{explanation}\n\n   ", status, media_type="text/plain")


def _not_found() -> Response:
    return _error(404, "The resource could not be found.")


def signature(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def _password_path(tokens: list[str]) -> bool:
    """Whether `tokens` name `/openstack/<version>/password` of a version that has it."""
    if len(tokens) != 3 or tokens[0] != "openstack" or tokens[2] != PASSWORD:
        return False
    version = OPENSTACK_VERSIONS[-1] if tokens[1] == "latest" else tokens[1]
    return version in OPENSTACK_VERSIONS and version >= GRIZZLY


def build_metadata_app(source: InstanceFactsSource | None, shared_secret: str) -> Starlette:
    """The app to mount at `/metadata`; without a compute backend (`source` None) every
    instance is unknown."""

    async def endpoint(request: Request) -> Response:
        # The body is read here (a password POST), the database work in a worker thread.
        body = await request.body() if request.method == "POST" else b""
        return await run_in_threadpool(answer, request, body)

    def answer(request: Request, body: bytes) -> Response:
        path = request.path_params.get("path", "")
        normal = posixpath.normpath("/" + path)
        if normal == "/":
            return Response("\n".join([*EC2_VERSIONS, "latest"]), media_type="text/plain")
        instance_ids = request.headers.getlist("x-instance-id")
        tenant_id = request.headers.get("x-tenant-id")
        if not instance_ids:
            return _error(400, "X-Instance-ID header is missing from request.")
        if tenant_id is None:
            return _error(400, "X-Tenant-ID header is missing from request.")
        if len(instance_ids) > 1:
            return _error(400, "Multiple X-Instance-ID headers found within request.")
        instance_id = instance_ids[0]
        expected = signature(shared_secret, instance_id)
        given = request.headers.get("x-instance-id-signature", "")
        if not hmac.compare_digest(expected, given):
            LOG.warning("X-Instance-ID-Signature for instance %s is wrong", instance_id)
            return _error(403, "Invalid proxy request signature.")
        facts = source.facts(instance_id) if source is not None else None
        if facts is None:
            LOG.info("metadata asked for instance %s, which does not exist", instance_id)
            return _not_found()
        if facts.project_id != tenant_id:
            LOG.warning(
                "Tenant_id %s does not match tenant_id of instance %s.", tenant_id, instance_id
            )
            return _not_found()
        tokens = [t for t in normal.split("/") if t]
        if request.method == "POST" and _password_path(tokens):
            return _store_password(request, body, instance_id, facts.password, source)
        try:
            found = lookup(facts, normal)
        except MetadataNotFound:
            return _not_found()
        return Response(found.body, media_type=found.content_type)

    return Starlette(
        routes=[Route("/{path:path}", endpoint, methods=["GET", "HEAD", "POST"])],
    )


def _store_password(
    request: Request,
    body: bytes,
    instance_id: str,
    current: str,
    source: InstanceFactsSource | None,
) -> Response:
    """Nova's `handle_password` POST: once, at most 256 bytes."""
    if current:
        return _error(409, "There was a conflict when trying to complete your request.")
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_PASSWORD or len(body) > MAX_PASSWORD:
        return _error(400, "Request is too large.")
    if source is None or not source.set_password(instance_id, body.decode("utf-8", "replace")):
        return _error(409, "There was a conflict when trying to complete your request.")
    return Response(b"", media_type="text/plain")
