"""`GET /v2.1/extensions` and `GET /v2.1/extensions/{alias}`: Nova's deprecated extension list,
the entries this cloud serves (domain/extension_list.py); an unknown alias is 404."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.small_apis import required

router = APIRouter()


@router.get("/v2.1/extensions")
def list_extensions(services: Services, context: Context) -> Response:
    return JSONBody({"extensions": required(services.small_apis).extensions.all(context)})


@router.get("/v2.1/extensions/{alias}")
def show_extension(alias: str, services: Services, context: Context) -> Response:
    return JSONBody({"extension": required(services.small_apis).extensions.get(context, alias)})
