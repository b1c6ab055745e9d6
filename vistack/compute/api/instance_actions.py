"""`/v2.1/servers/{id}/os-instance-actions[/{request_id}]`: what was done to a server, as the
request's microversion shows it: from 2.21 a deleted server's too (before: 404); from 2.51 an
action's events for everyone (before: administrators only); from 2.58 paged (`limit`,
`marker`: a request id) and filtered by `changes-since`, each action with its `updated_at`;
from 2.66 `changes-before` too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api import server_views
from vistack.compute.api.deps import ComputeServices, Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
PATH = "/v2.1/servers/{server_id}/os-instance-actions"
#: Nova's `max_limit`.
MAX_LIMIT = 1000


def _view(action: dict[str, Any], version: Version) -> dict[str, Any]:
    view = dict(action)
    view["start_time"] = server_views.usage_stamp(action["start_time"])
    updated = view.pop("updated_at", None)
    if version.at_least("2.58"):
        view["updated_at"] = server_views.usage_stamp(updated)
    return view


def _actions(
    services: ComputeServices, context: RequestContext, server_id: str, version: Version
) -> list[dict[str, Any]]:
    """The server's actions, newest first; a deleted server's only from 2.21."""
    if not version.at_least("2.21"):
        services.servers.get(context, server_id)
    return services.servers.actions(context, server_id)


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _filtered(
    request: Request, actions: list[dict[str, Any]], version: Version
) -> tuple[list[dict[str, Any]], int | None]:
    """2.58's `changes-since`, `marker` and `limit`, 2.66's `changes-before`; the limit used
    (None: no paging asked)."""
    params = request.query_params
    if not version.at_least("2.58"):
        return actions, None
    since = None
    if "changes-since" in params:
        since = _moment(params["changes-since"], "changes-since")
        actions = [a for a in actions if a["updated_at"] >= since]
    if version.at_least("2.66") and "changes-before" in params:
        before = _moment(params["changes-before"], "changes-before")
        if since is not None and before < since:
            raise BadRequest(
                "The value of changes-since must be less than or equal to changes-before."
            )
        actions = [a for a in actions if a["updated_at"] <= before]
    if "marker" in params:
        ids = [a["request_id"] for a in actions]
        if params["marker"] not in ids:
            raise BadRequest(f"Marker {params['marker']} could not be found.")
        actions = actions[ids.index(params["marker"]) + 1 :]
    if "limit" not in params:
        return actions[:MAX_LIMIT], None
    text = params["limit"]
    if not text.isascii() or not text.isdigit():
        raise BadRequest(
            f"Invalid input for query parameters limit. Value: {text}. It must be a "
            "non-negative integer."
        )
    limit = min(int(text), MAX_LIMIT)
    return actions[:limit], limit


@router.get(PATH)
def list_actions(
    request: Request, server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    actions, limit = _filtered(request, _actions(services, context, server_id, version), version)
    body: dict[str, Any] = {"instanceActions": [_view(a, version) for a in actions]}
    if limit and len(actions) == limit:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        query.append(("marker", actions[-1]["request_id"]))
        href = service_url(request, "v2.1", "servers", server_id, "os-instance-actions")
        body["links"] = [{"rel": "next", "href": href + "?" + urlencode(query)}]
    return JSONBody(body)


@router.get(PATH + "/{request_id}")
def show_action(
    server_id: str, request_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    for action in _actions(services, context, server_id, version):
        if action["request_id"] == request_id:
            view = _view(action, version)
            events = _events(services, context, server_id, request_id, version)
            if events is not None:
                view["events"] = events
            return JSONBody({"instanceAction": view})
    raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")


def _events(
    services: ComputeServices,
    context: RequestContext,
    server_id: str,
    request_id: str,
    version: Version,
) -> list[dict[str, Any]] | None:
    """The action's events as the caller may see them (None: no `events` key at all, a
    non-administrator before 2.51)."""
    if services.subresources is None:
        return []
    return services.subresources.events.events(context, server_id, request_id, version)
