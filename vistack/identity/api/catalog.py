"""`/v3/regions`, `/v3/services` and `/v3/endpoints`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import (
    EndpointCreate,
    EndpointUpdate,
    RegionCreate,
    RegionUpdate,
    ServiceCreate,
    ServiceUpdate,
    Strict,
)

router = APIRouter()


class RegionCreateRequest(Strict):
    region: RegionCreate


class RegionUpdateRequest(Strict):
    region: RegionUpdate


class ServiceCreateRequest(Strict):
    service: ServiceCreate


class ServiceUpdateRequest(Strict):
    service: ServiceUpdate


class EndpointCreateRequest(Strict):
    endpoint: EndpointCreate


class EndpointUpdateRequest(Strict):
    endpoint: EndpointUpdate


# regions
@router.post("/v3/regions", status_code=201)
def create_region(
    request: Request, body: RegionCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_region", context)
    spec = body.region
    region = services.catalog.create_region(spec.id, spec.description or "", spec.parent_region_id)
    return JSONBody({"region": views.region_view(request, region)}, status_code=201)


@router.put("/v3/regions/{region_id}", status_code=201)
def create_region_with_id(
    request: Request,
    region_id: str,
    body: RegionCreateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "create_region", context)
    spec = body.region
    if spec.id is not None and spec.id != region_id:
        raise BadRequest("The region id in the body does not match the one in the URL.")
    region = services.catalog.create_region(
        region_id, spec.description or "", spec.parent_region_id
    )
    return JSONBody({"region": views.region_view(request, region)}, status_code=201)


@router.get("/v3/regions")
def list_regions(
    request: Request, services: Services, context: Context, parent_region_id: str | None = None
) -> Response:
    authorize(services, "list_regions", context)
    regions = services.catalog.list_regions(parent_region_id)
    return JSONBody(
        {
            "regions": [views.region_view(request, r) for r in regions],
            "links": collection_links(request),
        }
    )


@router.get("/v3/regions/{region_id}")
def get_region(request: Request, region_id: str, services: Services, context: Context) -> Response:
    authorize(services, "get_region", context)
    return JSONBody({"region": views.region_view(request, services.catalog.get_region(region_id))})


@router.patch("/v3/regions/{region_id}")
def update_region(
    request: Request,
    region_id: str,
    body: RegionUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "update_region", context)
    changes = body.region.model_dump(exclude_unset=True)
    if changes.get("description") is None:
        changes.pop("description", None)
    region = services.catalog.update_region(region_id, changes)
    return JSONBody({"region": views.region_view(request, region)})


@router.delete("/v3/regions/{region_id}", status_code=204)
def delete_region(region_id: str, services: Services, context: Context) -> Response:
    authorize(services, "delete_region", context)
    services.catalog.delete_region(region_id)
    return Response(status_code=204)


# services
@router.post("/v3/services", status_code=201)
def create_service(
    request: Request, body: ServiceCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_service", context)
    spec = body.service
    service = services.catalog.create_service(
        spec.type, spec.name or "", spec.description or "", spec.enabled
    )
    return JSONBody({"service": views.service_view(request, service)}, status_code=201)


@router.get("/v3/services")
def list_services(
    request: Request,
    services: Services,
    context: Context,
    type: str | None = None,
    name: str | None = None,
) -> Response:
    authorize(services, "list_services", context)
    found = services.catalog.list_services(type, name)
    return JSONBody(
        {
            "services": [views.service_view(request, s) for s in found],
            "links": collection_links(request),
        }
    )


@router.get("/v3/services/{service_id}")
def get_service(
    request: Request, service_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_service", context)
    service = services.catalog.get_service(service_id)
    return JSONBody({"service": views.service_view(request, service)})


@router.patch("/v3/services/{service_id}")
def update_service(
    request: Request,
    service_id: str,
    body: ServiceUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "update_service", context)
    changes = {
        k: v for k, v in body.service.model_dump(exclude_unset=True).items() if v is not None
    }
    service = services.catalog.update_service(service_id, changes)
    return JSONBody({"service": views.service_view(request, service)})


@router.delete("/v3/services/{service_id}", status_code=204)
def delete_service(service_id: str, services: Services, context: Context) -> Response:
    authorize(services, "delete_service", context)
    services.catalog.delete_service(service_id)
    return Response(status_code=204)


# endpoints
@router.post("/v3/endpoints", status_code=201)
def create_endpoint(
    request: Request, body: EndpointCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_endpoint", context)
    spec = body.endpoint
    endpoint = services.catalog.create_endpoint(
        spec.service_id, spec.interface, spec.url, spec.region_id or spec.region, spec.enabled
    )
    return JSONBody({"endpoint": views.endpoint_view(request, endpoint)}, status_code=201)


@router.get("/v3/endpoints")
def list_endpoints(
    request: Request,
    services: Services,
    context: Context,
    service_id: str | None = None,
    interface: str | None = None,
    region_id: str | None = None,
) -> Response:
    authorize(services, "list_endpoints", context)
    found = services.catalog.list_endpoints(
        service_id=service_id, interface=interface, region_id=region_id
    )
    return JSONBody(
        {
            "endpoints": [views.endpoint_view(request, e) for e in found],
            "links": collection_links(request),
        }
    )


@router.get("/v3/endpoints/{endpoint_id}")
def get_endpoint(
    request: Request, endpoint_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_endpoint", context)
    endpoint = services.catalog.get_endpoint(endpoint_id)
    return JSONBody({"endpoint": views.endpoint_view(request, endpoint)})


@router.patch("/v3/endpoints/{endpoint_id}")
def update_endpoint(
    request: Request,
    endpoint_id: str,
    body: EndpointUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "update_endpoint", context)
    changes = body.endpoint.model_dump(exclude_unset=True)
    if "region" in changes:
        changes["region_id"] = changes.pop("region")
    endpoint = services.catalog.update_endpoint(endpoint_id, changes)
    return JSONBody({"endpoint": views.endpoint_view(request, endpoint)})


@router.delete("/v3/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, services: Services, context: Context) -> Response:
    authorize(services, "delete_endpoint", context)
    services.catalog.delete_endpoint(endpoint_id)
    return Response(status_code=204)
