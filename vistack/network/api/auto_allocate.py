"""`/v2.0/auto-allocated-topology/{project_id}` (Neutron's "Get Me A Network"): GET builds the
project's topology on first call (or with `?fields=dry-run` checks it could), DELETE removes
it. Edge backend only: in `dvs` mode the domain answers 404 as Neutron without the extension.
The domain (domain/auto_allocate.py) decides; these handlers parse and render.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.network.api.deps import Context, Services

router = APIRouter()
PATH = "/v2.0/auto-allocated-topology/{project_id}"


@router.get(PATH)
def get_topology(
    project_id: str, request: Request, services: Services, context: Context
) -> Response:
    fields = [f for value in request.query_params.getlist("fields") for f in value.split(",") if f]
    topology = services.networks.auto_allocation.get(context, project_id, fields)
    return JSONBody({"auto_allocated_topology": topology})


@router.delete(PATH)
def delete_topology(project_id: str, services: Services, context: Context) -> Response:
    services.networks.auto_allocation.delete(context, project_id)
    return Response(status_code=204)
