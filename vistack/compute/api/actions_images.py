"""createImage and createBackup: a snapshot of the server's root disk into Glance (for a
volume-backed server, createImage snapshots its volumes in Cinder instead and the image maps
them: `domain/volume_snapshots.py`).

Both answer 202. Before 2.45 the image is named by a `Location` header (a backup's only when
its rotation keeps it, as Nova does); from 2.45 by the body `{"image_id": ...}`.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response

from vistack.common.errors import Conflict
from vistack.common.web import JSONBody
from vistack.compute.api.action_registry import ActionCall, action

T = TypeVar("T")


def need(service: T | None) -> T:
    """A disk action's service; absent only in a cloud built without them."""
    if service is None:
        raise Conflict("This cloud does not perform this server action.")
    return service


def image_answer(call: ActionCall, image_id: str, *, located: bool = True) -> Response:
    if call.version.at_least("2.45"):
        return JSONBody({"image_id": image_id}, status_code=202)
    headers = {}
    if located and call.request is not None:
        url = call.request.url
        headers["Location"] = f"{url.scheme}://{url.netloc}/image/v2/images/{image_id}"
    return Response(status_code=202, headers=headers)


@action("createImage")
def create_image(call: ActionCall) -> Response | None:
    snapshots = need(call.services.disk).snapshots
    image = snapshots.create_image(
        call.context,
        call.server_id,
        call.argument,
        count_metadata=not call.version.at_least("2.39"),
    )
    return image_answer(call, image.id)


@action("createBackup")
def create_backup(call: ActionCall) -> Response | None:
    snapshots = need(call.services.disk).snapshots
    image, rotation = snapshots.create_backup(
        call.context,
        call.server_id,
        call.argument,
        count_metadata=not call.version.at_least("2.39"),
    )
    return image_answer(call, image.id, located=rotation > 0)
