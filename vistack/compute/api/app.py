"""The compute sub-application: its routes, its microversions and Nova's fault format."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from vistack.common.web import Authenticator, install_error_handlers
from vistack.compute.api import (
    aggregates,
    flavors,
    hypervisors,
    keypairs,
    limits,
    migrations,
    quotas,
    server_actions,
    server_metadata,
    servers,
    services,
    usage,
    versions,
    zones,
)
from vistack.compute.api.deps import ComputeServices
from vistack.compute.api.faults import render_nova_fault
from vistack.compute.api.microversion import MicroversionMiddleware

ROUTERS = (
    versions,
    flavors,
    keypairs,
    servers,
    server_actions,
    server_metadata,
    hypervisors,
    services,
    zones,
    quotas,
    limits,
    aggregates,
    usage,
    migrations,
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
    return MicroversionMiddleware(app)
