"""`/v3/registered_limits`, `/v3/limits` and `/v3/limits/model`: Keystone's unified limits.

Policy follows Keystone's defaults: anyone may read registered limits and the model, a cloud
admin writes everything, and a limit is readable by a cloud reader and by tokens scoped to its
project, to its domain or to its project's domain. A list is filtered per item with
`get_limit`, so a project member listing limits sees its own project's only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field, StrictInt

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.identity.api.deps import Context, Services, authorize, collection_links, v3_url
from vistack.identity.api.schemas import Id, Name, Strict
from vistack.identity.domain.limits import Limit, LimitSpec, RegisteredLimit

router = APIRouter()

#: Keystone stores limits in a signed 32-bit INT; -1 is "unlimited".
LimitValue = Field(ge=-1, le=0x7FFFFFFF)
RegionId = Field(default=None, min_length=1, max_length=255)


class RegisteredLimitCreate(Strict):
    service_id: str = Id
    resource_name: str = Name
    default_limit: StrictInt = LimitValue
    region_id: str | None = RegionId
    description: str | None = None


class RegisteredLimitUpdate(Strict):
    service_id: str | None = Field(default=None, min_length=1, max_length=64)
    resource_name: str | None = Field(default=None, min_length=1, max_length=255)
    default_limit: StrictInt | None = Field(default=None, ge=-1, le=0x7FFFFFFF)
    #: null moves the registration to every region.
    region_id: str | None = RegionId
    description: str | None = None


class LimitCreate(Strict):
    service_id: str = Id
    resource_name: str = Name
    resource_limit: StrictInt = LimitValue
    region_id: str | None = RegionId
    project_id: str | None = Field(default=None, min_length=1, max_length=64)
    domain_id: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = None


class LimitUpdate(Strict):
    resource_limit: StrictInt | None = Field(default=None, ge=-1, le=0x7FFFFFFF)
    description: str | None = None


class RegisteredLimitsCreateRequest(Strict):
    registered_limits: list[RegisteredLimitCreate] = Field(min_length=1)


class RegisteredLimitUpdateRequest(Strict):
    registered_limit: RegisteredLimitUpdate


class LimitsCreateRequest(Strict):
    limits: list[LimitCreate] = Field(min_length=1)


class LimitUpdateRequest(Strict):
    limit: LimitUpdate


def registered_limit_view(request: Request, registered: RegisteredLimit) -> dict[str, Any]:
    return {
        "id": registered.id,
        "service_id": registered.service_id,
        "region_id": registered.region_id,
        "resource_name": registered.resource_name,
        "default_limit": registered.default_limit,
        "description": registered.description,
        "links": {"self": v3_url(request, "registered_limits", registered.id)},
    }


def limit_view(request: Request, limit: Limit) -> dict[str, Any]:
    return {
        "id": limit.id,
        "project_id": limit.project_id,
        "domain_id": limit.domain_id,
        "service_id": limit.service_id,
        "region_id": limit.region_id,
        "resource_name": limit.resource_name,
        "resource_limit": limit.resource_limit,
        "description": limit.description,
        "links": {"self": v3_url(request, "limits", limit.id)},
    }


def _non_null(changes: dict[str, Any], *fields: str) -> dict[str, Any]:
    """Only descriptions and a registration's region may be set to null (Keystone's schema).

    :raises BadRequest: another field is null.
    """
    for name in fields:
        if name in changes and changes[name] is None:
            raise BadRequest(f"Invalid input for field {name!r}: None is not valid.")
    return changes


# registered limits
@router.post("/v3/registered_limits", status_code=201)
def create_registered_limits(
    request: Request, body: RegisteredLimitsCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_registered_limits", context)
    created = services.limits.create_registered_limits(
        [
            RegisteredLimit(
                id="",
                service_id=spec.service_id,
                resource_name=spec.resource_name,
                default_limit=spec.default_limit,
                region_id=spec.region_id,
                description=spec.description,
            )
            for spec in body.registered_limits
        ]
    )
    return JSONBody(
        {"registered_limits": [registered_limit_view(request, r) for r in created]},
        status_code=201,
    )


@router.get("/v3/registered_limits")
def list_registered_limits(
    request: Request,
    services: Services,
    context: Context,
    service_id: str | None = None,
    region_id: str | None = None,
    resource_name: str | None = None,
) -> Response:
    authorize(services, "list_registered_limits", context)
    found = services.limits.list_registered_limits(service_id, region_id, resource_name)
    return JSONBody(
        {
            "registered_limits": [registered_limit_view(request, r) for r in found],
            "links": collection_links(request),
        }
    )


@router.get("/v3/registered_limits/{registered_limit_id}")
def get_registered_limit(
    request: Request, registered_limit_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_registered_limit", context)
    registered = services.limits.get_registered_limit(registered_limit_id)
    return JSONBody({"registered_limit": registered_limit_view(request, registered)})


@router.patch("/v3/registered_limits/{registered_limit_id}")
def update_registered_limit(
    request: Request,
    registered_limit_id: str,
    body: RegisteredLimitUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "update_registered_limit", context)
    changes = _non_null(
        body.registered_limit.model_dump(exclude_unset=True),
        "service_id",
        "resource_name",
        "default_limit",
    )
    registered = services.limits.update_registered_limit(registered_limit_id, changes)
    return JSONBody({"registered_limit": registered_limit_view(request, registered)})


@router.delete("/v3/registered_limits/{registered_limit_id}", status_code=204)
def delete_registered_limit(
    registered_limit_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "delete_registered_limit", context)
    services.limits.delete_registered_limit(registered_limit_id)
    return Response(status_code=204)


# project and domain limits
@router.get("/v3/limits/model")
def get_limit_model(services: Services, context: Context) -> Response:
    authorize(services, "get_limit_model", context)
    return JSONBody({"model": services.limits.model()})


@router.post("/v3/limits", status_code=201)
def create_limits(
    request: Request, body: LimitsCreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_limits", context)
    created = services.limits.create_limits(
        [
            LimitSpec(
                service_id=spec.service_id,
                resource_name=spec.resource_name,
                resource_limit=spec.resource_limit,
                region_id=spec.region_id,
                project_id=spec.project_id,
                domain_id=spec.domain_id,
                description=spec.description,
            )
            for spec in body.limits
        ]
    )
    return JSONBody({"limits": [limit_view(request, limit) for limit in created]}, status_code=201)


class _Targets:
    """Builds `get_limit` targets, looking each project's domain up once per request.

    The project's domain only matters to a domain-scoped token (the only one whose credentials
    carry a `domain_id`), so other callers never pay for the lookup.
    """

    def __init__(self, services: Services, context: RequestContext) -> None:
        self._services = services
        self._with_domains = context.domain_id is not None
        self._domains: dict[str, str | None] = {}

    def __call__(self, limit: Limit | None) -> dict[str, Any]:
        if limit is None:
            return {}
        target: dict[str, Any] = {
            "target.limit.id": limit.id,
            "target.limit.project_id": limit.project_id,
            "target.limit.domain.id": limit.domain_id,
        }
        if self._with_domains and limit.project_id is not None:
            target["target.limit.project.domain_id"] = self._project_domain(limit.project_id)
        return {key: value for key, value in target.items() if value is not None}

    def _project_domain(self, project_id: str) -> str | None:
        if project_id not in self._domains:
            try:
                domain = self._services.resources.get_project(project_id).domain_id
            except NotFound:
                domain = None
            self._domains[project_id] = domain
        return self._domains[project_id]


@router.get("/v3/limits")
def list_limits(
    request: Request,
    services: Services,
    context: Context,
    service_id: str | None = None,
    region_id: str | None = None,
    resource_name: str | None = None,
    project_id: str | None = None,
    domain_id: str | None = None,
) -> Response:
    authorize(services, "list_limits", context)
    targets = _Targets(services, context)
    found = services.limits.list_limits(
        service_id=service_id,
        region_id=region_id,
        resource_name=resource_name,
        project_id=project_id,
        domain_id=domain_id,
    )
    visible = [
        limit
        for limit in found
        if services.policy.check("identity:get_limit", context, targets(limit))
    ]
    return JSONBody(
        {
            "limits": [limit_view(request, limit) for limit in visible],
            "links": collection_links(request),
        }
    )


def _limit(services: Services, context: RequestContext, rule: str, limit_id: str) -> Limit:
    """The limit, once policy allowed `rule` on it (403 before 404, as in Keystone)."""
    limit = services.limits.find_limit(limit_id)
    services.policy.authorize(f"identity:{rule}", context, _Targets(services, context)(limit))
    if limit is None:
        raise NotFound(f"Could not find limit for {limit_id}.")
    return limit


@router.get("/v3/limits/{limit_id}")
def get_limit(request: Request, limit_id: str, services: Services, context: Context) -> Response:
    return JSONBody(
        {"limit": limit_view(request, _limit(services, context, "get_limit", limit_id))}
    )


@router.patch("/v3/limits/{limit_id}")
def update_limit(
    request: Request,
    limit_id: str,
    body: LimitUpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    _limit(services, context, "update_limit", limit_id)
    changes = _non_null(body.limit.model_dump(exclude_unset=True), "resource_limit")
    limit = services.limits.update_limit(limit_id, changes)
    return JSONBody({"limit": limit_view(request, limit)})


@router.delete("/v3/limits/{limit_id}", status_code=204)
def delete_limit(limit_id: str, services: Services, context: Context) -> Response:
    _limit(services, context, "delete_limit", limit_id)
    services.limits.delete_limit(limit_id)
    return Response(status_code=204)
