"""`GET /v3/{project_id}/volumes/summary` (3.12; `metadata` from 3.36). Its router is listed
before `volumes`' in `app.ROUTERS`, so that `summary` is not taken for a volume id by
`/v3/volumes/{volume_id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.volume.api import gates
from vistack.volume.api.deps import Context, Services
from vistack.volume.domain.summary import summarize

router = APIRouter()

SUMMARY = (3, 12)
SUMMARY_METADATA = (3, 36)


@router.get("/v3/volumes/summary")
def volume_summary(request: Request, services: Services, context: Context) -> Response:
    gates.require(request, SUMMARY)
    found = summarize(services.volumes, context, dict(request.query_params))
    body: dict[str, Any] = {"total_size": found.total_size, "total_count": found.total_count}
    if gates.at_least(request, SUMMARY_METADATA):
        body["metadata"] = found.metadata
    return JSONBody({"volume-summary": body})
