"""`POST /v2.1/os-assisted-volume-snapshots` and `DELETE .../{id}`: refused with 501 for
administrators (403 for others), see domain/assisted_snapshots.py."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.small_apis import required

router = APIRouter()


@router.post("/v2.1/os-assisted-volume-snapshots")
def create_assisted_snapshot(services: Services, context: Context) -> Response:
    required(services.small_apis).assisted_snapshots.create(context)
    return Response(status_code=501)  # not reached: create always raises


@router.delete("/v2.1/os-assisted-volume-snapshots/{snapshot_id}")
def delete_assisted_snapshot(snapshot_id: str, services: Services, context: Context) -> Response:
    required(services.small_apis).assisted_snapshots.delete(context)
    return Response(status_code=501)  # not reached: delete always raises
