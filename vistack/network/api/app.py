"""The network sub-application: its routes, its fault format and its services."""

from __future__ import annotations

from fastapi import FastAPI

from vistack.common.web import Authenticator, install_error_handlers
from vistack.network.api import (
    agents,
    extensions,
    l3,
    metering,
    quotas,
    rbac,
    resources,
    subnetpools,
    versions,
    zones,
)
from vistack.network.api.deps import NetworkServices
from vistack.network.api.faults import install_typed_faults, render_neutron_fault

#: Order matters: quotas and extensions before the generic `/{resource}/{id}/tags` routes.
ROUTERS = (versions, agents, zones, extensions, quotas, rbac, subnetpools, resources)


def build_network_app(services: NetworkServices, authenticator: Authenticator) -> FastAPI:
    app = FastAPI(
        title="vistack network (Neutron v2.0)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v2.0/openapi.json",
        redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.network = services
    app.state.authenticator = authenticator
    app.state.service_type = "network"
    # L3 first: its tag routes go ahead of the generic ones. In `dvs` mode the same paths
    # answer the no-L3 404 instead.
    app.include_router(l3.router if services.networks.options.l3 else extensions.no_l3_router)
    # Metering likewise (and ahead of the generic `/{resource}/{id}` routes).
    app.include_router(
        metering.router if services.networks.options.l3 else metering.no_metering_router
    )
    for module in ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app, render_neutron_fault)
    install_typed_faults(app)
    return app
