"""`/v3/clusters` (3.7), `/v3/workers/cleanup` (3.24) and the service actions added by
microversion (`set-log`/`get-log` 3.32, `failover` 3.26); see `domain/service_admin.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import Context, Services, VolumeServices
from vistack.volume.domain.service_admin import ServiceAdmin

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def service_admin(services: VolumeServices) -> ServiceAdmin:
    return ServiceAdmin(services.volumes.policy, services.backend.services)


def _since(request: Request, version: tuple[int, int], what: str) -> None:
    if views.version_of(request) < version:
        raise NotFound(
            f"The resource could not be found: {what} is microversion {version[0]}.{version[1]}."
        )


def versioned_service(request: Request, service: dict[str, Any]) -> dict[str, Any]:
    """A service as `os-services` lists it at the request's version: `cluster_name` from 3.7
    (none: no clusters here), the volume service's `backend_state` from 3.49 (whether its
    vCenter is configured and reachable, as the service's state says)."""
    version = views.version_of(request)
    shown = dict(service)
    if version >= (3, 7):
        shown["cluster_name"] = None
    if version >= (3, 49) and service["binary"] == "cinder-volume":
        shown["backend_state"] = "up" if service["state"] == "up" else "down"
    return shown


def versioned_action(
    request: Request, action: str, body: Any, services: VolumeServices, context: Context
) -> Response | None:
    """`PUT /os-services/set-log|get-log` from 3.32 and `failover` from 3.26 (None for the
    actions every version has). A failover is `failover_host`'s refusal: this backend has no
    replication target; a cluster named is not found (there are none)."""
    version = views.version_of(request)
    if action == "failover" and version >= (3, 26):
        if isinstance(body, dict) and body.get("cluster") is not None:
            service_admin(services).cluster(context, str(body["cluster"]))
        services.backend.service_action(context, "failover_host", body)
        return None  # not reached: the backend refuses or raises 400/404
    if action not in ("set-log", "get-log") or version < (3, 32):
        return None
    admin = service_admin(services)
    if action == "set-log":
        admin.set_log(context, body)
        return Response(status_code=202)
    return JSONBody({"log_levels": admin.get_log(context, body)})


def _clusters(request: Request, services: Services, context: Context) -> Response:
    _since(request, (3, 7), "clusters")
    return JSONBody({"clusters": service_admin(services).clusters(context)})


@router.get("/v3/clusters")
def list_clusters(request: Request, services: Services, context: Context) -> Response:
    return _clusters(request, services, context)


@router.get("/v3/clusters/detail")
def list_clusters_detail(request: Request, services: Services, context: Context) -> Response:
    return _clusters(request, services, context)


@router.get("/v3/clusters/{name}")
def show_cluster(request: Request, name: str, services: Services, context: Context) -> Response:
    _since(request, (3, 7), "clusters")
    return JSONBody({"cluster": service_admin(services).cluster(context, name)})


@router.put("/v3/clusters/{action}")
def update_cluster(
    request: Request, action: str, body: JsonBody, services: Services, context: Context
) -> Response:
    _since(request, (3, 7), "clusters")
    return JSONBody({"cluster": service_admin(services).update_cluster(context, action, body)})


@router.post("/v3/workers/cleanup")
def cleanup(request: Request, body: JsonBody, services: Services, context: Context) -> Response:
    _since(request, (3, 24), "workers/cleanup")
    return JSONBody(service_admin(services).cleanup(context, body), status_code=202)
