"""The volume sub-application: its routes, its microversions and Cinder's fault format."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from vistack.common.web import Authenticator, install_error_handlers
from vistack.volume.api import (
    admin,
    attachments,
    backups,
    default_types,
    encryption,
    group_snapshots,
    group_types,
    groups,
    manageable,
    messages,
    qos_specs,
    quota_classes,
    resource_filters,
    service_admin,
    snapshots,
    transfers,
    types,
    versions,
    volume_actions,
    volume_summary,
    volumes,
)
from vistack.volume.api.deps import VolumeServices
from vistack.volume.api.faults import render_cinder_fault
from vistack.volume.api.microversion import MicroversionMiddleware
from vistack.volume.api.project_path import with_project_paths

# volume_summary before volumes: `/v3/volumes/summary` must win over `/v3/volumes/{volume_id}`.
ROUTERS = (
    versions,
    volume_summary,
    volumes,
    volume_actions,
    types,
    snapshots,
    admin,
    attachments,
    messages,
    manageable,
    default_types,
    service_admin,
    resource_filters,
    transfers,
    qos_specs,
    encryption,
    group_types,
    groups,
    group_snapshots,
    backups,
    quota_classes,
)


def build_volume_app(services_: VolumeServices, authenticator: Authenticator) -> ASGIApp:
    app = FastAPI(
        title="vistack block storage (Cinder v3)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v3/openapi.json",
        redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.volume = services_
    app.state.authenticator = authenticator
    app.state.service_type = "block-storage"
    for module in ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app, render_cinder_fault)
    paths = [getattr(route, "path", "") for module in ROUTERS for route in module.router.routes]
    return MicroversionMiddleware(with_project_paths(app, paths))
