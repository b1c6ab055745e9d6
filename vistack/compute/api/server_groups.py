"""`/v2.1/os-server-groups`, as Nova renders it at each microversion: `policies` (a one-item
list) and an always-empty `metadata` before 2.64, `policy` and `rules` from 2.64; the group's
`project_id` and `user_id` from 2.13; the soft policies accepted from 2.15; unknown query
parameters refused from 2.75."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.server_groups import ServerGroup, parse_create

router = APIRouter()
JsonBody = Annotated[Any, Body()]
#: Nova's `osapi_max_limit`: the longest page a list answers.
MAX_LIMIT = 1000
POLICY_OBJECT = "2.64"
QUERY = frozenset({"all_projects", "limit", "offset"})


def view(group: ServerGroup, version: Version) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": group.id, "name": group.name}
    if version.at_least(POLICY_OBJECT):
        shown["policy"] = group.policy
        shown["rules"] = dict(group.rules)
    else:
        shown["policies"] = [group.policy]
        shown["metadata"] = {}
    shown["members"] = list(group.members)
    if version.at_least("2.13"):
        shown["project_id"] = group.project_id
        shown["user_id"] = group.user_id
    return shown


def _page_param(request: Request, name: str) -> int | None:
    """Nova's `limit` / `offset`: a non-negative integer."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} param must be positive")
    return value


@router.post("/v2.1/os-server-groups")
def create_server_group(
    services: Services, context: Context, version: Microversion, body: JsonBody = None
) -> Response:
    name, policy, rules = parse_create(
        body, soft=version.at_least("2.15"), policy_object=version.at_least(POLICY_OBJECT)
    )
    group = services.server_groups.create(context, name, policy, rules)
    return JSONBody({"server_group": view(group, version)})


@router.get("/v2.1/os-server-groups")
def list_server_groups(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    if version.at_least("2.75"):
        unknown = sorted(set(request.query_params) - QUERY)
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise BadRequest(f"Additional properties are not allowed ({names} were unexpected)")
    limit = _page_param(request, "limit")
    groups = services.server_groups.list_groups(
        context,
        all_projects="all_projects" in request.query_params,
        limit=min(limit, MAX_LIMIT) if limit is not None else MAX_LIMIT,
        offset=_page_param(request, "offset") or 0,
    )
    return JSONBody({"server_groups": [view(g, version) for g in groups]})


@router.get("/v2.1/os-server-groups/{group_id}")
def show_server_group(
    group_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    return JSONBody({"server_group": view(services.server_groups.get(context, group_id), version)})


@router.delete("/v2.1/os-server-groups/{group_id}")
def delete_server_group(group_id: str, services: Services, context: Context) -> Response:
    services.server_groups.delete(context, group_id)
    return Response(status_code=204)
