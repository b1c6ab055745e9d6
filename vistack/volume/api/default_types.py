"""`/v3/default-types` (3.62): projects' own default volume types; see
`domain/default_types.py`. The routes answer 404 before 3.62, as Cinder's do."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services
from vistack.volume.domain.default_types import DefaultType

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _gate(request: Request) -> None:
    if views.version_of(request) < (3, 62):
        raise NotFound("The resource could not be found: default-types is microversion 3.62.")


def _view(item: DefaultType) -> dict[str, str]:
    return {"project_id": item.project_id, "volume_type_id": item.volume_type_id}


@router.put("/v3/default-types/{project_id}")
def set_default(
    request: Request, project_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    _gate(request)
    return JSONBody({"default_type": _view(services.default_types.set(context, project_id, body))})


@router.get("/v3/default-types/{project_id}")
def show_default(
    request: Request, project_id: str, services: Services, context: Context
) -> Response:
    _gate(request)
    return JSONBody({"default_type": _view(services.default_types.get(context, project_id))})


@router.get("/v3/default-types")
def list_defaults(request: Request, services: Services, context: Context) -> Response:
    _gate(request)
    return JSONBody(
        {"default_types": [_view(d) for d in services.default_types.list_defaults(context)]}
    )


@router.delete("/v3/default-types/{project_id}")
def unset_default(
    request: Request, project_id: str, services: Services, context: Context
) -> Response:
    _gate(request)
    services.default_types.unset(context, project_id)
    return Response(status_code=204)
