"""`/v2/info/*` (import methods, stores, quota usage) and `/v2/schemas/*`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.image.api.deps import Context, Services
from vistack.image.domain import schema
from vistack.image.domain.imports import IMPORT_METHODS

router = APIRouter()


@router.get("/v2/info/import")
def import_info(context: Context) -> Response:
    del context  # authenticated, like every Glance call
    return JSONBody(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": list(IMPORT_METHODS),
            }
        }
    )


@router.get("/v2/info/stores")
def stores_info(services: Services, context: Context) -> Response:
    services.images.authorize("get_stores", context)
    default = services.data.default_store_id
    stores: list[dict[str, Any]] = []
    for store in services.data.ordered_stores():
        entry: dict[str, Any] = {
            "id": store.info.id,
            "description": store.info.description,
            "weight": store.info.weight,
        }
        if store.info.id == default:
            entry["default"] = True
        stores.append(entry)
    return JSONBody({"stores": stores})


@router.get("/v2/info/stores/detail")
def stores_detail(services: Services, context: Context) -> Response:
    services.images.authorize("get_stores_detail", context)
    default = services.data.default_store_id
    stores: list[dict[str, Any]] = []
    for store in services.data.ordered_stores():
        properties: dict[str, Any] = dict(store.info.properties)
        free = store.free_bytes()
        if free is not None:
            properties["free_bytes"] = free
        entry: dict[str, Any] = {
            "id": store.info.id,
            "description": store.info.description,
            "type": store.info.type,
            "weight": store.info.weight,
            "properties": properties,
        }
        if store.info.id == default:
            entry["default"] = True
        stores.append(entry)
    return JSONBody({"stores": stores})


@router.get("/v2/info/usage")
def usage_info(services: Services, context: Context) -> Response:
    usage = services.images.usage(context)
    limits = services.images.limits_for(context.project_id)

    def entry(limit: int, used: int) -> dict[str, int]:
        return {"limit": limit, "usage": used}

    return JSONBody(
        {
            "usage": {
                "image_size_total": entry(limits.image_size_total, usage.image_size_total),
                "image_stage_total": entry(limits.image_stage_total, usage.image_stage_total),
                "image_count_total": entry(limits.image_count_total, usage.image_count_total),
                "image_count_uploading": entry(
                    limits.image_count_uploading, usage.image_count_uploading
                ),
            }
        }
    )


@router.get("/v2/schemas/image")
def image_schema(context: Context) -> Response:
    del context
    return JSONBody(schema.image_schema())


@router.get("/v2/schemas/images")
def images_schema(context: Context) -> Response:
    del context
    return JSONBody(schema.images_schema())


@router.get("/v2/schemas/member")
def member_schema(context: Context) -> Response:
    del context
    return JSONBody(schema.member_schema())


@router.get("/v2/schemas/members")
def members_schema(context: Context) -> Response:
    del context
    return JSONBody(schema.members_schema())
