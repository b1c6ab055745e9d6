"""`/os-quota-class-sets/{class_name}`: show and set a quota class's limits (administrators;
the `default` class is every project's defaults, `domain/quota_classes.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.web import JSONBody
from vistack.volume.api.deps import Context, Services

router = APIRouter()
JsonBody = Annotated[Any, Body()]


@router.get("/v3/os-quota-class-sets/{class_name}")
def show_quota_class(class_name: str, services: Services, context: Context) -> Response:
    limits = services.quota_classes.show(context, class_name)
    return JSONBody({"quota_class_set": {"id": class_name, **limits}})


@router.put("/v3/os-quota-class-sets/{class_name}")
def update_quota_class(
    class_name: str, body: JsonBody, services: Services, context: Context
) -> Response:
    # As Cinder answers it: the limits without the class's id.
    return JSONBody({"quota_class_set": services.quota_classes.update(context, class_name, body)})
