"""The identity sub-application: its routes, its fault format and its services."""

from __future__ import annotations

from fastapi import FastAPI

from vistack.common.web import Authenticator, install_error_handlers
from vistack.identity.api import (
    access_rules,
    app_credentials,
    auth,
    catalog,
    credentials,
    domains,
    ec2,
    grants,
    groups,
    limits,
    projects,
    roles,
    trusts,
    users,
    versions,
)
from vistack.identity.api.deps import IdentityServices
from vistack.identity.api.faults import render_keystone_fault

ROUTERS = (
    versions,
    auth,
    domains,
    projects,
    users,
    groups,
    roles,
    grants,
    catalog,
    app_credentials,
    access_rules,
    trusts,
    credentials,
    ec2,
    limits,
)


def build_identity_app(services: IdentityServices, authenticator: Authenticator) -> FastAPI:
    app = FastAPI(
        title="vistack identity (Keystone v3)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v3/openapi.json",
        redirect_slashes=False,
        # FastAPI's telemetry probes OpenTelemetry's environment on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.identity = services
    app.state.authenticator = authenticator
    # The service type application credential access rules name (see `authenticated_context`).
    app.state.service_type = "identity"
    for module in ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app, render_keystone_fault)
    return app
