"""`/v2.1/os-quota-sets` (a project's limits, defaults and usage) and `/v2.1/os-quota-class-sets`
(the defaults every project starts from), as Nova 2.1 renders them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Before 2.50 a quota class shows neither (Nova bug 1693168, kept for 2.1 clients).
CLASS_HIDDEN = ("server_groups", "server_group_members")


def _user(request: Request) -> str | None:
    return request.query_params.get("user_id") or None


def _quota_set(values: dict[str, Any], project_id: str | None = None) -> Response:
    body = {"id": project_id, **values} if project_id is not None else values
    return JSONBody({"quota_set": body})


@router.get("/v2.1/os-quota-sets/{project_id}/defaults")
def show_defaults(project_id: str, services: Services, context: Context) -> Response:
    return _quota_set(services.quotas.defaults(context, project_id), project_id)


@router.get("/v2.1/os-quota-sets/{project_id}/detail")
def show_detail(
    project_id: str, request: Request, services: Services, context: Context
) -> Response:
    values = services.quotas.detail(context, project_id, user_id=_user(request))
    return _quota_set(values, project_id)


@router.get("/v2.1/os-quota-sets/{project_id}")
def show_quota_set(
    project_id: str, request: Request, services: Services, context: Context
) -> Response:
    values = services.quotas.show(context, project_id, user_id=_user(request))
    return _quota_set(values, project_id)


@router.put("/v2.1/os-quota-sets/{project_id}")
def update_quota_set(
    project_id: str, body: JsonBody, request: Request, services: Services, context: Context
) -> Response:
    # Nova leaves the id out of an update's answer.
    return _quota_set(services.quotas.update(context, project_id, body, user_id=_user(request)))


@router.delete("/v2.1/os-quota-sets/{project_id}")
def delete_quota_set(
    project_id: str, request: Request, services: Services, context: Context
) -> Response:
    services.quotas.delete(context, project_id, user_id=_user(request))
    return Response(status_code=202)


def _class_set(values: dict[str, int], name: str | None = None) -> Response:
    shown: dict[str, Any] = {r: v for r, v in values.items() if r not in CLASS_HIDDEN}
    body = {"id": name, **shown} if name is not None else shown
    return JSONBody({"quota_class_set": body})


@router.get("/v2.1/os-quota-class-sets/{name}")
def show_quota_class_set(name: str, services: Services, context: Context) -> Response:
    return _class_set(services.quotas.show_class(context, name), name)


@router.put("/v2.1/os-quota-class-sets/{name}")
def update_quota_class_set(
    name: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return _class_set(services.quotas.update_class(context, name, body))
