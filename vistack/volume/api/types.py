"""`/v3/{project_id}/types`: volume types, their extra specs and their project access."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services
from vistack.volume.domain import filters

router = APIRouter()
JsonBody = Annotated[Any, Body()]


@router.get("/v3/types")
def list_types(request: Request, services: Services, context: Context) -> Response:
    """Cinder's list: `is_public` (an administrator's filter), `sort`/`sort_key`/`sort_dir`,
    `limit`/`marker`/`offset`, and from 3.52 `extra_specs` (the types having all of them)."""
    query = request.query_params
    wanted = None
    if query.get("extra_specs") and views.version_of(request) >= (3, 52):
        wanted = {
            k: str(v) for k, v in filters.mapping("extra_specs", query["extra_specs"]).items()
        }
    types = services.types.list_types(context, query, wanted)
    return JSONBody({"volume_types": [views.volume_type(t) for t in types]})


@router.post("/v3/types")
def create_type(body: JsonBody, services: Services, context: Context) -> Response:
    created = services.types.create(context, body)
    return JSONBody({"volume_type": views.volume_type(created, shape="create")})


@router.get("/v3/types/default")
def show_default_type(services: Services, context: Context) -> Response:
    return JSONBody({"volume_type": views.volume_type(services.types.default(context))})


@router.get("/v3/types/{type_id}")
def show_type(type_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"volume_type": views.volume_type(services.types.show(context, type_id))})


@router.put("/v3/types/{type_id}")
def update_type(type_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    updated = services.types.update(context, type_id, body)
    return JSONBody({"volume_type": views.volume_type(updated, shape="update")})


@router.delete("/v3/types/{type_id}")
def delete_type(type_id: str, services: Services, context: Context) -> Response:
    services.types.delete(context, type_id)
    return Response(status_code=202)


# -- extra specs ---------------------------------------------------------------------------------


@router.get("/v3/types/{type_id}/extra_specs")
def list_extra_specs(type_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"extra_specs": services.types.extra_specs(context, type_id)})


@router.post("/v3/types/{type_id}/extra_specs")
def create_extra_specs(
    type_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise BadRequest("Missing required element 'extra_specs' in request body.")
    specs = services.types.set_extra_specs(context, type_id, body["extra_specs"])
    return JSONBody({"extra_specs": specs})


@router.get("/v3/types/{type_id}/extra_specs/{key}")
def show_extra_spec(type_id: str, key: str, services: Services, context: Context) -> Response:
    return JSONBody({key: services.types.extra_spec(context, type_id, key)})


@router.put("/v3/types/{type_id}/extra_specs/{key}")
def update_extra_spec(
    type_id: str, key: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody(services.types.update_extra_spec(context, type_id, key, body))


@router.delete("/v3/types/{type_id}/extra_specs/{key}")
def delete_extra_spec(type_id: str, key: str, services: Services, context: Context) -> Response:
    services.types.delete_extra_spec(context, type_id, key)
    return Response(status_code=202)


# -- access --------------------------------------------------------------------------------------


@router.get("/v3/types/{type_id}/os-volume-type-access")
def list_type_access(type_id: str, services: Services, context: Context) -> Response:
    projects = services.types.access(context, type_id)
    return JSONBody(
        {"volume_type_access": [{"volume_type_id": type_id, "project_id": p} for p in projects]}
    )


@router.post("/v3/types/{type_id}/action")
def type_action(type_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    if isinstance(body, dict) and "addProjectAccess" in body:
        services.types.add_access(context, type_id, body)
    elif isinstance(body, dict) and "removeProjectAccess" in body:
        services.types.remove_access(context, type_id, body)
    else:
        raise BadRequest("There is no such action: name addProjectAccess or removeProjectAccess.")
    return Response(status_code=202)
