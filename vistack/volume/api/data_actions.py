"""The volume actions that move a disk's data, and their microversion gates: upload to an
image (`os-volume_upload_image`; visibility and protected from 3.1), `revert` (3.40),
`os-extend` of an in-use volume (3.42) and the administrator's `os-migrate_volume`.
`volume_actions.py` hands them here before its own table."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from vistack.common.context import RequestContext
from vistack.common.errors import NotFound, NotImplementedByBackend, ServiceUnavailable
from vistack.common.microversion import Version
from vistack.common.web import JSONBody
from vistack.volume.api import views
from vistack.volume.api.deps import VolumeServices
from vistack.volume.domain.data_path import DataPath
from vistack.volume.domain.upload import UploadStarted

#: Actions handled here (the rest are `volume_actions.ACTIONS`).
NAMES = frozenset({"os-volume_upload_image", "revert", "os-migrate_volume", "os-extend"})


def dispatch(
    name: str,
    services: VolumeServices,
    context: RequestContext,
    volume_id: str,
    body: Any,
    version: Version,
) -> Response | None:
    """Run action `name` if it is one of these; None hands it back to the caller's table."""
    data_path = services.data_path
    if name == "os-extend":
        services.actions.extend(context, volume_id, body, attached=version.at_least("3.42"))
        return Response(status_code=202)
    if name == "revert":
        if not version.at_least("3.40"):
            services.volumes.get(context, volume_id)  # 404 for a volume the caller cannot see
            # Cinder's answer for an action its microversion does not have yet.
            raise NotFound("The revert action needs microversion 3.40 or later.")
        _need(data_path, services, context, volume_id).revert.start(context, volume_id, body)
        return Response(status_code=202)
    if name == "os-migrate_volume":
        _need(data_path, services, context, volume_id).migration.migrate(context, volume_id, body)
        return Response(status_code=202)
    if name == "os-volume_upload_image":
        upload = _need(data_path, services, context, volume_id).upload
        if upload is None:
            raise NotImplementedByBackend("There is no image service to upload volumes to.")
        started = upload.start(context, volume_id, body, v3_1=version.at_least("3.1"))
        return JSONBody({"os-volume_upload_image": answer(started)}, status_code=202)
    return None


def _need(
    data_path: DataPath | None, services: VolumeServices, context: RequestContext, volume_id: str
) -> DataPath:
    if data_path is None:
        services.volumes.get(context, volume_id)
        raise ServiceUnavailable("No vCenter is configured: volume data cannot be moved.")
    return data_path


def answer(started: UploadStarted) -> dict[str, Any]:
    """Cinder's `os-volume_upload_image` body: the volume and the image being made."""
    volume, image = started.volume, started.image
    return {
        "id": volume.id,
        "updated_at": views.timestamp(volume.updated_at),
        "status": volume.status,
        "display_description": volume.description,
        "size": volume.size_gb,
        "volume_type": (
            views.volume_type(started.volume_type) if started.volume_type is not None else None
        ),
        "image_id": image.id,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "image_name": image.name,
        "protected": started.protected,
        "visibility": image.visibility,
    }
