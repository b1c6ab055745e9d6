"""`/v2.1/servers`: create, list (brief and detail), show, update and delete, each as the
request's microversion has it (see `server_views` for the fields; here: 2.5 `ip6` for
everyone, 2.26 the tag filters, 2.38 an unknown `status` refused)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody, service_url
from vistack.compute.api import server_views
from vistack.compute.api.deps import ComputeServices, Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.db.servers import SORT_COLUMNS
from vistack.compute.domain import server_filters
from vistack.compute.domain.models import Server, ServerQuery
from vistack.compute.domain.states import STATUS_FILTERS
from vistack.compute.domain.tag_rules import split_filter

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Nova's `max_limit`: a page never holds more.
MAX_LIMIT = 1000
#: Every status Nova's `status` filter knows (2.38 refuses any other with 400); one this cloud
#: never reaches matches nothing.
NOVA_STATUSES = frozenset(
    {
        "ACTIVE",
        "BUILD",
        "DELETED",
        "ERROR",
        "HARD_REBOOT",
        "MIGRATING",
        "PASSWORD",
        "PAUSED",
        "REBOOT",
        "REBUILD",
        "RESCUE",
        "RESIZE",
        "REVERT_RESIZE",
        "SHELVED",
        "SHELVED_OFFLOADED",
        "SHUTOFF",
        "SOFT_DELETED",
        "SUSPENDED",
        "VERIFY_RESIZE",
    }
)


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


def _since(value: str, name: str = "changes-since") -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid filter field: {name} ({value!r}).") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


#: The query parameters Nova's list schema knows; from 2.75 any other is a 400.
KNOWN_PARAMS = frozenset(
    [
        "user_id",
        "project_id",
        "tenant_id",
        "launch_index",
        "image_ref",
        "image",
        "kernel_id",
        "ramdisk_id",
        "hostname",
        "key_name",
        "power_state",
        "vm_state",
        "task_state",
        "host",
        "node",
        "flavor",
        "reservation_id",
        "launched_at",
        "terminated_at",
        "availability_zone",
        "name",
        "display_name",
        "description",
        "display_description",
        "locked_by",
        "uuid",
        "root_device_name",
        "config_drive",
        "access_ip_v4",
        "access_ip_v6",
        "auto_disk_config",
        "progress",
        "sort_key",
        "sort_dir",
        "all_tenants",
        "soft_deleted",
        "deleted",
        "status",
        "changes-since",
        "changes-before",
        "ip",
        "ip6",
        "created_at",
        "block_device_mapping",
        "services",
        "metadata",
        "system_metadata",
        "info_cache",
        "security_groups",
        "pci_devices",
        "limit",
        "marker",
        "tags",
        "tags-any",
        "not-tags",
        "not-tags-any",
        "locked",
    ]
)


def _refuse_unknown(params: Any, version: Version) -> None:
    """2.75: an unknown query parameter is a 400 (before, Nova ignored it)."""
    if not version.at_least("2.75"):
        return
    unknown = sorted(set(params) - KNOWN_PARAMS)
    if unknown:
        listed = ", ".join(repr(k) for k in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise BadRequest(
            f"Invalid input for query parameters. Additional properties are not allowed "
            f"({listed} {verb} unexpected)"
        )


def _locked(params: Any) -> bool | None:
    """2.73's `locked` filter: a boolean."""
    if "locked" not in params:
        return None
    value = params["locked"].lower()
    if value in ("true", "1", "yes", "on", "t", "y"):
        return True
    if value in ("false", "0", "no", "off", "f", "n"):
        return False
    raise BadRequest(
        f"Unrecognized value '{params['locked']}', acceptable values are 'true' or 'false'"
    )


def _tag_filters(params: Any, version: Version) -> dict[str, tuple[str, ...]]:
    """2.26's `tags`, `tags-any`, `not-tags`, `not-tags-any` (before 2.26: not filters)."""
    if not version.at_least("2.26"):
        return {}
    names = {"tags": "tags", "tags-any": "tags_any", "not-tags": "not_tags"}
    names["not-tags-any"] = "not_tags_any"
    return {field: split_filter(params[name]) for name, field in names.items() if name in params}


def _query(
    request: Request, context: RequestContext, admin: bool, version: Version
) -> ServerQuery | None:
    """The list request checked; None when it can match nothing (an unknown status)."""
    params = request.query_params
    _refuse_unknown(params, version)
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
        if version.at_least("2.38") and wanted not in NOVA_STATUSES:
            raise BadRequest(f"Invalid status value: {params['status']}")
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
    changes_before = None
    if version.at_least("2.66") and "changes-before" in params:
        changes_before = _since(params["changes-before"], "changes-before")
        if changes_since is not None and changes_before < changes_since:
            raise BadRequest(
                "The value of changes-since must be less than or equal to changes-before."
            )
    deleted = admin and params.get("deleted", "").lower() in ("true", "1", "yes")
    return ServerQuery(
        project_id=project_id,
        name=params.get("name"),
        vm_states=vm_states,
        image_id=params["image"].rstrip("/").rsplit("/", 1)[-1] if "image" in params else None,
        flavor_id=params["flavor"].rstrip("/").rsplit("/", 1)[-1] if "flavor" in params else None,
        cluster=params.get("host") if admin else None,
        ip=params.get("ip"),
        # ip6 filters a member's list from 2.5 (before, Nova dropped it for non-admins).
        ip6=params.get("ip6") if admin or version.at_least("2.5") else None,
        changes_since=changes_since,
        changes_before=changes_before,
        locked=_locked(params) if version.at_least("2.73") else None,
        attributes=server_filters.wanted(params, admin=admin, since_2_83=version.at_least("2.83")),
        include_deleted=deleted or changes_since is not None or changes_before is not None,
        limit=limit,
        marker=params.get("marker"),
        sort_key=sort_key,
        sort_dir=sort_dir,
        **_tag_filters(params, version),
    )


def _page_links(request: Request, servers: list[Server], asked: ServerQuery, path: str) -> Any:
    if not servers or len(servers) < asked.limit:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", servers[-1].id))
    href = service_url(request, "v2.1", path) + "?" + urlencode(params)
    return [{"rel": "next", "href": href}]


def _list(
    request: Request,
    services: ComputeServices,
    context: Context,
    detail: bool,
    version: Version,
) -> Response:
    admin = _is_admin(services, context)
    asked = _query(request, context, admin, version)
    key = "servers"
    if asked is None:
        return JSONBody({key: []})
    servers = services.servers.list_servers(context, asked, detail=detail)
    if detail:
        zone_of = services.clusters.zone_of
        extras = server_views.lookup_extras(services, context, servers, version)
        items = [
            server_views.full(
                request, s, zone_of=zone_of, admin=admin, version=version, extras=extras
            )
            for s in servers
        ]
    else:
        items = [server_views.brief(request, s) for s in servers]
    body: dict[str, Any] = {key: items}
    next_links = _page_links(request, servers, asked, "servers/detail" if detail else "servers")
    if next_links:
        body["servers_links"] = next_links
    return JSONBody(body)


@router.get("/v2.1/servers")
def list_servers(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, detail=False, version=version)


@router.get("/v2.1/servers/detail")
def list_servers_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, detail=True, version=version)


@router.post("/v2.1/servers")
def create_server(
    request: Request, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    servers, password = services.servers.create(context, body, (version.major, version.minor))
    first = servers[0]
    if isinstance(body, dict) and body.get("server", {}).get("return_reservation_id"):
        reservation = first.system_metadata.get("reservation_id")
        return JSONBody({"reservation_id": reservation}, status_code=202)
    location = server_views.links(request, first.id)[0]["href"]
    return JSONBody(
        {"server": server_views.created(request, first, password)},
        status_code=202,
        headers={"Location": location},
    )


@router.get("/v2.1/servers/{server_id}")
def show_server(
    request: Request, server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    server = services.servers.get(context, server_id)
    admin = _is_admin(services, context)
    extras = server_views.lookup_extras(services, context, [server], version, single=True)
    view = server_views.full(
        request,
        server,
        zone_of=services.clusters.zone_of,
        admin=admin,
        version=version,
        extras=extras,
    )
    return JSONBody({"server": view})


@router.put("/v2.1/servers/{server_id}")
def update_server(
    request: Request,
    server_id: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    server = services.servers.update(context, server_id, body, (version.major, version.minor))
    admin = _is_admin(services, context)
    full = version.at_least("2.75")
    extras = server_views.lookup_extras(
        services, context, [server], version, host_status=full, single=True
    )
    view = server_views.full(
        request,
        server,
        zone_of=services.clusters.zone_of,
        admin=admin,
        extended=False,
        version=version,
        extras=extras,
    )
    return JSONBody({"server": view})


@router.delete("/v2.1/servers/{server_id}")
def delete_server(server_id: str, services: Services, context: Context) -> Response:
    services.servers.delete(context, server_id)
    return Response(status_code=204)
