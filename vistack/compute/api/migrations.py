"""`GET /v2.1/os-migrations`: every move of every server (admin), with Nova's filters and the
fields and paging of each microversion (2.59: newest first, `limit`/`marker`/`changes-since`,
unknown parameters refused; 2.66: `changes-before`; 2.80: `user_id`/`project_id`). The server
migrations resources (`server_migrations.py`) are served from this router too."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody, service_url
from vistack.compute.api import server_migrations
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.migration_views import listed
from vistack.compute.db.migrations import MigrationQuery

router = APIRouter()
router.include_router(server_migrations.router)

#: Nova's largest page (`[api] max_limit`).
MAX_LIMIT = 1000
_FILTERS = ("host", "status", "migration_type", "instance_uuid", "source_compute")


@router.get("/v2.1/os-migrations")
def list_migrations(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    asked = parse_query(request, version)
    found = services.migrations.list_migrations(context, asked)
    body: dict[str, object] = {"migrations": [listed(request, m, version) for m in found]}
    if asked.limit is not None and found and len(found) == asked.limit:
        query = dict(request.query_params)
        query.update(limit=str(asked.limit), marker=found[-1].uuid)
        href = service_url(request, "v2.1", "os-migrations") + "?" + urlencode(query)
        body["migrations_links"] = [{"rel": "next", "href": href}]
    return JSONBody(body)


def parse_query(request: Request, version: Version) -> MigrationQuery:
    """The filters and page a request asks for, as its microversion allows.

    :raises BadRequest: an unknown parameter (2.59+), a bad limit or timestamp, or
        changes-since after changes-before.
    """
    params = request.query_params
    allowed = set(_FILTERS)
    paged = version.at_least("2.59")
    if paged:
        allowed |= {"limit", "marker", "changes-since"}
    if version.at_least("2.66"):
        allowed.add("changes-before")
    if version.at_least("2.80"):
        allowed |= {"user_id", "project_id"}
    if paged:
        extra = sorted(k for k in params if k not in allowed)
        if extra:
            named = ", ".join(repr(k) for k in extra)
            verb = "was" if len(extra) == 1 else "were"
            raise BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")
    values = {k: params.get(k) for k in allowed if k in params}
    limit = None
    if paged:
        limit = _limit(values.get("limit"))
    since = _time("changes-since", values.get("changes-since"))
    before = _time("changes-before", values.get("changes-before"))
    if since is not None and before is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return MigrationQuery(
        host=values.get("host"),
        status=values.get("status"),
        migration_type=values.get("migration_type"),
        instance_uuid=values.get("instance_uuid"),
        source_compute=values.get("source_compute"),
        user_id=values.get("user_id"),
        project_id=values.get("project_id"),
        changes_since=since,
        changes_before=before,
        newest_first=paged,
        limit=limit,
        marker=values.get("marker") if paged else None,
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return MAX_LIMIT
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest("limit param must be an integer")
    return min(int(raw), MAX_LIMIT)


def _time(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
