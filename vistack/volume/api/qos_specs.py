"""`/v3/{project_id}/qos-specs`: QoS specs, their keys and their volume type associations
(what they do on vSphere: `vistack.volume.domain.qos_specs`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services
from vistack.volume.domain import requests
from vistack.volume.domain.qos_specs import QosSpec

router = APIRouter()
JsonBody = Annotated[Any, Body()]
COLLECTION = "qos-specs"


def _view(item: QosSpec) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "consumer": item.consumer, "specs": item.specs}


def _links(request: Request, context: Context, item: QosSpec) -> list[dict[str, str]]:
    return views.links(request, context.project_id or "", COLLECTION, item.id)


@router.get(f"/v3/{COLLECTION}")
def list_qos_specs(request: Request, services: Services, context: Context) -> Response:
    found, more = services.qos_specs.list_specs(context, dict(request.query_params))
    body: dict[str, Any] = {"qos_specs": [_view(q) for q in found]}
    next_links = views.next_links(request, COLLECTION, found, more)
    if next_links:
        body["qos_specs_links"] = next_links
    return JSONBody(body)


@router.post(f"/v3/{COLLECTION}")
def create_qos_specs(
    request: Request, body: JsonBody, services: Services, context: Context
) -> Response:
    created = services.qos_specs.create(context, body)
    return JSONBody({"qos_specs": _view(created), "links": _links(request, context, created)})


@router.get(f"/v3/{COLLECTION}/{{qos_id}}")
def show_qos_specs(request: Request, qos_id: str, services: Services, context: Context) -> Response:
    found = services.qos_specs.show(context, qos_id)
    return JSONBody({"qos_specs": _view(found), "links": _links(request, context, found)})


@router.put(f"/v3/{COLLECTION}/{{qos_id}}")
def update_qos_specs(qos_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    return JSONBody({"qos_specs": services.qos_specs.update(context, qos_id, body)})


@router.delete(f"/v3/{COLLECTION}/{{qos_id}}")
def delete_qos_specs(
    request: Request, qos_id: str, services: Services, context: Context
) -> Response:
    force = requests.boolean("force", request.query_params.get("force", "false"))
    services.qos_specs.delete(context, qos_id, force=force)
    return Response(status_code=202)


@router.put(f"/v3/{COLLECTION}/{{qos_id}}/delete_keys")
def delete_qos_keys(qos_id: str, body: JsonBody, services: Services, context: Context) -> Response:
    services.qos_specs.delete_keys(context, qos_id, body)
    return Response(status_code=202)


@router.get(f"/v3/{COLLECTION}/{{qos_id}}/associations")
def list_associations(qos_id: str, services: Services, context: Context) -> Response:
    found = services.qos_specs.associations(context, qos_id)
    return JSONBody(
        {
            "qos_associations": [
                {"association_type": a.association_type, "name": a.name, "id": a.id} for a in found
            ]
        }
    )


@router.get(f"/v3/{COLLECTION}/{{qos_id}}/associate")
def associate(request: Request, qos_id: str, services: Services, context: Context) -> Response:
    services.qos_specs.associate(context, qos_id, request.query_params.get("vol_type_id"))
    return Response(status_code=202)


@router.get(f"/v3/{COLLECTION}/{{qos_id}}/disassociate")
def disassociate(request: Request, qos_id: str, services: Services, context: Context) -> Response:
    services.qos_specs.disassociate(context, qos_id, request.query_params.get("vol_type_id"))
    return Response(status_code=202)


@router.get(f"/v3/{COLLECTION}/{{qos_id}}/disassociate_all")
def disassociate_all(qos_id: str, services: Services, context: Context) -> Response:
    services.qos_specs.disassociate_all(context, qos_id)
    return Response(status_code=202)
