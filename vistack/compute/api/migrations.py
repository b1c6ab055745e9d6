"""`/v2.1/os-migrations`: Nova's record of server moves, empty in this cloud (see
`domain/migrations.py`); query filters are accepted and ignored."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services

router = APIRouter()


@router.get("/v2.1/os-migrations")
def list_migrations(services: Services, context: Context) -> Response:
    return JSONBody({"migrations": services.migrations.list_migrations(context)})
