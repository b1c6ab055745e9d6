"""`GET /v2.1/servers/{id}/diagnostics` (an administrator's): free-form before 2.48, Nova's
standard format from 2.48."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion
from vistack.compute.domain.subresources import required

router = APIRouter()


@router.get("/v2.1/servers/{server_id}/diagnostics")
def server_diagnostics(
    server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    diagnostics = required(services.subresources).diagnostics
    if version.at_least("2.48"):
        return JSONBody(diagnostics.standard(context, server_id))
    return JSONBody(diagnostics.legacy(context, server_id))
