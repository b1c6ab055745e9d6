"""The request context a background job acts with, carried in the job's payload.

A job may run in another process (the bus carries JSON), so the context travels as its fields.
A job resumed after a restart has no request behind it: it acts as the server's owner.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from dataclasses import asdict
from typing import Any

from vistack.common.context import RequestContext


def context_payload(context: RequestContext) -> dict[str, Any]:
    fields = asdict(context)
    for key in ("roles", "auth_methods", "audit_ids"):
        fields[key] = list(fields[key])
    return fields


def context_of(payload: dict[str, Any]) -> RequestContext:
    fields = dict(payload)
    for key in ("roles", "auth_methods", "audit_ids"):
        fields[key] = tuple(fields.get(key, ()))
    return RequestContext(**fields)


def owner_context(project_id: str, user_id: str) -> RequestContext:
    """The server owner's standing (a member of its project): what a resumed job acts as."""
    return RequestContext(
        request_id=f"req-{uuid.uuid4()}",
        user_id=user_id,
        project_id=project_id,
        roles=("member", "reader"),
    )


def service_context(project_id: str) -> RequestContext:
    """Nova's own standing towards Neutron (an admin, as Nova's service user is): for what only
    the compute service may set on a port, its binding to a compute host."""
    return RequestContext(
        request_id=f"req-{uuid.uuid4()}",
        user_id="nova",
        project_id=project_id,
        roles=("admin", "member", "reader"),
    )


class ServerLocks:
    """One lock per server (striped): a server's build, delete and power jobs never overlap in
    this process, so a delete waits for the build it interrupts instead of racing it."""

    STRIPES = 64

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    def of(self, server_id: str) -> threading.Lock:
        return self._locks[zlib.crc32(server_id.encode()) % self.STRIPES]
