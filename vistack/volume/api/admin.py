"""`/limits`, `/os-quota-sets`, `/os-availability-zone`, `/os-services` and
`/scheduler-stats/get_pools`: what a project may use and what the backend is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.volume.api.deps import Context, Services
from vistack.volume.api.service_admin import versioned_action, versioned_service
from vistack.volume.api.views import version_of
from vistack.volume.domain import pool_filters, requests

router = APIRouter()
JsonBody = Annotated[Any, Body()]


@router.get("/v3/limits")
def show_limits(request: Request, services: Services, context: Context) -> Response:
    named = request.query_params.get("project_id") if version_of(request) >= (3, 39) else None
    absolute = services.quotas.absolute_limits(context, named or None)
    return JSONBody({"limits": {"rate": [], "absolute": absolute}})


@router.get("/v3/os-quota-sets/{project_id}/defaults")
def quota_defaults(project_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"quota_set": {"id": project_id, **services.quotas.defaults()}})


@router.get("/v3/os-quota-sets/{project_id}")
def show_quotas(
    request: Request, project_id: str, services: Services, context: Context
) -> Response:
    usage = requests.boolean("usage", request.query_params.get("usage", "false"))
    quota_set = services.quotas.show(context, project_id, usage=usage)
    return JSONBody({"quota_set": {"id": project_id, **quota_set}})


@router.put("/v3/os-quota-sets/{project_id}")
def update_quotas(
    project_id: str, body: JsonBody, services: Services, context: Context
) -> Response:
    return JSONBody({"quota_set": services.quotas.update(context, project_id, body)})


@router.delete("/v3/os-quota-sets/{project_id}")
def delete_quotas(project_id: str, services: Services, context: Context) -> Response:
    services.quotas.delete(context, project_id)
    return Response(status_code=200)


@router.get("/v3/os-availability-zone")
def list_zones(services: Services, context: Context) -> Response:
    return JSONBody({"availabilityZoneInfo": services.backend.zones(context)})


@router.get("/v3/os-services")
def list_services(request: Request, services: Services, context: Context) -> Response:
    params = request.query_params
    found = services.backend.services(
        context, binary=params.get("binary") or None, host=params.get("host") or None
    )
    return JSONBody({"services": [versioned_service(request, s) for s in found]})


@router.get("/v3/os-hosts")
def list_hosts(services: Services, context: Context) -> Response:
    return JSONBody({"hosts": services.backend.hosts(context)})


@router.get("/v3/os-hosts/{host}")
def show_host(host: str, services: Services, context: Context) -> Response:
    return JSONBody({"host": services.backend.host_usage(context, host)})


@router.put("/v3/os-services/{action}")
def service_action(
    request: Request, action: str, body: JsonBody, services: Services, context: Context
) -> Response:
    answered = versioned_action(request, action, body, services, context)
    if answered is not None:
        return answered
    services.backend.service_action(context, action, body)
    return Response(status_code=200)  # not reached: the action is refused (see the domain)


#: The Cinder API extensions this service implements (what `GET /extensions` lists).
EXTENSIONS = (
    ("os-admin-actions", "AdminActions", "Enable admin actions (reset_status, force_delete)."),
    ("os-availability-zone", "AvailabilityZones", "Describe availability zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Snapshot progress."),
    ("os-hosts", "Hosts", "Admin-only host administration (usage per host)."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes management support."),
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-services", "Services", "Services support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the project of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
    ("scheduler-stats", "Scheduler_stats", "Scheduler stats support."),
)


@router.get("/v3/extensions")
def list_extensions(services: Services, context: Context) -> Response:
    return JSONBody(
        {
            "extensions": [
                {
                    "alias": alias,
                    "name": name,
                    "description": description,
                    "updated": "2013-01-01T00:00:00+00:00",
                    "links": [],
                }
                for alias, name, description in EXTENSIONS
            ]
        }
    )


@router.get("/v3/scheduler-stats/get_pools")
def get_pools(request: Request, services: Services, context: Context) -> Response:
    detail = requests.boolean("detail", request.query_params.get("detail", "false"))
    pools = pool_filters.select(
        services.backend.pools(context, detail=detail),
        dict(request.query_params),
        version_of(request),
        lambda ref: services.types.show(context, ref).extra_specs,
    )
    return JSONBody({"pools": pools})


@router.get("/v3/capabilities/{host}")
def show_capabilities(host: str, services: Services, context: Context) -> Response:
    return JSONBody(services.backend.capabilities(context, host))
