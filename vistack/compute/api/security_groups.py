"""`/v2.1/os-security-groups` and `/v2.1/os-security-group-rules` (2.1 to 2.35): Nova's proxy
to Neutron's security groups (see `domain/security_group_proxy.py`). From 2.36 Nova answers
404: clients use Neutron itself."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
JsonBody = Annotated[Any, Body()]
GROUPS = "/v2.1/os-security-groups"
RULES = "/v2.1/os-security-group-rules"


def _before_2_36(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


@router.get(GROUPS)
def list_groups(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    asked = request.query_params.get("all_tenants", "").lower() in ("1", "true", "yes")
    admin = services.servers.sees_admin_fields(context)
    groups = services.security_groups.list_groups(context, all_tenants=asked and admin)
    return JSONBody({"security_groups": groups})


@router.post(GROUPS)
def create_group(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    return JSONBody({"security_group": services.security_groups.create(context, body)})


@router.get(GROUPS + "/{group_id}")
def show_group(
    group_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    return JSONBody({"security_group": services.security_groups.show(context, group_id)})


@router.put(GROUPS + "/{group_id}")
def update_group(
    group_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    changed = services.security_groups.update(context, group_id, body)
    return JSONBody({"security_group": changed})


@router.delete(GROUPS + "/{group_id}")
def delete_group(
    group_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    services.security_groups.delete(context, group_id)
    return Response(status_code=202)


@router.post(RULES)
def create_rule(
    body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    return JSONBody({"security_group_rule": services.security_groups.create_rule(context, body)})


@router.delete(RULES + "/{rule_id}")
def delete_rule(
    rule_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _before_2_36(version)
    services.security_groups.delete_rule(context, rule_id)
    return Response(status_code=202)
