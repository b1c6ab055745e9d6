"""Glance's JSON shapes for images and members.

Links (`self`, `file`, `schema`) are paths relative to the service root, as Glance writes them;
properties sit beside the core attributes in one flat object.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from vistack.image.domain.models import CORE_ATTRIBUTES, Image, ImageTask, Member

#: Core attributes Glance shows; `owner` etc. are shown even when null.
SHOWN = tuple(a for a in CORE_ATTRIBUTES if a not in {"created_at", "updated_at"})


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image, store_order: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Glance's image object; `stores` lists the image's stores in `store_order` (by weight)."""
    view: dict[str, Any] = dict(image.properties)
    for name in SHOWN:
        view[name] = getattr(image, name)
    view.update(
        created_at=timestamp(image.created_at),
        updated_at=timestamp(image.updated_at),
        tags=list(image.tags),
        self=f"/v2/images/{image.id}",
        file=f"/v2/images/{image.id}/file",
        schema="/v2/schemas/image",
    )
    if image.locations:
        view["stores"] = ",".join(sorted(image.locations, key=store_order))
    return view


def member_view(member: Member) -> dict[str, Any]:
    return {
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status,
        "created_at": timestamp(member.created_at),
        "updated_at": timestamp(member.updated_at),
        "schema": "/v2/schemas/member",
    }


def task_view(task: ImageTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "user_id": task.user_id,
        "request_id": task.request_id,
        "image_id": task.image_id,
        "input": task.input,
        "result": task.result,
        "message": task.message,
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
        "expires_at": None if task.expires_at is None else timestamp(task.expires_at),
    }
