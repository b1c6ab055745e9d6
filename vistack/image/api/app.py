"""The image sub-application: its routes, its fault format and its services."""

from __future__ import annotations

from fastapi import FastAPI

from vistack.common.web import Authenticator, install_error_handlers
from vistack.image.api import data, images, info, metadefs, versions
from vistack.image.api.deps import ImageServices
from vistack.image.api.faults import render_glance_fault

ROUTERS = (versions, images, data, info, metadefs)


def build_image_app(services: ImageServices, authenticator: Authenticator) -> FastAPI:
    app = FastAPI(
        title="vistack image (Glance v2)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v2/openapi.json",
        redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.image = services
    app.state.authenticator = authenticator
    app.state.service_type = "image"
    for module in ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app, render_glance_fault)
    return app
