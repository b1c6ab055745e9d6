"""`POST /v2.1/os-server-external-events` (an administrator's or a service user's): Neutron's
and Cinder's callbacks. Each event is answered with its `code` (200 accepted, 404 no such
server, 422 a server on no cluster yet, 400 a required tag missing) and `status`; the answer
is 200 when all were accepted, else 207 (domain/external_events.py, which also says what an
accepted event does here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion
from vistack.compute.domain.small_apis import required

router = APIRouter()
JsonBody = Annotated[Any, Body()]


@router.post("/v2.1/os-server-external-events")
def create_external_events(
    services: Services, context: Context, version: Microversion, body: JsonBody = None
) -> Response:
    events = required(services.small_apis).external_events
    status, answers = events.deliver(context, body, version)
    return JSONBody({"events": answers}, status_code=status)
