"""`/v3/{project_id}/types/{type_id}/encryption`: a volume type's encryption spec (what an
encrypted type means on vSphere: `vistack.volume.domain.encryption`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v3/types/{type_id}/encryption"
#: What Cinder's create answers: the spec and its ids, without the row's timestamps and
#: soft-delete fields, which only the show of the spec carries.
CREATED = ("volume_type_id", "encryption_id", "provider", "cipher", "key_size", "control_location")


def _json(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: views.timestamp(v) if isinstance(v, datetime) else v for k, v in spec.items()}


@router.get(PATH)
def show_encryption(type_id: str, services: Services, context: Context) -> Response:
    return JSONBody(_json(services.encryption.show(context, type_id)))


@router.post(PATH)
def create_encryption(
    type_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    spec = services.encryption.create(context, type_id, body)
    return JSONBody({"encryption": {k: spec[k] for k in CREATED}})


@router.get(PATH + "/{key}")
def show_encryption_key(type_id: str, key: str, services: Services, context: Context) -> Response:
    value = services.encryption.show_key(context, type_id, key)
    return JSONBody(_json({key: value}))


@router.put(PATH + "/{encryption_id}")
def update_encryption(
    type_id: str, encryption_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    changed = services.encryption.update(context, type_id, encryption_id, body)
    return JSONBody({"encryption": changed})


@router.delete(PATH + "/{encryption_id}")
def delete_encryption(
    type_id: str, encryption_id: str, services: Services, context: Context
) -> Response:
    services.encryption.delete(context, type_id, encryption_id)
    return Response(status_code=202)
