"""`/v3/{project_id}/group_types` (3.11): group types and their group specs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.volume.api import group_views
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.microversion import Microversion
from vistack.volume.domain.group_models import GroupType

router = APIRouter()
JsonBody = Annotated[Any, Body()]
SINCE = "3.11"


def _answer(item: GroupType, services: Services, context: Context, status: int = 200) -> Response:
    """One group type, its `group_specs` shown only to who may read them."""
    view = group_views.group_type(item, specs=services.groups.types.sees_specs(context))
    return JSONBody({"group_type": view}, status_code=status)


@router.get("/v3/group_types")
def list_group_types(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    types = services.groups.types.list_types(context, request.query_params)
    specs = services.groups.types.sees_specs(context)
    return JSONBody({"group_types": [group_views.group_type(t, specs=specs) for t in types]})


@router.post("/v3/group_types")
def create_group_type(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return _answer(services.groups.types.create(context, body), services, context, 202)


@router.get("/v3/group_types/default")
def show_default_group_type(
    services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return _answer(services.groups.types.default(context), services, context)


@router.get("/v3/group_types/{type_id}")
def show_group_type(
    type_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return _answer(services.groups.types.show(context, type_id), services, context)


@router.put("/v3/group_types/{type_id}")
def update_group_type(
    type_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return _answer(services.groups.types.update(context, type_id, body), services, context)


@router.delete("/v3/group_types/{type_id}")
def delete_group_type(
    type_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    services.groups.types.delete(context, type_id)
    return Response(status_code=202)


# -- group specs ---------------------------------------------------------------------------------


@router.get("/v3/group_types/{type_id}/group_specs")
def list_group_specs(
    type_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return JSONBody({"group_specs": services.groups.types.specs(context, type_id)})


@router.post("/v3/group_types/{type_id}/group_specs")
def create_group_specs(
    type_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    specs = services.groups.types.set_specs(context, type_id, body)
    return JSONBody({"group_specs": specs}, status_code=202)


@router.get("/v3/group_types/{type_id}/group_specs/{key}")
def show_group_spec(
    type_id: str, key: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    return JSONBody({key: services.groups.types.spec(context, type_id, key)})


@router.put("/v3/group_types/{type_id}/group_specs/{key}")
def update_group_spec(
    type_id: str,
    key: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    group_views.require(version, SINCE)
    return JSONBody(services.groups.types.update_spec(context, type_id, key, body))


@router.delete("/v3/group_types/{type_id}/group_specs/{key}")
def delete_group_spec(
    type_id: str, key: str, services: Services, context: Context, version: Microversion
) -> Response:
    group_views.require(version, SINCE)
    services.groups.types.delete_spec(context, type_id, key)
    return Response(status_code=202)
