"""`GET /v3/resource_filters` (3.33): the filters a non-administrator may use on each list
(`domain/filters.py`, which enforces them from 3.31), optionally for one `resource`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context
from vistack.volume.domain.filters import RESOURCE_FILTERS

router = APIRouter()


@router.get("/v3/resource_filters")
def list_resource_filters(request: Request, context: Context) -> Response:
    if views.version_of(request) < (3, 33):
        raise NotFound("The resource could not be found: resource_filters is microversion 3.33.")
    wanted = request.query_params.get("resource")
    return JSONBody(
        {
            "resource_filters": [
                {"resource": resource, "filters": list(keys)}
                for resource, keys in RESOURCE_FILTERS.items()
                if wanted in (None, "", resource)
            ]
        }
    )
