"""`/v2.1/servers`: create, list (brief and detail), show, update, delete, and the server's
instance actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api import server_views
from vistack.compute.api.deps import ComputeServices, Context, Services
from vistack.compute.db.servers import SORT_COLUMNS
from vistack.compute.domain.models import Server, ServerQuery
from vistack.compute.domain.states import STATUS_FILTERS

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Nova's `max_limit`: a page never holds more.
MAX_LIMIT = 1000


def _is_admin(services: ComputeServices, context: RequestContext) -> bool:
    return services.servers.sees_admin_fields(context)


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if number < 0:
        raise BadRequest(f"{name} param must be positive")
    return number


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid filter field: changes-since ({value!r}).") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _query(request: Request, context: RequestContext, admin: bool) -> ServerQuery | None:
    """The list request checked; None when it can match nothing (an unknown status)."""
    params = request.query_params
    all_tenants = (
        admin
        and "all_tenants" in params
        and params["all_tenants"].lower()
        not in (
            "0",
            "false",
            "off",
            "no",
        )
    )
    # Another project's servers only with all_tenants, as Nova: without it an admin's
    # `tenant_id`/`project_id` is ignored and the list is the admin's own project's.
    project_id: str | None = context.project_id
    if all_tenants:
        project_id = params.get("project_id") or params.get("tenant_id") or None
    vm_states: tuple[str, ...] | None = None
    if "status" in params:
        wanted = params["status"].upper()
        if wanted not in STATUS_FILTERS:
            return None
        vm_states = STATUS_FILTERS[wanted]
    limit = min(_int(params["limit"], "limit"), MAX_LIMIT) if "limit" in params else MAX_LIMIT
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in SORT_COLUMNS:
        raise BadRequest(f"Invalid sort_key {sort_key!r}.")
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort_dir {sort_dir!r}: asc or desc.")
    changes_since = _since(params["changes-since"]) if "changes-since" in params else None
    deleted = admin and params.get("deleted", "").lower() in ("true", "1", "yes")
    return ServerQuery(
        project_id=project_id,
        name=params.get("name"),
        vm_states=vm_states,
        image_id=params["image"].rstrip("/").rsplit("/", 1)[-1] if "image" in params else None,
        flavor_id=params["flavor"].rstrip("/").rsplit("/", 1)[-1] if "flavor" in params else None,
        cluster=params.get("host") if admin else None,
        ip=params.get("ip"),
        changes_since=changes_since,
        include_deleted=deleted or changes_since is not None,
        limit=limit,
        marker=params.get("marker"),
        sort_key=sort_key,
        sort_dir=sort_dir,
    )


def _page_links(request: Request, servers: list[Server], asked: ServerQuery, path: str) -> Any:
    if not servers or len(servers) < asked.limit:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", servers[-1].id))
    href = service_url(request, "v2.1", path) + "?" + urlencode(params)
    return [{"rel": "next", "href": href}]


def _list(request: Request, services: ComputeServices, context: Context, detail: bool) -> Response:
    admin = _is_admin(services, context)
    asked = _query(request, context, admin)
    key = "servers"
    if asked is None:
        return JSONBody({key: []})
    servers = services.servers.list_servers(context, asked, detail=detail)
    if detail:
        zone_of = services.clusters.zone_of
        items = [server_views.full(request, s, zone_of=zone_of, admin=admin) for s in servers]
    else:
        items = [server_views.brief(request, s) for s in servers]
    body: dict[str, Any] = {key: items}
    next_links = _page_links(request, servers, asked, "servers/detail" if detail else "servers")
    if next_links:
        body["servers_links"] = next_links
    return JSONBody(body)


@router.get("/v2.1/servers")
def list_servers(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=False)


@router.get("/v2.1/servers/detail")
def list_servers_detail(request: Request, services: Services, context: Context) -> Response:
    return _list(request, services, context, detail=True)


@router.post("/v2.1/servers")
def create_server(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    servers, password = services.servers.create(context, body)
    first = servers[0]
    if isinstance(body, dict) and body.get("server", {}).get("return_reservation_id"):
        return JSONBody({"reservation_id": f"r-{first.id[:8]}"}, status_code=202)
    location = server_views.links(request, first.id)[0]["href"]
    return JSONBody(
        {"server": server_views.created(request, first, password)},
        status_code=202,
        headers={"Location": location},
    )


@router.get("/v2.1/servers/{server_id}")
def show_server(request: Request, server_id: str, services: Services, context: Context) -> Response:
    server = services.servers.get(context, server_id)
    admin = _is_admin(services, context)
    view = server_views.full(request, server, zone_of=services.clusters.zone_of, admin=admin)
    return JSONBody({"server": view})


@router.put("/v2.1/servers/{server_id}")
def update_server(
    request: Request, server_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    server = services.servers.update(context, server_id, body)
    admin = _is_admin(services, context)
    view = server_views.full(
        request, server, zone_of=services.clusters.zone_of, admin=admin, extended=False
    )
    return JSONBody({"server": view})


@router.delete("/v2.1/servers/{server_id}")
def delete_server(server_id: str, services: Services, context: Context) -> Response:
    services.servers.delete(context, server_id)
    return Response(status_code=204)


def _action_view(action: dict[str, Any]) -> dict[str, Any]:
    view = dict(action)
    view["start_time"] = server_views.usage_stamp(action["start_time"])
    return view


@router.get("/v2.1/servers/{server_id}/os-instance-actions")
def list_actions(server_id: str, services: Services, context: Context) -> Response:
    actions = services.servers.actions(context, server_id)
    return JSONBody({"instanceActions": [_action_view(a) for a in actions]})


@router.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
def show_action(server_id: str, request_id: str, services: Services, context: Context) -> Response:
    for action in services.servers.actions(context, server_id):
        if action["request_id"] == request_id:
            view = _action_view(action)
            view["events"] = []
            return JSONBody({"instanceAction": view})
    raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")
