"""What every image handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from vistack.common.context import RequestContext
from vistack.common.web import authenticated_context
from vistack.image.domain.data import ImageDataService
from vistack.image.domain.images import ImageService
from vistack.image.domain.imports import ImportService
from vistack.image.domain.metadefs import MetadefService


@dataclass(frozen=True)
class ImageServices:
    """The image domain services, built once by the composition root."""

    images: ImageService
    data: ImageDataService
    imports: ImportService
    metadefs: MetadefService


async def image_services(request: Request) -> ImageServices:
    services: ImageServices = request.app.state.image
    return services


Services = Annotated[ImageServices, Depends(image_services)]
Context = Annotated[RequestContext, Depends(authenticated_context)]
