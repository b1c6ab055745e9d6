"""The compute sub-application: its routes, its microversions and Nova's fault format."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from vistack.common.web import Authenticator, install_error_handlers
from vistack.compute.api import (
    actions_security,
    aggregates,
    assisted_snapshots,
    consoles,
    extensions,
    external_events,
    flavors,
    floating_ips,
    hosts,
    hypervisors,
    images,
    instance_actions,
    keypairs,
    limits,
    migrations,
    networks,
    quotas,
    removed,
    security_groups,
    server_actions,
    server_diagnostics,
    server_groups,
    server_interfaces,
    server_metadata,
    server_password,
    server_tags,
    server_topology,
    servers,
    services,
    usage,
    usage_audit_log,
    versions,
    volume_attachments,
    volumes_proxy,
    zones,
)
from vistack.compute.api.deps import ComputeServices
from vistack.compute.api.faults import render_nova_fault
from vistack.compute.api.legacy_v2 import LegacyV2Middleware
from vistack.compute.api.microversion import MicroversionMiddleware
from vistack.compute.api.project_path import with_project_paths

ROUTERS = (
    versions,
    flavors,
    keypairs,
    servers,
    instance_actions,
    server_actions,
    server_metadata,
    server_groups,
    server_tags,
    server_topology,
    hypervisors,
    hosts,
    images,
    services,
    zones,
    quotas,
    limits,
    aggregates,
    usage,
    migrations,
    server_interfaces,
    actions_security,
    server_diagnostics,
    consoles,
    removed,
    security_groups,
    networks,
    floating_ips,
    volume_attachments,
    assisted_snapshots,
    volumes_proxy,
    extensions,
    server_password,
    usage_audit_log,
    external_events,
)


def build_compute_app(services_: ComputeServices, authenticator: Authenticator) -> ASGIApp:
    app = FastAPI(
        title="vistack compute (Nova v2.1)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v2.1/openapi.json",
        redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.compute = services_
    app.state.authenticator = authenticator
    app.state.service_type = "compute"
    for module in ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app, render_nova_fault)
    paths = [getattr(route, "path", "") for module in ROUTERS for route in module.router.routes]
    return LegacyV2Middleware(MicroversionMiddleware(with_project_paths(app, paths)))
