"""`/v3/roles`, implied roles and `/v3/role_inferences`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import RoleCreate, RoleUpdate, Strict
from vistack.identity.domain.models import Role

router = APIRouter()


class RoleCreateRequest(Strict):
    role: RoleCreate


class RoleUpdateRequest(Strict):
    role: RoleUpdate


@router.post("/v3/roles", status_code=201)
def create_role(
    request: Request, body: RoleCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_role", context, role__domain_id=body.role.domain_id)
    spec = body.role
    role = services.assignments.create_role(
        spec.name, spec.domain_id, spec.description, spec.options
    )
    return JSONBody({"role": views.role_view(request, role)}, status_code=201)


@router.get("/v3/roles")
def list_roles(
    request: Request,
    services: Services,
    context: Context,
    name: str | None = None,
    domain_id: str | None = None,
) -> Response:
    authorize(services, "list_roles", context, domain_id=domain_id)
    roles = services.assignments.list_roles(name=name, domain_id=domain_id)
    return JSONBody(
        {"roles": [views.role_view(request, r) for r in roles], "links": collection_links(request)}
    )


@router.get("/v3/roles/{role_id}")
def get_role(request: Request, role_id: str, services: Services, context: Context) -> Response:
    role = services.assignments.get_role(role_id)
    authorize(services, "get_role", context, role__domain_id=role.domain_id)
    return JSONBody({"role": views.role_view(request, role)})


@router.patch("/v3/roles/{role_id}")
def update_role(
    request: Request, role_id: str, body: RoleUpdateRequest, services: Services, context: Context
) -> Response:
    role = services.assignments.get_role(role_id)
    authorize(services, "update_role", context, role__domain_id=role.domain_id)
    updated = services.assignments.update_role(role_id, body.role.model_dump(exclude_unset=True))
    return JSONBody({"role": views.role_view(request, updated)})


@router.delete("/v3/roles/{role_id}", status_code=204)
def delete_role(role_id: str, services: Services, context: Context) -> Response:
    role = services.assignments.get_role(role_id)
    authorize(services, "delete_role", context, role__domain_id=role.domain_id)
    services.assignments.delete_role(role_id)
    return Response(status_code=204)


def _inference(request: Request, prior: Role, implied: list[Role]) -> dict[str, Any]:
    return {
        "prior_role": views.role_ref(request, prior),
        "implies": [views.role_ref(request, role) for role in implied],
    }


@router.put("/v3/roles/{prior_id}/implies/{implied_id}", status_code=201)
def create_implied_role(
    request: Request, prior_id: str, implied_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "create_implied_role", context)
    prior, implied = services.assignments.create_implied_role(prior_id, implied_id)
    return JSONBody(
        {
            "role_inference": {
                "prior_role": views.role_ref(request, prior),
                "implies": views.role_ref(request, implied),
            },
            "links": {"self": str(request.url)},
        },
        status_code=201,
    )


@router.get("/v3/roles/{prior_id}/implies/{implied_id}")
def get_implied_role(
    request: Request, prior_id: str, implied_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_implied_role", context)
    prior, implied = services.assignments.get_implied_role(prior_id, implied_id)
    return JSONBody(
        {
            "role_inference": {
                "prior_role": views.role_ref(request, prior),
                "implies": views.role_ref(request, implied),
            },
            "links": {"self": str(request.url)},
        }
    )


@router.head("/v3/roles/{prior_id}/implies/{implied_id}", status_code=204)
def check_implied_role(
    prior_id: str, implied_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_implied_role", context)
    services.assignments.get_implied_role(prior_id, implied_id)
    return Response(status_code=204)


@router.delete("/v3/roles/{prior_id}/implies/{implied_id}", status_code=204)
def delete_implied_role(
    prior_id: str, implied_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "delete_implied_role", context)
    services.assignments.delete_implied_role(prior_id, implied_id)
    return Response(status_code=204)


@router.get("/v3/roles/{prior_id}/implies")
def list_implied_roles(
    request: Request, prior_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "list_implied_roles", context)
    prior, implied = services.assignments.list_implied_roles(prior_id)
    return JSONBody(
        {"role_inference": _inference(request, prior, implied), "links": {"self": str(request.url)}}
    )


@router.get("/v3/role_inferences")
def list_role_inferences(request: Request, services: Services, context: Context) -> Response:
    authorize(services, "list_role_inference_rules", context)
    inferences = services.assignments.list_role_inferences()
    return JSONBody(
        {
            "role_inferences": [_inference(request, p, i) for p, i in inferences],
            "links": {"self": str(request.url)},
        }
    )
