"""`/v3/domains`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links, query_bool
from vistack.identity.api.schemas import DomainCreate, DomainUpdate, Strict

router = APIRouter()


class DomainCreateRequest(Strict):
    domain: DomainCreate


class DomainUpdateRequest(Strict):
    domain: DomainUpdate


@router.post("/v3/domains", status_code=201)
def create_domain(
    request: Request, body: DomainCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_domain", context)
    spec = body.domain
    domain = services.resources.create_domain(
        spec.name, spec.description or "", spec.enabled, spec.id
    )
    return JSONBody({"domain": views.domain_view(request, domain)}, status_code=201)


@router.get("/v3/domains")
def list_domains(
    request: Request,
    services: Services,
    context: Context,
    name: str | None = None,
    enabled: str | None = None,
) -> Response:
    authorize(services, "list_domains", context)
    domains = services.resources.list_domains(name=name, enabled=query_bool(enabled))
    return JSONBody(
        {
            "domains": [views.domain_view(request, d) for d in domains],
            "links": collection_links(request),
        }
    )


@router.get("/v3/domains/{domain_id}")
def get_domain(request: Request, domain_id: str, services: Services, context: Context) -> Response:
    authorize(services, "get_domain", context, domain__id=domain_id)
    return JSONBody(
        {"domain": views.domain_view(request, services.resources.get_domain(domain_id))}
    )


@router.patch("/v3/domains/{domain_id}")
def update_domain(
    request: Request,
    domain_id: str,
    body: DomainUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "update_domain", context, domain__id=domain_id)
    changes = body.domain.model_dump(exclude_unset=True, exclude={"tags", "options"})
    if changes.get("description") is None:
        changes.pop("description", None)
    domain = services.resources.update_domain(domain_id, changes)
    return JSONBody({"domain": views.domain_view(request, domain)})


@router.delete("/v3/domains/{domain_id}", status_code=204)
def delete_domain(domain_id: str, services: Services, context: Context) -> Response:
    authorize(services, "delete_domain", context, domain__id=domain_id)
    services.resources.delete_domain(domain_id)
    return Response(status_code=204)
