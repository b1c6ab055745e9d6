"""`/v2/images`: records, JSON-patch updates, actions, tags and members."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.image.api.deps import Context, Services
from vistack.image.api.views import image_view, member_view
from vistack.image.db.images import FILTER_COLUMNS, SORT_COLUMNS
from vistack.image.domain.imports import IMPORT_METHODS
from vistack.image.domain.models import ListQuery, MemberStatus
from vistack.image.domain.patch import MEDIA_TYPE_2_0, MEDIA_TYPE_2_1, parse_patch

router = APIRouter()

MAX_LIMIT = 1000
DEFAULT_LIMIT = 25
#: Query parameters with a meaning of their own; any other name filters on a property.
RESERVED_QUERY = frozenset(
    {
        "limit",
        "marker",
        "sort_key",
        "sort_dir",
        "sort",
        "visibility",
        "member_status",
        "tag",
        "size_min",
        "size_max",
        "os_hidden",
    }
)
IN_FILTERS = frozenset({"id", "name", "status", "container_format", "disk_format", "owner"})
TIME_FILTERS = frozenset({"created_at", "updated_at"})


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise BadRequest("The request body is empty; a JSON document was expected.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("Malformed request body: it is not valid JSON.") from None


def _store_headers(services: Services) -> dict[str, str]:
    headers = {"OpenStack-image-import-methods": ",".join(IMPORT_METHODS)}
    stores = [s.info.id for s in services.data.ordered_stores()]
    if stores:
        headers["OpenStack-image-store-ids"] = ",".join(stores)
    return headers


@router.post("/v2/images", status_code=201)
async def create_image(request: Request, services: Services, context: Context) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("The image must be a JSON object of attributes.")
    image = await run_in_threadpool(services.images.create, context, body)
    headers = {"Location": f"/v2/images/{image.id}", **_store_headers(services)}
    return JSONBody(image_view(image, services.data.store_rank), status_code=201, headers=headers)


@router.get("/v2/images")
def list_images(request: Request, services: Services, context: Context) -> Response:
    query = parse_list_query(request)
    images = services.images.list_images(context, query)
    body: dict[str, Any] = {
        "images": [image_view(i, services.data.store_rank) for i in images],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if images and len(images) == query.limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", images[-1].id))
        body["next"] = f"/v2/images?{urlencode(params)}"
    return JSONBody(body)


@router.get("/v2/images/{image_id}")
def show_image(image_id: str, services: Services, context: Context) -> Response:
    return JSONBody(image_view(services.images.get(context, image_id), services.data.store_rank))


@router.patch("/v2/images/{image_id}")
async def update_image(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in (MEDIA_TYPE_2_1, MEDIA_TYPE_2_0):
        return Response(
            status_code=415,
            headers={"Accept-Patch": f"{MEDIA_TYPE_2_1}, {MEDIA_TYPE_2_0}"},
            content=f"Unsupported Content-Type {media_type!r}; send {MEDIA_TYPE_2_1}.",
            media_type="text/plain",
        )
    ops = parse_patch(await json_body(request), media_type)
    image = await run_in_threadpool(services.images.update, context, image_id, ops)
    return JSONBody(image_view(image, services.data.store_rank))


@router.delete("/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, services: Services, context: Context) -> Response:
    services.images.delete(context, image_id)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/actions/deactivate", status_code=204)
def deactivate_image(image_id: str, services: Services, context: Context) -> Response:
    services.images.set_active(context, image_id, active=False)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/actions/reactivate", status_code=204)
def reactivate_image(image_id: str, services: Services, context: Context) -> Response:
    services.images.set_active(context, image_id, active=True)
    return Response(status_code=204)


# -- tags --------------------------------------------------------------------------------------


@router.put("/v2/images/{image_id}/tags/{tag}", status_code=204)
def add_tag(image_id: str, tag: str, services: Services, context: Context) -> Response:
    services.images.add_tag(context, image_id, tag)
    return Response(status_code=204)


@router.delete("/v2/images/{image_id}/tags/{tag}", status_code=204)
def delete_tag(image_id: str, tag: str, services: Services, context: Context) -> Response:
    services.images.remove_tag(context, image_id, tag)
    return Response(status_code=204)


# -- members -----------------------------------------------------------------------------------


@router.post("/v2/images/{image_id}/members")
async def add_member(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"member"}:
        raise BadRequest('The body must be {"member": "<project id>"}.')
    member = await run_in_threadpool(services.images.add_member, context, image_id, body["member"])
    return JSONBody(member_view(member))


@router.get("/v2/images/{image_id}/members")
def list_members(image_id: str, services: Services, context: Context) -> Response:
    members = services.images.list_members(context, image_id)
    return JSONBody({"members": [member_view(m) for m in members], "schema": "/v2/schemas/members"})


@router.get("/v2/images/{image_id}/members/{member_id}")
def show_member(image_id: str, member_id: str, services: Services, context: Context) -> Response:
    return JSONBody(member_view(services.images.get_member(context, image_id, member_id)))


@router.put("/v2/images/{image_id}/members/{member_id}")
async def update_member(
    image_id: str, member_id: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    # openstacksdk sends the whole member back; only its status can change.
    if not isinstance(body, dict) or "status" not in body:
        raise BadRequest('The body must be {"status": "accepted" | "rejected" | "pending"}.')
    member = await run_in_threadpool(
        services.images.update_member, context, image_id, member_id, body["status"]
    )
    return JSONBody(member_view(member))


@router.delete("/v2/images/{image_id}/members/{member_id}", status_code=204)
def delete_member(image_id: str, member_id: str, services: Services, context: Context) -> Response:
    services.images.delete_member(context, image_id, member_id)
    return Response(status_code=204)


# -- list query --------------------------------------------------------------------------------


def parse_list_query(request: Request) -> ListQuery:
    """Glance's list parameters → a validated `ListQuery` (400 with the reason otherwise)."""
    params = request.query_params
    filters: dict[str, tuple[str, list[Any]]] = {}
    properties: dict[str, str] = {}
    for key, value in params.items():
        if key in RESERVED_QUERY:
            continue
        if key in FILTER_COLUMNS and key != "visibility":
            filters[key] = _filter(key, value)
        else:
            properties[key] = value
    visibility = params.get("visibility")
    if visibility is not None and visibility not in (
        "public",
        "private",
        "shared",
        "community",
        "all",
    ):
        raise BadRequest(
            f"Invalid visibility value: {visibility}; "
            "use public, private, shared, community or all."
        )
    member_status = params.get("member_status", MemberStatus.ACCEPTED.value)
    if member_status not in {*(s.value for s in MemberStatus), "all"}:
        raise BadRequest(f"Invalid status value: {member_status}")
    return ListQuery(
        filters=filters,
        properties=properties,
        tags=params.getlist("tag"),
        visibility=visibility,
        member_status=member_status,
        os_hidden=_bool("os_hidden", params.get("os_hidden", "false")),
        size_min=_int("size_min", params.get("size_min")),
        size_max=_int("size_max", params.get("size_max")),
        sort=_sort(request),
        marker=params.get("marker"),
        limit=_limit(params.get("limit")),
    )


def _filter(key: str, value: str) -> tuple[str, list[Any]]:
    operator, _, operand = value.partition(":")
    if operator == "in" and key in IN_FILTERS:
        return "in", [v.strip('"') for v in operand.split(",")]
    if key in TIME_FILTERS or key in {"size", "virtual_size", "min_ram", "min_disk"}:
        if operator in ("gt", "gte", "lt", "lte", "eq", "neq") and operand:
            return operator, [_typed(key, operand)]
        return "eq", [_typed(key, value)]
    if key == "protected":
        return "eq", [_bool(key, value)]
    return "eq", [value]


def _typed(key: str, value: str) -> Any:
    if key in TIME_FILTERS:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"Invalid time format for {key}: {value}") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    return _int(key, value)


def _int(key: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Invalid value for {key}: {value!r} is not an integer.") from None
    if number < 0:
        raise BadRequest(f"Invalid value for {key}: it must not be negative.")
    return number


def _bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for {key}: {value!r} is not a boolean.")


def _limit(value: str | None) -> int:
    limit = _int("limit", value)
    if limit is None:
        return DEFAULT_LIMIT
    return min(limit, MAX_LIMIT)


def _sort(request: Request) -> list[tuple[str, str]]:
    params = request.query_params
    sort = params.get("sort")
    keys = params.getlist("sort_key")
    dirs = params.getlist("sort_dir")
    if sort is not None and (keys or dirs):
        raise BadRequest("The 'sort' parameter cannot be combined with sort_key/sort_dir.")
    pairs: list[tuple[str, str]] = []
    if sort is not None:
        for item in sort.split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key, direction or "desc"))
    else:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise BadRequest("sort_dir must be given once, or once per sort_key.")
        for index, key in enumerate(keys):
            direction = dirs[index] if len(dirs) > 1 else (dirs[0] if dirs else "desc")
            pairs.append((key, direction))
        if not keys and dirs:
            pairs.append(("created_at", dirs[0]))
    for key, direction in pairs:
        if key not in SORT_COLUMNS:
            raise BadRequest(
                f"Invalid sort key: {key}. It must be one of: {', '.join(sorted(SORT_COLUMNS))}."
            )
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}")
    return pairs or [("created_at", "desc")]
